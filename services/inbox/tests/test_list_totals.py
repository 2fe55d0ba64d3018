"""The inbox's lists count what they list: the suppression list by its search, the threads by their tab (and
lead, channel), each exact up to the cap and then capped, another org's rows never counted."""

from __future__ import annotations

import uuid

from inbox import suppressions, threads
from leadflood_platform.db import Database

SUPPRESS = (
    "INSERT INTO suppressions (org_id, address, reason) "
    "SELECT $1, $2 || n || '@example.com', 'by-hand' FROM generate_series(1, $3) AS n"
)
THREADS = (
    "INSERT INTO threads (id, org_id, lead_id, channel, subject, needs_reply, unread, archived) "
    "SELECT gen_random_uuid(), $1, $2, $3, 'Hi', $4, $5, $6 FROM generate_series(1, $7)"
)


async def test_the_suppression_list_counts_its_search(inbox_db: Database) -> None:
    org, other = uuid.uuid4(), uuid.uuid4()
    async with inbox_db.driver(transaction=True) as connection:
        await connection.execute(SUPPRESS, org, "bounced-", 12)
        await connection.execute(SUPPRESS, org, "gone_", 5)
        await connection.execute(SUPPRESS, other, "bounced-", 3)
    async with inbox_db.transaction() as session:
        assert await suppressions.total(session, org, query="") == (17, False)
        assert await suppressions.total(session, org, query="BOUNCED") == (12, False)  # as the list searches
        assert await suppressions.total(session, org, query="gone_") == (5, False)
        assert await suppressions.total(session, org, query="d_1") == (0, False)  # not "d-1": `_` is no wildcard
        assert await suppressions.total(session, org, query="", cap=10) == (10, True)
        assert await suppressions.total(session, other, query="") == (3, False)
        # What it counts is what the pages list, over all of them.
        listed, after = [], ""
        while True:
            rows, after = await suppressions.page(session, org, size=5, after=after, query="bounced")
            listed += rows
            if not after:
                break
        assert len(listed) == 12


async def test_the_threads_are_counted_by_their_tab(inbox_db: Database) -> None:
    org, other, lead = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    async with inbox_db.driver(transaction=True) as connection:
        # (lead, channel, needs reply, unread, archived, how many)
        for row in (
            (lead, "email", True, True, False, 3),
            (None, "email", False, True, False, 4),
            (None, "sms", False, False, False, 2),
            (None, "email", False, False, True, 5),
        ):
            await connection.execute(THREADS, org, *row)
        await connection.execute(THREADS, other, None, "email", True, True, False, 7)

    async def total(**matching: object) -> tuple[int, bool]:
        async with inbox_db.transaction() as session:
            return await threads.total(session, org, **{"lead_id": None, "channel": "", **matching})  # type: ignore[arg-type]

    assert await total(filter="all") == (9, False)  # every thread not archived
    assert await total(filter="needs_reply") == (3, False)
    assert await total(filter="unread") == (7, False)
    assert await total(filter="archived") == (5, False)
    assert await total(filter="all", channel="sms") == (2, False)
    assert await total(filter="all", lead_id=lead) == (3, False)
    assert await total(filter="all", cap=8) == (8, True)
    async with inbox_db.transaction() as session:
        listed, cursor = [], ""
        while True:
            page, cursor = await threads.page(
                session, org, filter="unread", lead_id=None, channel="", size=3, cursor=cursor
            )
            listed += page
            if not cursor:
                break
    assert len(listed) == 7
