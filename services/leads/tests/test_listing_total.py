"""The leads list's total: exact up to the cap, then capped, counted by the list's own filters."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from leadflood_platform.errors import InvalidArgument
from leads import listing

INSERT = (
    "INSERT INTO leads.leads (id, org_id, email, first_name, last_name, company_name, score)"
    " SELECT gen_random_uuid(), $1, 'p' || n || '@example.com', 'Ada', 'L' || n, 'Blix', n % 100"
    " FROM generate_series(1, $2) AS n"
)


async def test_the_total_is_exact_up_to_the_cap_then_capped(
    leads_database: str, migrate_leads: Callable[..., Awaitable[None]]
) -> None:
    await migrate_leads("head")
    engine = create_async_engine(leads_database.replace("postgresql://", "postgresql+asyncpg://", 1))
    big, small, other = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    try:
        async with engine.begin() as conn:
            raw = await conn.get_raw_connection()
            for org, count in ((big, 1_200), (small, 30), (other, 5)):
                await raw.driver_connection.execute(INSERT, org, count)
        async with engine.connect() as conn:
            everything = listing.LeadFilter(filtered="all")
            assert await listing.total(reader=conn, org_id=small, filters=everything) == (30, False)
            assert await listing.total(reader=conn, org_id=big, filters=everything, cap=1_000) == (1_000, True)
            assert await listing.total(reader=conn, org_id=big, filters=everything, cap=1_200) == (1_200, False)
            # The list's own filters: scores 90-99 are a tenth of the org.
            high = listing.LeadFilter(filtered="all", min_score=90)
            assert await listing.total(reader=conn, org_id=big, filters=high) == (120, False)
            assert await listing.total(reader=conn, org_id=uuid.uuid4(), filters=everything) == (0, False)

            # A selection: only the leads named, and only the org's own.
            rows, _ = await listing.page(reader=conn, org_id=small, filters=everything, sort="", size=3, cursor="")
            other_rows, _ = await listing.page(
                reader=conn, org_id=other, filters=everything, sort="", size=1, cursor=""
            )
            chosen = listing.LeadFilter(filtered="all", lead_ids=(*(r.id for r in rows), other_rows[0].id))
            picked, _ = await listing.page(reader=conn, org_id=small, filters=chosen, sort="", size=50, cursor="")
            assert {r.id for r in picked} == {r.id for r in rows}
            with pytest.raises(InvalidArgument):
                too_many = listing.LeadFilter(lead_ids=tuple(uuid.uuid4() for _ in range(listing.MAX_LEAD_IDS + 1)))
                await listing.total(reader=conn, org_id=small, filters=too_many)
    finally:
        await engine.dispose()
