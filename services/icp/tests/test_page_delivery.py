"""Pages handed on to the leads service, marked delivered with their counts added to the run's.

Straight at the statements, on a scratch database migrated like the icp service's: pages of one run
marked at the same moment (the worker hands on three at once) each add their counts exactly once, a
page handed on again adds nothing, and a resumed run never starts past a page not yet handed on.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import asyncpg

from icp.convert import DIAGNOSTICS
from icp.models import Base
from icp.search import _MARK_DELIVERED, _STORE_PAGE
from leadflood_platform import migrations
from leadflood_platform.db import Database

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"
PAGES = 8


async def _migrated(scratch_dsn: str) -> None:
    conn = await asyncpg.connect(scratch_dsn)
    try:
        await conn.execute("CREATE SCHEMA icp")
        await conn.execute(f'ALTER DATABASE "{scratch_dsn.rsplit("/", 1)[1]}" SET search_path = icp')
    finally:
        await conn.close()
    await asyncio.to_thread(
        migrations.upgrade, url=scratch_dsn, schema="icp", script_location=MIGRATIONS, target_metadata=Base.metadata
    )


async def _new_run(db: Database) -> uuid.UUID:
    org, icp, run = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    async with db.driver(transaction=True) as connection:
        await connection.execute(
            "INSERT INTO icp.icps (id, org_id, name, titles, seniorities, industries, locations, keywords, min_score, "
            "weights) VALUES ($1, $2, 'ICP', '{}', '{}', '{}', '{}', '{}', 0, '{}')",
            icp,
            org,
        )
        await connection.execute(
            'INSERT INTO icp.search_runs (id, org_id, icp_id, source, "limit", per_page, rules, idempotency_key) '
            "VALUES ($1, $2, $3, 'sandbox', 8000, 1000, '{}', $4)",
            run,
            org,
            icp,
            run.hex,
        )
    return run


def _counts(page: int) -> dict[str, int]:
    return {name: page * 10 + i for i, name in enumerate(DIAGNOSTICS)}


async def _mark(db: Database, run: uuid.UUID, page: int) -> None:
    async with db.driver(transaction=False) as connection:
        await connection.execute(_MARK_DELIVERED, run, page, json.dumps(_counts(page)), list(DIAGNOSTICS))


async def _state(db: Database, run: uuid.UUID) -> tuple[dict[str, int], int, set[int]]:
    async with db.driver(transaction=False) as connection:
        diagnostics, next_page = await connection.fetchrow(
            "SELECT diagnostics, next_page FROM icp.search_runs WHERE id = $1", run
        )
        delivered = {r["page"] for r in await connection.fetch(
            "SELECT page FROM icp.search_pages WHERE run_id = $1 AND delivered", run
        )}  # fmt: skip
    return diagnostics, next_page, delivered


async def test_pages_marked_at_once_add_their_counts_once_and_resume_starts_at_the_first_not_handed_on(
    scratch_dsn: str,
) -> None:
    await _migrated(scratch_dsn)
    db = Database(scratch_dsn, pool_size=PAGES)
    try:
        run = await _new_run(db)
        for page in range(1, PAGES + 1):
            async with db.driver(transaction=False) as connection:
                await connection.execute(_STORE_PAGE, run, page, b"people", 1000, page == PAGES)
        # Every page but the first, all at once and each twice: the run row is updated concurrently.
        await asyncio.gather(*(_mark(db, run, page) for page in [*range(2, PAGES + 1)] * 2))
        diagnostics, next_page, delivered = await _state(db, run)
        expected = {name: sum(_counts(p)[name] for p in range(2, PAGES + 1)) for name in DIAGNOSTICS}
        assert diagnostics == expected
        assert delivered == set(range(2, PAGES + 1))
        assert next_page == 1  # page 1 was never handed on: a resumed run starts there

        await _mark(db, run, 1)
        diagnostics, next_page, delivered = await _state(db, run)
        assert diagnostics == {name: sum(_counts(p)[name] for p in range(1, PAGES + 1)) for name in DIAGNOSTICS}
        assert delivered == set(range(1, PAGES + 1))
        # A resumed run starts at next_page and skips stored pages already handed on: nothing before it
        # may be undelivered.
        assert next_page >= 2 and all(page in delivered for page in range(1, next_page))
        async with db.driver(transaction=False) as connection:
            fetched = await connection.fetchrow(
                "SELECT pages_fetched, people_fetched, exhausted FROM icp.search_runs WHERE id = $1", run
            )
        assert tuple(fetched) == (PAGES, PAGES * 1000, True)
    finally:
        await db.close()
