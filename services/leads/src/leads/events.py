"""The leads service's domain events, written to the outbox in the transaction that made the change.

An event names the leads it is about (id and email), not their fields: see LeadRef in events.proto.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.leads.v1 import events_pb2
from leadflood_platform import outbox
from leads.ingest import Applied, Row
from leads.models import Lead, platform_tables

CREATED, UPDATED, DELETED = "leads.lead.created", "leads.lead.updated", "leads.lead.deleted"
Event = events_pb2.LeadCreated | events_pb2.LeadUpdated


def _event(subject: str, org_id: uuid.UUID, *, run_id: str = "", icp_id: str = "") -> Event:
    event_type = events_pb2.LeadCreated if subject == CREATED else events_pb2.LeadUpdated
    return event_type(event_id=str(uuid.uuid4()), org_id=str(org_id), search_run_id=run_id, icp_id=icp_id)


async def _enqueue(into: AsyncSession | asyncpg.Connection, subject: str, event: Event) -> None:
    if event.leads:
        await outbox.enqueue(into, platform_tables, subject=subject, message=event, msg_id=event.event_id)


async def _publish_one(session: AsyncSession, subject: str, lead: Lead) -> None:
    event = _event(subject, lead.org_id)
    ref = event.leads.add()
    ref.id, ref.email = str(lead.id), lead.email or ""
    await _enqueue(session, subject, event)


async def lead_created(session: AsyncSession, lead: Lead) -> None:
    await _publish_one(session, CREATED, lead)


async def lead_updated(session: AsyncSession, lead: Lead) -> None:
    await _publish_one(session, UPDATED, lead)


# Leads one leads.lead.updated event names at most: an ICP's new minimum score may change thousands at once, and an
# event stays far under NATS's 1 MB message limit.
EVENT_LEADS = 500


async def leads_updated(session: AsyncSession, org_id: uuid.UUID, leads: list[Lead]) -> None:
    """One event naming every lead (linked to an ICP and scored together); none for no leads."""
    await refs_updated(session, org_id, [(lead.id, lead.email) for lead in leads])


async def refs_updated(
    session: AsyncSession, org_id: uuid.UUID, refs: Sequence[tuple[uuid.UUID, str | None]], *, icp_id: str = ""
) -> None:
    """The leads named by (id, email) changed together: one event per EVENT_LEADS of them (in one statement); none
    for none."""
    batch: list[tuple[str, str, Event]] = []
    for start in range(0, len(refs), EVENT_LEADS):
        event = _event(UPDATED, org_id, icp_id=icp_id)
        for lead_id, email in refs[start : start + EVENT_LEADS]:
            ref = event.leads.add()
            ref.id, ref.email = str(lead_id), email or ""
        batch.append((UPDATED, event.event_id, event))
    await outbox.enqueue_many(session, platform_tables, batch)


def _deleted(org_id: uuid.UUID, lead_id: uuid.UUID, email: str | None) -> events_pb2.LeadDeleted:
    event = events_pb2.LeadDeleted(event_id=str(uuid.uuid4()), org_id=str(org_id))
    event.lead.id, event.lead.email = str(lead_id), email or ""
    return event


async def lead_deleted(session: AsyncSession, org_id: uuid.UUID, lead_id: uuid.UUID, email: str | None) -> None:
    event = _deleted(org_id, lead_id, email)
    await outbox.enqueue(session, platform_tables, subject=DELETED, message=event, msg_id=event.event_id)


async def leads_deleted(session: AsyncSession, org_id: uuid.UUID, deleted: Mapping[uuid.UUID, str | None]) -> None:
    """One leads.lead.deleted event per lead (lead id -> email), as lead_deleted writes for one, in one statement."""
    gone = [_deleted(org_id, lead_id, email) for lead_id, email in deleted.items()]
    await outbox.enqueue_many(session, platform_tables, [(DELETED, event.event_id, event) for event in gone])


async def publish_rows(
    into: AsyncSession | asyncpg.Connection,
    org_id: uuid.UUID,
    applied: Applied,
    *,
    created: list[Row],
    updated: list[Row],
    icp_id: str = "",
    run_id: str = "",
) -> None:
    """One event per kind for a whole batch: a page of a run is one created and one updated event."""
    ids = applied.ids
    for subject, rows in ((CREATED, created), (UPDATED, updated)):
        event = _event(subject, org_id, run_id=run_id, icp_id=icp_id)
        add = event.leads.add
        for row in rows:  # built in place: a page's thousand refs are not copied into the event
            ref = add()
            ref.id, ref.email = str(ids[row.key]), row.email or ""
        await _enqueue(into, subject, event)
