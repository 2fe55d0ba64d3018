"""Every service is built the same way: a spec named after its package and schema, one migration head."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory

ROOT = Path(__file__).resolve().parents[2]
SERVICES = sorted(p.name for p in (ROOT / "services").iterdir() if (p / "src").is_dir())


def test_the_five_services_exist() -> None:
    assert SERVICES == ["icp", "inbox", "leads", "runs", "sequences"]


@pytest.mark.parametrize("name", SERVICES)
def test_service_spec_matches_its_schema_and_migrations(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", f"postgresql://{name}_svc@127.0.0.1:1/leadflood")
    spec = importlib.import_module(f"{name}.server").spec()
    assert spec.name == name
    assert spec.metadata.schema == name and spec.tables.schema == name
    assert {"outbox", "job_executions"} <= {table.name for table in spec.metadata.sorted_tables}
    config = Config()
    config.set_main_option("script_location", str(spec.migrations))
    heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1, f"{name} has {len(heads)} migration heads: {heads}"
