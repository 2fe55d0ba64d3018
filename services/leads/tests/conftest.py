"""A scratch database laid out like the leads service's, for tests of its SQL and migrations."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
import pytest

from leadflood_platform import migrations
from leads.models import Base

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"


@pytest.fixture
async def leads_database(scratch_dsn: str) -> str:
    """The scratch database (admin DSN) with what the leads migrations expect: pg_trgm in `extensions`,
    an empty `leads` schema, and `leads` first on the search path, as it is for the service's role."""
    conn = await asyncpg.connect(scratch_dsn)
    try:
        await conn.execute("CREATE SCHEMA extensions; CREATE EXTENSION pg_trgm SCHEMA extensions; CREATE SCHEMA leads")
        database = scratch_dsn.rsplit("/", 1)[1]
        await conn.execute(f'ALTER DATABASE "{database}" SET search_path = leads, extensions')
    finally:
        await conn.close()
    return scratch_dsn


@pytest.fixture
def migrate_leads(leads_database: str) -> Callable[..., Awaitable[None]]:
    """`await migrate_leads("0003")`, or `("0003", down=True)`: the leads migrations on the scratch database."""

    async def migrate(revision: str = "head", *, down: bool = False) -> None:
        step = migrations.downgrade if down else migrations.upgrade
        await asyncio.to_thread(
            step,
            url=leads_database,
            schema="leads",
            script_location=MIGRATIONS,
            target_metadata=Base.metadata,
            revision=revision,
        )

    return migrate
