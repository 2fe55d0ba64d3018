"""The leads service's background jobs: enrichment."""

from __future__ import annotations

import contextlib
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.leads.v1 import jobs_pb2
from leadflood_platform.db import Database
from leadflood_platform.errors import NotFound
from leadflood_platform.jobs import JobKind
from leads import service
from leads.enrichment import Enricher


def _ids(message: jobs_pb2.EnrichLeadJob) -> dict[str, uuid.UUID]:
    return {"org_id": uuid.UUID(message.org_id), "lead_id": uuid.UUID(message.lead_id)}


def enrich_kind(enricher: Enricher, db: Database) -> JobKind:
    """The `leads.enrich` job: the provider call outside the transaction, its result inside it.

    Any error other than RetryableJobError (a permanent provider refusal, a deleted lead) fails the
    job at once and marks the lead failed with the message.
    """

    async def perform(message: jobs_pb2.EnrichLeadJob, attempt: int) -> dict[str, Any]:
        async with db.transaction() as session:
            lead = await service.get(session=session, **_ids(message))
        return await enricher.enrich(email=lead.email, title=lead.title, attempt=attempt)

    async def apply(session: AsyncSession, message: jobs_pb2.EnrichLeadJob, data: dict[str, Any]) -> dict[str, Any]:
        await service.record_enrichment(session=session, data=data, **_ids(message))
        return {"leadId": message.lead_id, "fields": sorted(data)}

    async def on_start(session: AsyncSession, message: jobs_pb2.EnrichLeadJob) -> None:
        await service.set_processing(session=session, **_ids(message))

    async def on_failure(session: AsyncSession, message: jobs_pb2.EnrichLeadJob, error: str) -> None:
        with contextlib.suppress(NotFound):  # a deleted lead has nothing left to mark
            await service.record_failure(session=session, error=error, **_ids(message))

    return JobKind(
        type="leads.enrich",
        subject="jobs.leads.enrich",
        message_type=jobs_pb2.EnrichLeadJob,
        perform=perform,
        apply=apply,
        on_start=on_start,
        on_failure=on_failure,
    )
