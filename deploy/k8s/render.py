"""Render an overlay for applying, refusing while a Secret it needs is missing from the namespace.

    python deploy/k8s/render.py production | kubectl apply -f -
    python deploy/k8s/render.py production --secrets secrets.json    # `kubectl -n leadflood get secrets -o json`

No overlay renders a Secret: the operator creates them (deploy/README.md). So that a deployment cannot go out
half-configured, this renders nothing, and says which Secret and key are missing, until every Secret the
manifests reference (and every key of it they do not mark `optional`) is in the namespace. It reads what is
there from `--secrets` (the JSON of `kubectl get secrets -o json`), else asks the cluster with the venv's
kubectl. Only names and keys are read; the values are never printed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import check  # noqa: E402  (deploy/k8s is not a package)


def required_secrets(docs: list[dict[str, Any]]) -> set[tuple[str, str | None]]:
    """(Secret, key) the manifests need, optional keys left out; key None where the Secret itself is needed."""
    optional: set[tuple[str, str | None]] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("secretKeyRef")
            if isinstance(ref, dict) and ref.get("optional"):
                optional.add((ref["name"], ref.get("key")))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for doc in docs:
        walk(doc.get("spec"))
    return check.referenced_secrets(docs) - optional


def present_secrets(listing: dict[str, Any]) -> set[tuple[str, str | None]]:
    """(Secret, key) pairs in a `kubectl get secrets -o json` listing, plus (Secret, None) for each Secret."""
    found: set[tuple[str, str | None]] = set()
    for item in listing.get("items", []):
        name = item["metadata"]["name"]
        found.add((name, None))
        found.update((name, key) for key in (item.get("data") or {}) | (item.get("stringData") or {}))
    return found


def missing(docs: list[dict[str, Any]], listing: dict[str, Any]) -> list[str]:
    have = present_secrets(listing)
    return [
        f"Secret {name}" + (f" key {key}" if key else "") + " is missing"
        for name, key in sorted(required_secrets(docs), key=str)
        if (name, key) not in have
    ]


def _namespace(docs: list[dict[str, Any]]) -> str:
    return next(d["metadata"]["namespace"] for d in docs if d["metadata"].get("namespace"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("overlay", choices=check.OVERLAYS)
    parser.add_argument("--secrets", type=Path, help="the JSON of `kubectl -n NS get secrets -o json`")
    args = parser.parse_args(argv)
    text = check.render_text(check.K8S / "overlays" / args.overlay)
    docs = [doc for doc in yaml.safe_load_all(text) if doc]
    if args.secrets:
        listing = json.loads(args.secrets.read_text())
    else:
        asked = subprocess.run(
            [str(check._tool("kubectl")), "-n", _namespace(docs), "get", "secrets", "-o", "json"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        if asked.returncode != 0:
            sys.stderr.write(f"cannot list the namespace's Secrets ({asked.stderr.strip()[:300]}); pass --secrets\n")
            return 2
        listing = json.loads(asked.stdout)
    problems = missing(docs, listing)
    if problems:
        sys.stderr.write(
            f"{args.overlay}: not rendered: create these first (deploy/README.md, Secrets):\n"
            + "".join(f"  {problem}\n" for problem in problems)
        )
        return 1
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
