"""The leads service's background jobs: enrichment through the provider the user picked."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.leads.v1 import jobs_pb2
from leadflood_platform.db import Database
from leadflood_platform.errors import NotFound
from leadflood_platform.jobs import JobKind, JobStopped
from leads import service
from leads.providers.base import Enricher


def _ids(message: jobs_pb2.EnrichLeadJob) -> dict[str, Any]:
    run_id = uuid.UUID(message.enrichment_run_id) if message.enrichment_run_id else None
    return {"org_id": uuid.UUID(message.org_id), "lead_id": uuid.UUID(message.lead_id), "run_id": run_id}


LEAD_DELETED = "stopped: the lead was deleted"


@contextlib.contextmanager
def _lead_still_there() -> Iterator[None]:
    """A lead deleted before or during its enrichment stops the job with the reason, once."""
    try:
        yield
    except NotFound:
        raise JobStopped(LEAD_DELETED) from None


class EnrichLead(JobKind[jobs_pb2.EnrichLeadJob, dict[str, Any]]):
    """`leads.enrich`: the provider call outside the transaction, its result inside it.

    Any error other than RetryableJobError (a permanent provider refusal) fails the job at once and
    marks the lead failed with the provider's message; a lead deleted meanwhile stops it (JobStopped).
    The lead's enrichment status and its enrichment run mirror the job's (see JobKind).
    """

    type = "leads.enrich"
    message_type = jobs_pb2.EnrichLeadJob

    def __init__(self, *, db: Database, enricher_for: Callable[[str], Enricher]) -> None:
        self.db, self.enricher_for = db, enricher_for

    async def perform(self, message: jobs_pb2.EnrichLeadJob, attempt: int) -> dict[str, Any]:
        ids = _ids(message)
        with _lead_still_there():
            async with self.db.transaction() as session:
                lead = await service.get(session=session, org_id=ids["org_id"], lead_id=ids["lead_id"])
        enricher = self.enricher_for(message.provider or "sandbox")
        return await enricher.enrich(
            email=lead.email or "",
            first_name=lead.first_name,
            last_name=lead.last_name,
            company_domain=lead.company_domain or (lead.email or "").partition("@")[2],
            title=lead.title,
            attempt=attempt,
        )

    async def apply(
        self, session: AsyncSession, message: jobs_pb2.EnrichLeadJob, outcome: dict[str, Any]
    ) -> dict[str, Any]:
        with _lead_still_there():
            await service.record_enrichment(session=session, data=outcome, **_ids(message))
        return {"leadId": message.lead_id, "provider": message.provider or "sandbox", "fields": sorted(outcome)}

    async def on_start(self, session: AsyncSession, message: jobs_pb2.EnrichLeadJob) -> None:
        ids = _ids(message)
        with _lead_still_there():
            await service.set_processing(session=session, org_id=ids["org_id"], lead_id=ids["lead_id"])

    async def on_failure(self, session: AsyncSession, message: jobs_pb2.EnrichLeadJob, error: str) -> None:
        with contextlib.suppress(NotFound):  # a deleted lead has nothing left to mark
            await service.record_failure(session=session, error=error, **_ids(message))
