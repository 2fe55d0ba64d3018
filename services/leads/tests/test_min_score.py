"""An ICP's new minimum score applied to the leads it already has: which are filtered (hidden from the default list)
follows the ICP's minimum as it is now, by the scores they hold, on a scratch leads database."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import select, update

from leadflood.leads.v1 import events_pb2
from leadflood_platform.db import Database
from leadflood_platform.errors import InvalidArgument
from leads import events, rescoring, service
from leads.models import Lead, platform_tables
from leads.workers import EnrichLead


async def test_a_new_minimum_hides_and_shows_the_icp_s_leads_by_their_scores(
    leads_database: str, migrate_leads: Callable[..., Awaitable[None]]
) -> None:
    await migrate_leads()
    db = Database(leads_database, pool_size=2)
    org, icp_id, other_icp = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()

    async def lead(email: str, score: int, icp: uuid.UUID | None, org_id: uuid.UUID = org) -> uuid.UUID:
        """A lead scored `score` by `icp` when it was scored against a minimum of 40."""
        async with db.transaction() as session:
            made, _ = await service.create(session=session, org_id=org_id, new=service.NewLead(email, "A", "B"),
                                           enrich_kind=EnrichLead, max_attempts=3)  # fmt: skip
            filtered = icp is not None and score < 40
            await session.execute(
                update(Lead).where(Lead.id == made.id).values(icp_id=icp, score=score, filtered=filtered)
            )
            return made.id

    async def hidden() -> set[uuid.UUID]:
        async with db.transaction() as session:
            return set(await session.scalars(select(Lead.id).where(Lead.filtered)))

    async def apply(min_score: int, org_id: uuid.UUID = org) -> rescoring.MinScoreApplied:
        async with db.transaction() as session:
            return await rescoring.apply_min_score(session=session, org_id=org_id, icp_id=icp_id, min_score=min_score)

    try:
        low, mid = await lead("low@x.io", 30, icp_id), await lead("mid@x.io", 45, icp_id)
        await lead("high@x.io", 70, icp_id)
        await lead("other@x.io", 45, other_icp)  # another ICP's: its own minimum holds
        await lead("none@x.io", 0, None)  # linked to no ICP: never filtered
        await lead("low@x.io", 45, icp_id, org_id=uuid.uuid4())  # the same ICP id in another org: not this org's
        assert await hidden() == {low}

        raised = await apply(60)
        assert (raised.hidden, raised.shown) == (1, 0)  # mid: 45 < 60; low was hidden already
        assert await hidden() == {low, mid}

        lowered = await apply(30)
        assert (lowered.hidden, lowered.shown) == (0, 2)  # 30 is not under 30
        assert await hidden() == set()
        assert (await apply(30)).hidden == (await apply(30)).shown == 0  # applied again: nothing changes

        # Each change named its leads in a leads.lead.updated event of the ICP, for the pages showing them.
        async with db.transaction() as session:
            rows = (
                await session.execute(
                    select(platform_tables.outbox.c.payload)
                    .where(platform_tables.outbox.c.subject == events.UPDATED)
                    .order_by(platform_tables.outbox.c.id)
                )
            ).scalars()
            named = [events_pb2.LeadUpdated.FromString(row) for row in rows]
        assert [sorted(ref.email for ref in e.leads) for e in named] == [["mid@x.io"], ["low@x.io", "mid@x.io"]]
        assert {e.icp_id for e in named} == {str(icp_id)}

        with pytest.raises(InvalidArgument) as caught:
            await apply(101)
        assert caught.value.violations[0].field == "min_score"
    finally:
        await db.close()


async def test_thousands_of_changed_leads_are_named_in_events_of_at_most_500(
    leads_database: str, migrate_leads: Callable[..., Awaitable[None]]
) -> None:
    await migrate_leads()
    db = Database(leads_database, pool_size=2)
    org = uuid.uuid4()
    refs = [(uuid.uuid4(), f"{n}@x.io") for n in range(1001)]
    try:
        async with db.transaction() as session:
            await events.refs_updated(session, org, refs, icp_id="i")
            sizes = [
                len(events_pb2.LeadUpdated.FromString(payload).leads)
                for payload in await session.scalars(
                    select(platform_tables.outbox.c.payload).order_by(platform_tables.outbox.c.id)
                )
            ]
        assert sizes == [500, 500, 1]
    finally:
        await db.close()
