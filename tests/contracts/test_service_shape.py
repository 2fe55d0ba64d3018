"""Every service is built the same way: registered once, laid out as the template, its jobs in workers.py.

`check_service` is also run on a service the scaffold makes in a temporary tree (tests/e2e/test_adding_a_service.py).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory

from devstack.scaffold import SUFFIX, TEMPLATE
from leadflood_platform import registry
from leadflood_platform.jobs import JobKind

ROOT = Path(__file__).resolve().parents[2]
REGISTERED = [service.name for service in registry.services()]


def template_files(name: str) -> list[Path]:
    """The files every service has: the template's, named for the service (its tests aside, which grow their own)."""
    files = []
    for source in TEMPLATE.rglob(f"*{SUFFIX}"):
        relative = source.relative_to(TEMPLATE).with_suffix("")
        if relative.parts[0] != "tests":
            files.append(Path(*[name if part == "service" else part for part in relative.parts]))
    return sorted(files)


def check_service(folder: Path, entry: registry.ServiceEntry, monkeypatch: pytest.MonkeyPatch) -> None:
    name = entry.name
    missing = [str(path) for path in template_files(name) if not (folder / path).is_file()]
    assert not missing, f"{name} lacks the template's files {missing} (docs/adding-a-service.md)"
    assert any((folder / "tests").glob("test_*.py")), f"{name} has no tests/test_*.py"

    monkeypatch.setenv("DATABASE_URL", f"postgresql://{name}_svc@127.0.0.1:1/leadflood")
    spec = importlib.import_module(f"{name}.server").spec()
    assert spec.name == name
    assert spec.metadata.schema == name and spec.tables.schema == name
    assert {"outbox", "job_executions"} <= {table.name for table in spec.metadata.sorted_tables}
    config = Config()
    config.set_main_option("script_location", str(spec.migrations))
    heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1, f"{name} has {len(heads)} migration heads: {heads}"

    kinds = _job_kinds(name)
    assert all(kind.__module__ == f"{name}.workers" for kind in kinds), f"{name}'s jobs live outside workers.py"
    assert all(kind.type.startswith(f"{name}.") for kind in kinds), f"{name}'s job types start with its name"
    # Jobs need a worker process to run them (a worker may also run only loops, a scheduler say).
    assert entry.worker or not kinds, f"{name}: workers.py has {kinds} but the registry says worker = false"


def _job_kinds(name: str) -> list[type[JobKind]]:
    """Every JobKind subclass defined anywhere in the service's package."""
    package = importlib.import_module(name)
    kinds = set()
    for module_info in pkgutil.walk_packages(package.__path__, f"{name}."):
        if module_info.name.endswith(("__main__",)):
            continue
        module = importlib.import_module(module_info.name)
        for _, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, JobKind) and value is not JobKind and value.__module__ == module_info.name:
                kinds.add(value)
    return sorted(kinds, key=lambda kind: kind.type)


def test_every_service_folder_is_registered_and_every_registered_service_has_a_folder() -> None:
    folders = sorted(p.name for p in (ROOT / "services").iterdir() if (p / "src").is_dir())
    assert folders == sorted(REGISTERED)


@pytest.mark.parametrize("name", REGISTERED)
def test_service_has_the_template_shape(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    check_service(ROOT / "services" / name, registry.entry(name), monkeypatch)


def test_the_adding_a_service_guide_names_every_template_file() -> None:
    guide = (ROOT / "docs" / "adding-a-service.md").read_text()
    unnamed = [str(path) for path in template_files("NAME") if str(path).replace("NAME", "<name>") not in guide]
    assert not unnamed, f"docs/adding-a-service.md does not name {unnamed}"
