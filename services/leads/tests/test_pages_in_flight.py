"""Pages of a run applied at once: the people they share go last, and none is lost or doubled.

The registry alone, then two real page transactions in a scratch database migrated to head: the later
page must wait for the earlier one on its advisory lock (not on a row), and must end with exactly
the people the earlier page did not commit.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable

import asyncpg
import pytest

from leadflood.icp.v1 import icp_pb2
from leadflood.leads.v1 import leads_pb2
from leadflood_platform.db import Database
from leads.pages_in_flight import PagesInFlight, lock_key
from leads.sourcing import apply_batch, prepare

RULES = icp_pb2.IcpRules(titles=["VP Sales"], min_score=10, weights=icp_pb2.ScoringWeights(title=100))


def test_a_page_learns_which_earlier_pages_share_its_people() -> None:
    pages, run, other_run = PagesInFlight(), uuid.uuid4(), uuid.uuid4()
    with pages.applying(run, 1) as first, pages.applying(run, 2) as second, pages.applying(other_run, 1) as other:
        assert first.join(["a", "b", "c"]) == {}
        assert other.join(["b", "c"]) == {}  # another run's pages are not this run's concern
        assert second.join(["b", "c", "d"]) == {1: {"b", "c"}}
        with pages.applying(run, 3) as third:
            assert third.join(["c", "e"]) == {1: {"c"}, 2: {"c"}}
            assert third.join(["x"]) == {}  # a retry joins again with its own keys only
    assert pages.runs() == 0
    assert lock_key(run, 1) != lock_key(run, 2) and lock_key(run, 1) == lock_key(run, 1)


def test_a_page_resent_after_a_rollback_keeps_its_place() -> None:
    pages, run = PagesInFlight(), uuid.uuid4()
    first_copy = pages.applying(run, 1)
    first_copy.__enter__().join(["a"])
    with pages.applying(run, 1) as resent:
        resent.join(["a"])
        first_copy.__exit__(None, None, None)  # the rolled-back copy leaves after the resent one joined
        with pages.applying(run, 2) as later:
            assert later.join(["a"]) == {1: {"a"}}
    assert pages.runs() == 0


def _person(name: str) -> leads_pb2.SourcedPerson:
    return leads_pb2.SourcedPerson(
        external_id=f"ext-{name}", email=f"{name}@inflight.example", first_name=name.title(), last_name="Page",
        title="VP Sales", company_name="In Flight Oy",
    )  # fmt: skip


def _page(run_id: uuid.UUID, batch: int, names: list[str]) -> leads_pb2.UpsertSourcedLeadsRequest:
    return leads_pb2.UpsertSourcedLeadsRequest(
        search_run_id=str(run_id), icp_id=str(uuid.uuid4()), source="sandbox", batch=batch,
        people=[_person(name) for name in names], rules=RULES,
    )  # fmt: skip


class _RollBack(Exception):
    pass


async def _waits(conn: asyncpg.Connection, locktype: str) -> int:
    return await conn.fetchval("SELECT count(*) FROM pg_locks WHERE locktype = $1 AND NOT granted", locktype)


@pytest.mark.parametrize("earlier_commits", [True, False])
async def test_the_later_page_takes_shared_people_last_and_loses_none(
    leads_database: str, migrate_leads: Callable[..., Awaitable[None]], earlier_commits: bool
) -> None:
    await migrate_leads()
    db = Database(leads_database, pool_size=2)
    watcher = await asyncpg.connect(leads_database)
    pages, org, run_id = PagesInFlight(), uuid.uuid4(), uuid.uuid4()
    first, second = _page(run_id, 1, ["ann", "ben", "cai"]), _page(run_id, 2, ["ben", "cai", "dan"])
    first_applied, finish_first = asyncio.Event(), asyncio.Event()

    async def apply(request: leads_pb2.UpsertSourcedLeadsRequest, hold: bool) -> dict[str, int] | None:
        with pages.applying(run_id, request.batch) as page:
            try:
                async with db.driver(transaction=True) as connection:
                    counts, _ = await apply_batch(
                        connection=connection, org_id=org, request=request, prepared=prepare(request), page=page
                    )
                    if hold:
                        first_applied.set()
                        await finish_first.wait()
                        if not earlier_commits:
                            raise _RollBack
            except _RollBack:
                return None
        return counts

    try:
        earlier = asyncio.create_task(apply(first, hold=True))
        await asyncio.wait_for(first_applied.wait(), 10)
        later = asyncio.create_task(apply(second, hold=False))
        for _ in range(200):  # the later page upserts its own person, then waits for the earlier page
            if await _waits(watcher, "advisory"):
                break
            await asyncio.sleep(0.02)
        assert await _waits(watcher, "advisory") == 1
        assert await _waits(watcher, "transactionid") == 0  # not stopped at a shared row
        assert not later.done()

        finish_first.set()
        counts = await asyncio.wait_for(later, 10)
        await earlier
        emails = sorted(await watcher.fetchval("SELECT array_agg(email) FROM leads.leads WHERE org_id = $1", org))
        if earlier_commits:
            assert emails == [f"{n}@inflight.example" for n in ("ann", "ben", "cai", "dan")]
            assert (counts["created"], counts["duplicates"]) == (1, 2)
        else:  # the earlier page rolled back: its shared people are the later page's
            assert emails == [f"{n}@inflight.example" for n in ("ben", "cai", "dan")]
            assert (counts["created"], counts["duplicates"]) == (3, 0)
        assert pages.runs() == 0
    finally:
        await watcher.close()
        await db.close()
