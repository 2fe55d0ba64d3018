"""Actions on a selection of leads in one call (the leads table's ticked rows): deleting them, enriching them.

Each does for many leads, in one transaction and a few statements, what DeleteLead and EnrichLead do for one
(service.remove, service.request_enrichment): the same rows, jobs and events, so a consumer cannot tell the two apart.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from google.protobuf.json_format import MessageToDict
from sqlalchemy import delete as delete_rows
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.leads.v1 import jobs_pb2, leads_pb2
from leadflood_platform import jobs, outbox
from leads import events, rescoring, service
from leads.models import EnrichmentRun, Lead, platform_tables

STARTED, ALREADY_RUNNING, REFUSED = (
    leads_pb2.LEAD_ENRICH_OUTCOME_STARTED,
    leads_pb2.LEAD_ENRICH_OUTCOME_ALREADY_RUNNING,
    leads_pb2.LEAD_ENRICH_OUTCOME_REFUSED,
)
# The jobs and their enrichment runs (the lead's history entries) in one statement; their outbox rows follow in
# outbox.enqueue_many. jobs.enqueue writes the same job row for one: queued, its message as JSON and serialised.
_QUEUE_ENRICHMENTS = f"""
WITH job AS (
    INSERT INTO {platform_tables.schema}.{platform_tables.jobs.name}
        (id, org_id, type, status, max_attempts, payload, message)
    SELECT j.id, $1, $2, 'queued', $3, CAST(j.payload AS jsonb), j.message
    FROM unnest(CAST($4 AS uuid[]), CAST($5 AS text[]), CAST($6 AS bytea[])) AS j(id, payload, message)
)
INSERT INTO {EnrichmentRun.__table__.fullname} (id, org_id, lead_id, job_id, provider)
SELECT r.id, $1, r.lead_id, r.job_id, $7
FROM unnest(CAST($8 AS uuid[]), CAST($9 AS uuid[]), CAST($4 AS uuid[])) AS r(id, lead_id, job_id)
"""


def selection(raw: Sequence[str]) -> list[uuid.UUID]:
    """Each id asked for, in the order asked, a lead named twice kept twice (each entry gets its own answer);
    InvalidArgument for none, more than listing.MAX_LEAD_IDS, or a malformed one (naming it), as ScoreLeads says."""
    rescoring.lead_ids(raw)
    return [uuid.UUID(value) for value in raw]


async def delete(*, session: AsyncSession, org_id: uuid.UUID, ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """Deletes the org's leads among `ids` and writes each one's `leads.lead.deleted` event (which stops its
    enrollments); the ids deleted. Another org's lead, or one deleted already, is left out, and has no event."""
    # Locked in id order before the delete: two selections deleted (or enriched) at once wait, never deadlock.
    locked = select(Lead.id).where(Lead.org_id == org_id, Lead.id.in_(set(ids))).order_by(Lead.id).with_for_update()
    deleted = await session.execute(
        delete_rows(Lead)
        .where(Lead.id.in_(locked))
        .returning(Lead.id, Lead.email)
        .execution_options(synchronize_session=False)
    )
    gone = {row.id: row.email for row in deleted}
    await events.leads_deleted(session, org_id, gone)
    return set(gone)


@dataclass(frozen=True)
class Enrichment:
    """What became of one lead's enrichment: STARTED or ALREADY_RUNNING with its job, or REFUSED with the reason."""

    outcome: int  # a leads_pb2.LeadEnrichOutcome
    job_id: uuid.UUID | None = None
    reason: str = ""


def enrich_result(enrichment: Enrichment | None) -> leads_pb2.LeadEnrichResult:
    """One lead's answer in EnrichLeadsResponse; None: the lead was not found."""
    if enrichment is None:
        return leads_pb2.LeadEnrichResult(outcome=leads_pb2.LEAD_ENRICH_OUTCOME_NOT_FOUND)
    job_id = jobs.public_id(platform_tables.schema, enrichment.job_id)
    return leads_pb2.LeadEnrichResult(outcome=enrichment.outcome, job_id=job_id, reason=enrichment.reason)


async def enrich(
    *,
    session: AsyncSession,
    org_id: uuid.UUID,
    ids: Sequence[uuid.UUID],
    provider: str,
    enrich_kind: type[jobs.JobKind[Any, Any]],
    max_attempts: int,
) -> dict[uuid.UUID, Enrichment]:
    """Queues an enrichment of each of the org's leads among `ids` by `provider`, with its history entry, as
    service.request_enrichment does for one: a lead whose enrichment by that provider is still queued or running
    keeps that job (a double click must not pay the provider twice), one with nothing to look it up by is refused.
    The leads not found are left out of the answer."""
    # Locked first, as request_enrichment locks its lead, so a concurrent request for the same lead waits and
    # then finds this one's job; the pending jobs are read after, by a statement that sees what it committed.
    found = (
        await session.execute(
            select(Lead.id, Lead.email, Lead.company_domain, Lead.last_name)
            .where(Lead.org_id == org_id, Lead.id.in_(set(ids)))
            .order_by(Lead.id)
            .with_for_update()
        )
    ).all()
    done = {
        row.id: Enrichment(REFUSED, reason=service.NOTHING_TO_ENRICH_BY) for row in found if not service.enrichable(row)
    }
    wanted = {row.id for row in found} - set(done)
    if wanted:
        job_table = platform_tables.jobs
        pending = await session.execute(
            select(EnrichmentRun.lead_id, EnrichmentRun.job_id)
            .join(job_table, job_table.c.id == EnrichmentRun.job_id)
            .where(
                EnrichmentRun.org_id == org_id,
                EnrichmentRun.lead_id.in_(wanted),
                EnrichmentRun.provider == provider,
                job_table.c.status.in_((jobs.QUEUED, jobs.RUNNING)),
            )
        )
        # (Two pending for one lead would be a race the lock above rules out; either is that lead's job.)
        done |= {row.lead_id: Enrichment(ALREADY_RUNNING, row.job_id) for row in pending}
    # In the order asked for: the first lead ticked is the first enriched.
    new = [lead_id for lead_id in dict.fromkeys(ids) if lead_id in wanted and lead_id not in done]
    if new:
        done |= await _queue(session, org_id, new, provider, enrich_kind, max_attempts)
    return done


async def _queue(
    session: AsyncSession,
    org_id: uuid.UUID,
    lead_ids: list[uuid.UUID],
    provider: str,
    enrich_kind: type[jobs.JobKind[Any, Any]],
    max_attempts: int,
) -> dict[uuid.UUID, Enrichment]:
    """A new enrichment job and run for each lead: two statements however many leads."""
    run_ids = [uuid.uuid4() for _ in lead_ids]
    messages = [
        jobs_pb2.EnrichLeadJob(lead_id=str(lead_id), org_id=str(org_id), provider=provider, enrichment_run_id=str(run))
        for lead_id, run in zip(lead_ids, run_ids, strict=True)
    ]
    job_ids = [jobs.new_job(message) for message in messages]
    payloads = [json.dumps(MessageToDict(message)) for message in messages]
    serialised = [message.SerializeToString() for message in messages]
    params = (org_id, enrich_kind.type, max_attempts, job_ids, payloads, serialised, provider, run_ids, lead_ids)
    await (await session.connection()).exec_driver_sql(_QUEUE_ENRICHMENTS, params)
    subject = enrich_kind.subject()
    queued = [(subject, str(job_id), message) for job_id, message in zip(job_ids, messages, strict=True)]
    await outbox.enqueue_many(session, platform_tables, queued)
    return {lead_id: Enrichment(STARTED, job_id) for lead_id, job_id in zip(lead_ids, job_ids, strict=True)}
