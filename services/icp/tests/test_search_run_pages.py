"""An ICP's search runs a page at a time: newest first, every run once across the pages, and their total (the
ICP's own runs, exact up to the cap, then capped); a cursor this list did not give is refused."""

from __future__ import annotations

import uuid

import pytest

from icp import run_pages
from leadflood_platform.db import Database
from leadflood_platform.errors import InvalidArgument
from services.icp.tests.test_page_delivery import _migrated

# Runs of one ICP started in two bursts within the same second: pages must still hold each run once.
INSERT = (
    'INSERT INTO icp.search_runs (id, org_id, icp_id, source, "limit", per_page, rules, idempotency_key, created_at) '
    "SELECT gen_random_uuid(), $1, $2, 'sandbox', 10, 10, '{}', gen_random_uuid()::text, "
    "timestamptz '2024-05-01 10:00:00+00' + (n / 3) * interval '1 second' FROM generate_series(1, $3) AS n"
)
ICP = (
    "INSERT INTO icp.icps (id, org_id, name, titles, seniorities, industries, locations, keywords, min_score, weights)"
    " VALUES ($1, $2, $3, '{}', '{}', '{}', '{}', '{}', 0, '{}')"
)


async def test_pages_hold_each_run_once_newest_first_and_the_total_counts_them(scratch_dsn: str) -> None:
    await _migrated(scratch_dsn)
    db = Database(scratch_dsn, pool_size=2)
    org, icp, other_icp = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    try:
        async with db.driver(transaction=True) as connection:
            await connection.execute(ICP, icp, org, "Mine")
            await connection.execute(ICP, other_icp, org, "Other")
            await connection.execute(INSERT, org, icp, 23)
            await connection.execute(INSERT, org, other_icp, 4)
        seen, cursor = [], ""
        async with db.transaction() as session:
            while True:
                runs, cursor = await run_pages.page(session=session, org_id=org, icp_id=icp, size=5, cursor=cursor)
                seen += runs
                if not cursor:
                    break
            assert len(seen) == len({run.id for run in seen}) == 23
            assert [run.created_at for run in seen] == sorted((run.created_at for run in seen), reverse=True)

            assert await run_pages.total(session=session, org_id=org, icp_id=icp) == (23, False)
            assert await run_pages.total(session=session, org_id=org, icp_id=other_icp) == (4, False)
            assert await run_pages.total(session=session, org_id=uuid.uuid4(), icp_id=icp) == (
                0,
                False,
            )  # not the org's
            assert await run_pages.total(session=session, org_id=org, icp_id=icp, cap=20) == (20, True)

            with pytest.raises(InvalidArgument):
                await run_pages.page(session=session, org_id=org, icp_id=icp, size=5, cursor="not-a-cursor")
            with pytest.raises(InvalidArgument):
                await run_pages.page(session=session, org_id=org, icp_id=icp, size=0, cursor="")
    finally:
        await db.close()
