"""What a run shows moves only when a page is counted, and a cancelled run's fetcher hears of it at its next page.

Straight at the statements and at run_to_proto, on a scratch database migrated like the icp service's: a page
fetched ahead of the leads service moves nothing a user sees (the bar once read 2000 of 2000 while every
counter said 0); a page counted moves pages, people and counters together, in one statement.
"""

from __future__ import annotations

import json

from icp.convert import DIAGNOSTICS, run_to_proto
from icp.models import SearchRun
from icp.search import _MARK_DELIVERED, _STORE_PAGE
from leadflood_platform.db import Database
from services.icp.tests.test_page_delivery import _migrated, _new_run


async def _shown(db: Database, run_id: object) -> tuple[int, int, int, str]:
    async with db.transaction() as session:
        run = run_to_proto(await session.get_one(SearchRun, run_id))
    return run.pages_fetched, run.people_fetched, run.diagnostics.fetched, run.status


async def test_progress_moves_with_the_counters_and_a_cancelled_run_is_told_at_its_next_page(scratch_dsn: str) -> None:
    await _migrated(scratch_dsn)
    db = Database(scratch_dsn, pool_size=2)
    try:
        run = await _new_run(db)
        async with db.driver(transaction=False) as connection:
            assert await connection.fetchval(_STORE_PAGE, run, 1, b"people", 1000, False) == "queued"
            assert await connection.fetchval(_STORE_PAGE, run, 2, b"people", 1000, False) == "queued"
        # Two pages fetched, none counted: nothing a user sees has moved.
        assert await _shown(db, run) == (0, 0, 0, 1)

        counts = {name: 0 for name in DIAGNOSTICS} | {"fetched": 1000, "created": 1000, "with_email": 1000}
        async with db.driver(transaction=False) as connection:
            status = await connection.fetchval(_MARK_DELIVERED, run, 1, json.dumps(counts), list(DIAGNOSTICS))
            assert status == "queued"
            # Handed on again (a retried delivery): nothing added, nothing announced.
            assert await connection.fetchval(_MARK_DELIVERED, run, 1, json.dumps(counts), list(DIAGNOSTICS)) is None
        assert await _shown(db, run) == (1, 1000, 1000, 1)

        async with db.driver(transaction=False) as connection:
            await connection.execute("UPDATE icp.search_runs SET status = 'cancelled' WHERE id = $1", run)
            assert await connection.fetchval(_STORE_PAGE, run, 3, b"people", 1000, False) == "cancelled"
        assert (await _shown(db, run))[3] == 5  # SEARCH_RUN_STATUS_CANCELLED
    finally:
        await db.close()
