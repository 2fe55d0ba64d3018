"""A scratch database migrated like the runs service's (`runs_dsn`, `db`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from leadflood_platform import migrations
from leadflood_platform.db import Database
from runs.models import Base

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"


@pytest.fixture
async def runs_dsn(scratch_dsn: str) -> str:
    """The scratch database (admin DSN) migrated to head, `runs` first on its search path as for the service's
    own role."""
    conn = await asyncpg.connect(scratch_dsn)
    try:
        await conn.execute("CREATE SCHEMA runs")
        database = scratch_dsn.rsplit("/", 1)[1]
        await conn.execute(f'ALTER DATABASE "{database}" SET search_path = runs')
    finally:
        await conn.close()
    run = dict(url=scratch_dsn, schema="runs", script_location=MIGRATIONS, target_metadata=Base.metadata)
    await asyncio.to_thread(migrations.upgrade, **run)
    return scratch_dsn


@pytest.fixture
async def db(runs_dsn: str) -> AsyncIterator[Database]:
    database = Database(runs_dsn, pool_size=8)
    yield database
    await database.close()
