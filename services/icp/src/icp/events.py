"""The icp service's domain events, written to the outbox in the transaction that made the change."""

from __future__ import annotations

import uuid

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession

from icp.models import platform_tables
from leadflood.icp.v1 import events_pb2
from leadflood_platform import outbox

SEARCH_RUN_CHANGED = "icp.search_run.changed"


async def search_run_changed(
    into: AsyncSession | asyncpg.Connection, *, org_id: object, run_id: object, icp_id: object, status: str
) -> None:
    """A search run moved (started, a page delivered, ended): live pages re-read it."""
    event = events_pb2.SearchRunChanged(
        event_id=str(uuid.uuid4()), org_id=str(org_id), run_id=str(run_id), icp_id=str(icp_id), status=status
    )
    await outbox.enqueue(into, platform_tables, subject=SEARCH_RUN_CHANGED, message=event, msg_id=event.event_id)
