"""The leads list's total: exact up to the cap, then capped, counted by the list's own filters."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable

import asyncpg
import pytest

from leadflood_platform.errors import InvalidArgument
from leads import listing

INSERT = (
    "INSERT INTO leads.leads (id, org_id, email, first_name, last_name, company_name, score)"
    " SELECT gen_random_uuid(), $1, 'p' || n || '@example.com', 'Ada', 'L' || n, 'Blix', n % 100"
    " FROM generate_series(1, $2) AS n"
)


async def _total(
    conn: asyncpg.Connection, org_id: uuid.UUID, filters: listing.LeadFilter, cap: int = listing.MAX_TOTAL
) -> tuple[int | None, bool]:
    """The total a first page is counted with (ListLeads's one statement)."""
    first = await listing.page(
        driver=conn, org_id=org_id, filters=filters, sort="", size=1, cursor="", with_total=True, cap=cap
    )
    return first.total, first.total_capped


async def test_the_total_is_exact_up_to_the_cap_then_capped(
    leads_database: str, migrate_leads: Callable[..., Awaitable[None]]
) -> None:
    await migrate_leads("head")
    big, small, other = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    conn = await asyncpg.connect(leads_database)
    try:
        for org, count in ((big, 1_200), (small, 30), (other, 5)):
            await conn.execute(INSERT, org, count)
        everything = listing.LeadFilter(filtered="all")
        assert await _total(conn, small, everything) == (30, False)
        assert await _total(conn, big, everything, cap=1_000) == (1_000, True)
        assert await _total(conn, big, everything, cap=1_200) == (1_200, False)
        # The list's own filters: scores 90-99 are a tenth of the org.
        high = listing.LeadFilter(filtered="all", min_score=90)
        assert await _total(conn, big, high) == (120, False)
        assert await _total(conn, uuid.uuid4(), everything) == (0, False)

        # A page of 50 counted too, and 0 for a first page that is empty.
        first = await listing.page(
            driver=conn, org_id=big, filters=high, sort="", size=50, cursor="", with_total=True, cap=100
        )
        assert (len(first.rows), first.total, first.total_capped) == (50, 100, True)
        first = await listing.page(driver=conn, org_id=big, filters=high, sort="", size=50, cursor="", with_total=True)
        assert (first.total, first.total_capped) == (120, False)
        none = await listing.page(
            driver=conn, org_id=uuid.uuid4(), filters=everything, sort="", size=50, cursor="", with_total=True
        )
        assert (none.rows, none.next_cursor, none.total, none.total_capped) == ([], "", 0, False)
        uncounted = await listing.page(driver=conn, org_id=big, filters=high, sort="", size=50, cursor="")
        assert uncounted.total is None

        # A selection: only the leads named, and only the org's own.
        mine = await listing.page(driver=conn, org_id=small, filters=everything, sort="", size=3, cursor="")
        theirs = await listing.page(driver=conn, org_id=other, filters=everything, sort="", size=1, cursor="")
        chosen = listing.LeadFilter(filtered="all", lead_ids=(*(r["id"] for r in mine.rows), theirs.rows[0]["id"]))
        picked = await listing.page(driver=conn, org_id=small, filters=chosen, sort="", size=50, cursor="")
        assert {r["id"] for r in picked.rows} == {r["id"] for r in mine.rows}
        with pytest.raises(InvalidArgument):
            too_many = listing.LeadFilter(lead_ids=tuple(uuid.uuid4() for _ in range(listing.MAX_LEAD_IDS + 1)))
            await _total(conn, small, too_many)
    finally:
        await conn.close()


@pytest.mark.parametrize("sort", ["", "created_at", "score", "-score", "last_name", "-last_name"])
async def test_pages_walk_every_lead_once_in_order_for_each_sort(
    sort: str, leads_database: str, migrate_leads: Callable[..., Awaitable[None]]
) -> None:
    await migrate_leads("head")
    org = uuid.uuid4()
    conn = await asyncpg.connect(leads_database)
    try:
        await conn.execute(INSERT, org, 30)  # created in one statement: one created_at for all
        # Scores and names repeat too, so the id breaks every tie.
        await conn.execute(
            "UPDATE leads.leads SET score = score % 4, last_name = 'L' || (score % 3) WHERE org_id = $1", org
        )
        everything = listing.LeadFilter(filtered="all")
        walked, cursor = [], ""
        while True:
            found = await listing.page(driver=conn, org_id=org, filters=everything, sort=sort, size=7, cursor=cursor)
            walked += [r["id"] for r in found.rows]
            if not (cursor := found.next_cursor):
                break
        name, descending = (sort[1:], True) if sort.startswith("-") else (sort or "created_at", not sort)
        rows = await conn.fetch(f"SELECT id, {name} AS key FROM leads.leads WHERE org_id = $1", org)
        expected = [r["id"] for r in sorted(rows, key=lambda r: (r["key"], r["id"]), reverse=descending)]
        assert walked == expected
    finally:
        await conn.close()


async def test_the_list_keeps_the_leads_created_in_a_span_its_start_in_and_its_end_out(
    leads_database: str, migrate_leads: Callable[..., Awaitable[None]]
) -> None:
    await migrate_leads("head")
    org, day = uuid.uuid4(), dt.datetime(2026, 12, 7, tzinfo=dt.UTC)
    conn = await asyncpg.connect(leads_database)
    try:
        await conn.execute(INSERT, org, 10)
        before = day - dt.timedelta(days=3)
        await conn.execute("UPDATE leads.leads SET created_at = $2 WHERE org_id = $1", org, before)
        ids = [r["id"] for r in await conn.fetch("SELECT id FROM leads.leads WHERE org_id = $1 ORDER BY id", org)]
        # The day's first moment and its last minute are in it; the next day's first moment is not.
        moments = (day, day + dt.timedelta(hours=23, minutes=59), day + dt.timedelta(days=1))
        for lead_id, at in zip(ids[:3], moments, strict=True):
            await conn.execute("UPDATE leads.leads SET created_at = $2 WHERE id = $1", lead_id, at)
        that_day = listing.LeadFilter(filtered="all", created_from=day, created_before=day + dt.timedelta(days=1))
        assert await _total(conn, org, that_day) == (2, False)
        found = await listing.page(driver=conn, org_id=org, filters=that_day, sort="", size=50, cursor="")
        assert {r["id"] for r in found.rows} == set(ids[:2])
        assert await _total(conn, org, listing.LeadFilter(filtered="all", created_from=day)) == (3, False)
        assert await _total(conn, org, listing.LeadFilter(filtered="all", created_before=day)) == (7, False)
        with pytest.raises(InvalidArgument):  # an empty span is a mistake, said so
            await _total(conn, org, listing.LeadFilter(filtered="all", created_from=day, created_before=day))
    finally:
        await conn.close()
