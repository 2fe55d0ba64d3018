"""The leads service's domain events, written to the outbox in the transaction that made the change."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.leads.v1 import events_pb2
from leadflood_platform import outbox
from leads.convert import fill_from_row, lead_to_proto
from leads.ingest import Applied, Row
from leads.models import Lead, platform_tables

CREATED, UPDATED = "leads.lead.created", "leads.lead.updated"


def _event(subject: str, org_id: uuid.UUID) -> events_pb2.LeadCreated | events_pb2.LeadUpdated:
    event_type = events_pb2.LeadCreated if subject == CREATED else events_pb2.LeadUpdated
    return event_type(event_id=str(uuid.uuid4()), org_id=str(org_id))


async def _enqueue(session: AsyncSession, subject: str, event: events_pb2.LeadCreated | events_pb2.LeadUpdated) -> None:
    if event.leads:
        await outbox.enqueue(session, platform_tables, subject=subject, message=event, msg_id=event.event_id)


async def _publish_one(session: AsyncSession, subject: str, lead: Lead) -> None:
    event = _event(subject, lead.org_id)
    event.leads.append(lead_to_proto(lead))
    await _enqueue(session, subject, event)


async def lead_created(session: AsyncSession, lead: Lead) -> None:
    await session.refresh(lead)
    await _publish_one(session, CREATED, lead)


async def lead_updated(session: AsyncSession, lead: Lead) -> None:
    await session.flush()
    await session.refresh(lead)
    await _publish_one(session, UPDATED, lead)


async def publish_rows(
    session: AsyncSession,
    org_id: uuid.UUID,
    applied: Applied,
    *,
    created: list[Row],
    updated: list[Row],
    source: str,
    icp_id: str = "",
    run_id: str = "",
) -> None:
    """One event per kind for a whole batch: a page of a run is one created and one updated event."""
    for subject, rows in ((CREATED, created), (UPDATED, updated)):
        event = _event(subject, org_id)
        for row in rows:  # built in place: a page's thousand leads are not copied into the event
            fill_from_row(event.leads.add(), row, applied.ids[row.key], source=source, icp_id=icp_id, run_id=run_id)
        await _enqueue(session, subject, event)
