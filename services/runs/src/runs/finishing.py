"""A run's end: its state, its slot freed, its leads' quota settled, and runs.run.finished announced."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.runs.v1 import events_pb2
from leadflood_platform import outbox
from runs.models import CANCELLED, LeadRun, platform_tables


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def finish(session: AsyncSession, run: LeadRun, state: str, *, error: str | None) -> None:
    """Ends the run in the caller's transaction: the active-run slot is free from its commit."""
    run.state, run.error, run.finished_at = state, error, utcnow()
    if state != CANCELLED and run.sourced_at is None:
        run.leads_charged = 0  # sourcing never found its leads: the day's lead quota gets them back
    await session.flush()
    event = events_pb2.RunFinished(
        event_id=str(uuid.uuid4()), org_id=str(run.org_id), run_id=str(run.id), state=state, error=error or ""
    )
    event.finished_at.FromDatetime(run.finished_at)
    await outbox.enqueue(session, platform_tables, subject="runs.run.finished", message=event, msg_id=event.event_id)


async def progressed(session: AsyncSession, *, org_id: uuid.UUID, run_id: uuid.UUID, lead_id: str, status: str) -> None:
    """runs.run.progressed in the caller's transaction: a lead settled (or the run's leads were sourced)."""
    event = events_pb2.RunProgressed(
        event_id=str(uuid.uuid4()), org_id=str(org_id), run_id=str(run_id), lead_id=lead_id, status=status
    )
    await outbox.enqueue(session, platform_tables, subject="runs.run.progressed", message=event, msg_id=event.event_id)
