"""Asking to enrich a lead whose enrichment is still pending returns that job: a double click must not
call (and pay) the provider twice. Real transactions on a scratch leads database; no worker runs."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable

from sqlalchemy import update

from leadflood_platform.db import Database
from leads import service
from leads.models import platform_tables
from leads.workers import EnrichLead


async def test_a_pending_enrichment_is_returned_and_an_ended_one_is_not(
    leads_database: str, migrate_leads: Callable[..., Awaitable[None]]
) -> None:
    await migrate_leads()
    db = Database(leads_database, pool_size=3)
    org, kind = uuid.uuid4(), EnrichLead

    async def request(provider: str = "sandbox") -> tuple[uuid.UUID, bool]:
        async with db.transaction() as session:
            return await service.request_enrichment(
                session=session, org_id=org, lead_id=lead.id, provider=provider, enrich_kind=kind, max_attempts=3
            )

    try:
        async with db.transaction() as session:
            new = service.NewLead("ada@analytical.io", "Ada", "Lovelace")
            lead, first = await service.create(session=session, org_id=org, new=new, enrich_kind=kind, max_attempts=3)
        assert await request() == (first, True)  # the enrichment queued with the lead is still pending

        async with db.transaction() as session:
            jobs = platform_tables.jobs
            await session.execute(update(jobs).where(jobs.c.id == first).values(status="completed"))
        # Two requests at once once it has ended: one queues a job, the other waits for it and gets it.
        replies = await asyncio.gather(request(), request())
        assert sorted(existing for _, existing in replies) == [False, True]
        assert replies[0][0] == replies[1][0] != first

        other, existing = await request("hunter")  # another provider is another enrichment
        assert not existing and other not in (first, replies[0][0])
    finally:
        await db.close()
