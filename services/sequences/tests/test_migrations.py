"""The sequences schema migrates up from nothing and back down, and its migrations build what its models declare."""

from __future__ import annotations

import asyncio

import asyncpg

from leadflood_platform import migrations
from sequences.models import Base
from sequences.server import spec

DOMAIN_TABLES = {"sequences", "steps", "enrollments", "step_sends", "tasks", "org_turns"}


async def _tables(dsn: str) -> set[str]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'sequences'")
        return {row["tablename"] for row in rows}
    finally:
        await conn.close()


async def test_migrates_up_and_down(scratch_dsn: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DATABASE_URL", scratch_dsn)
    location = spec().migrations
    conn = await asyncpg.connect(scratch_dsn)
    await conn.execute("CREATE SCHEMA sequences")
    await conn.close()
    run = dict(url=scratch_dsn, schema="sequences", script_location=location, target_metadata=Base.metadata)
    await asyncio.to_thread(migrations.upgrade, **run)
    assert {"outbox", "job_executions"} | DOMAIN_TABLES <= await _tables(scratch_dsn)
    await asyncio.to_thread(migrations.downgrade, **run, revision="0001")
    assert not DOMAIN_TABLES & await _tables(scratch_dsn)
    await asyncio.to_thread(migrations.downgrade, **run, revision="base")
    assert not {"outbox", "job_executions"} & await _tables(scratch_dsn)


async def test_the_migrations_build_what_the_models_declare(sequences_dsn: str) -> None:
    found = await migrations.differences(
        url=sequences_dsn, schema="sequences", metadata=Base.metadata, tables=DOMAIN_TABLES
    )
    assert found == [], "\n".join(map(str, found))
