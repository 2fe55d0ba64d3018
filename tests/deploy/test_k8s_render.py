"""deploy/k8s/render.py: an overlay is rendered for applying only once every Secret (and key) it needs is in
the namespace; it says which are missing, and optional keys (a provider's, the previous token key) are not."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.k8s_scripts import render


def _listing(pairs: set[tuple[str, str | None]]) -> dict[str, Any]:
    """What `kubectl get secrets -o json` says of Secrets holding these keys (values stand in, as base64)."""
    secrets: dict[str, dict[str, str]] = {}
    for name, key in pairs:
        secrets.setdefault(name, {})
        if key:
            secrets[name][key] = "eA=="
    return {"items": [{"metadata": {"name": name}, "data": data} for name, data in secrets.items()]}


@pytest.fixture(scope="module")
def production() -> list[dict[str, Any]]:
    return render.check.render("production")


def test_production_is_not_rendered_while_a_needed_secret_is_missing(
    production: list[dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    needed = render.required_secrets(production)
    assert ("leadflood-internal", "token-key") in needed and ("leadflood-db", "leads-database-url") in needed
    assert ("leadflood-internal", "previous-token-key") not in needed  # optional: only while rotating
    assert ("leadflood-providers", "apollo-api-key") not in needed
    listing = tmp_path / "secrets.json"
    listing.write_text(json.dumps(_listing(needed - {("leadflood-internal", "token-key")})))
    assert render.main(["production", "--secrets", str(listing)]) == 1
    out, err = capsys.readouterr()
    assert out == "" and "Secret leadflood-internal key token-key is missing" in err
    assert err.count("is missing") == 1


def test_production_renders_once_every_needed_secret_is_there(
    production: list[dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    listing = tmp_path / "secrets.json"
    listing.write_text(json.dumps(_listing(render.required_secrets(production))))
    assert render.main(["production", "--secrets", str(listing)]) == 0
    docs = [doc for doc in yaml.safe_load_all(capsys.readouterr().out) if doc]
    assert len(docs) == len(production) and "Secret" not in {doc["kind"] for doc in docs}
