"""The runs schema migrates up from nothing and back down, and its migrations build what its models declare."""

from __future__ import annotations

import asyncio

import asyncpg

from leadflood_platform import migrations
from runs.models import Base
from runs.server import spec

DOMAIN_TABLES = {"lead_runs", "run_leads", "receipts", "org_turns", "worker_beats", "alerts"}


async def _tables(dsn: str) -> set[str]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'runs'")
        return {row["tablename"] for row in rows}
    finally:
        await conn.close()


async def test_migrates_up_and_down(scratch_dsn: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DATABASE_URL", scratch_dsn)
    location = spec().migrations
    conn = await asyncpg.connect(scratch_dsn)
    await conn.execute("CREATE SCHEMA runs")
    await conn.close()
    run = dict(url=scratch_dsn, schema="runs", script_location=location, target_metadata=Base.metadata)
    await asyncio.to_thread(migrations.upgrade, **run)
    assert {"outbox", "job_executions"} | DOMAIN_TABLES <= await _tables(scratch_dsn)
    await asyncio.to_thread(migrations.downgrade, **run, revision="0001")
    assert not DOMAIN_TABLES & await _tables(scratch_dsn)
    await asyncio.to_thread(migrations.downgrade, **run, revision="base")
    assert not {"outbox", "job_executions"} & await _tables(scratch_dsn)


async def test_the_migrations_build_what_the_models_declare(runs_dsn: str) -> None:
    found = await migrations.differences(url=runs_dsn, schema="runs", metadata=Base.metadata, tables=DOMAIN_TABLES)
    assert found == [], "\n".join(map(str, found))
