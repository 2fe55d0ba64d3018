"""`python -m devstack.scaffold NAME`: a new domain service from devstack/service_template/, and its registry line.

The template is the shape every service has (docs/adding-a-service.md); the new service serves
health and its jobs at once, and grows its proto, servicer and jobs in its own issue.
"""

from __future__ import annotations

import re
import string
import subprocess
import sys
from pathlib import Path

from leadflood_platform import registry

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = Path(__file__).resolve().parent / "service_template"
SUFFIX = ".tmpl"


def create(name: str, *, services_dir: Path = ROOT / "services", registry_file: Path | None = None) -> Path:
    """Writes services_dir/NAME from the template and adds NAME to the registry; returns the new folder."""
    if not registry.NAME.fullmatch(name):
        raise ValueError(f"a service name is lower-case letters, digits and _ (got {name!r})")
    registry_file = registry_file or registry.DEFAULT_PATH
    known = registry.services(registry_file)
    if any(service.name == name for service in known):
        raise ValueError(f"{name!r} is already in {registry_file}")
    target = services_dir / name
    if target.exists():
        raise ValueError(f"{target} already exists")
    words = {"service": name, "Service": "".join(part.title() for part in name.split("_"))}
    for source in sorted(TEMPLATE.rglob(f"*{SUFFIX}")):
        relative = source.relative_to(TEMPLATE).with_suffix("")  # drops .tmpl
        parts = [name if part == "service" else part for part in relative.parts]
        out = target.joinpath(*parts)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(string.Template(source.read_text()).substitute(words))
    # The template's imports are in order for no name in particular: put them in order for this one.
    subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--quiet", "--fix", "--select", "I", str(target)], check=False
    )
    port = max((service.port for service in known), default=50050) + 1
    with registry_file.open("a") as file:
        file.write(f"{name} = {{ port = {port}, worker = false }}\n")
    registry._read.cache_clear()
    return target


def main(argv: list[str]) -> int:
    if len(argv) != 2 or not re.fullmatch(r"[a-z][a-z0-9_]*", argv[1]):
        print("usage: python -m devstack.scaffold NAME   (lower-case letters, digits and _)", file=sys.stderr)
        return 2
    folder = create(argv[1])
    print(
        f"created {folder.relative_to(ROOT)} and its line in services/registry.toml; next, see docs/adding-a-service.md"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
