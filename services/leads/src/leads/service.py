"""Leads domain logic: plain functions over a session; the caller owns the transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.leads.v1 import events_pb2, jobs_pb2
from leadflood_platform import jobs, outbox
from leadflood_platform.errors import AlreadyExists, InvalidArgument, NotFound
from leads import convert
from leads.models import Lead, platform_tables

MAX_FIELD = 200


def normalise_email(raw: str) -> str:
    """Trimmed and lower-cased; plus-addressing is kept (it may be a different mailbox)."""
    try:
        return validate_email(raw.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise InvalidArgument.on("email", str(exc)) from None


@dataclass(frozen=True)
class NewLead:
    email: str
    first_name: str
    last_name: str
    company_name: str = ""
    title: str = ""
    source: str = "manual"

    def validated(self) -> NewLead:
        """The same lead with its email normalised and its text trimmed, or InvalidArgument."""
        fields = {
            name: getattr(self, name).strip() for name in ("first_name", "last_name", "company_name", "title", "source")
        }
        for name in ("first_name", "last_name"):
            if not fields[name]:
                raise InvalidArgument.on(name, "is required")
        for name, value in fields.items():
            if len(value) > MAX_FIELD:
                raise InvalidArgument.on(name, f"must be at most {MAX_FIELD} characters")
        return NewLead(email=normalise_email(self.email), **fields)


async def create(
    *, session: AsyncSession, org_id: uuid.UUID, new: NewLead, enrich_kind: jobs.JobKind, max_attempts: int
) -> tuple[Lead, uuid.UUID]:
    """Persist a new lead and queue its enrichment and its created event, all in one transaction."""
    new = new.validated()
    inserted = await session.execute(
        insert(Lead)
        .values(id=uuid.uuid4(), org_id=org_id, status="new", **vars(new))
        .on_conflict_do_nothing(index_elements=["org_id", "email"])
        .returning(Lead.id)
    )
    lead_id = inserted.scalar_one_or_none()
    if lead_id is None:
        raise AlreadyExists(f"a lead with email {new.email} already exists", [])
    lead = await get(session=session, org_id=org_id, lead_id=lead_id)
    job_id = await jobs.enqueue(
        session,
        platform_tables,
        enrich_kind,
        jobs_pb2.EnrichLeadJob(lead_id=str(lead_id), org_id=str(org_id)),
        org_id=org_id,
        max_attempts=max_attempts,
    )
    await publish_event(session, "leads.lead.created", events_pb2.LeadCreated, org_id, lead)
    return lead, job_id


async def get(*, session: AsyncSession, org_id: uuid.UUID, lead_id: uuid.UUID, for_update: bool = False) -> Lead:
    """One lead of the org; another org's lead is simply not found."""
    query = select(Lead).where(Lead.id == lead_id, Lead.org_id == org_id)
    if for_update:
        query = query.with_for_update()
    lead = (await session.execute(query)).scalar_one_or_none()
    if lead is None:
        raise NotFound(f"lead {lead_id} not found")
    return lead


async def set_processing(*, session: AsyncSession, org_id: uuid.UUID, lead_id: uuid.UUID) -> None:
    lead = await get(session=session, org_id=org_id, lead_id=lead_id, for_update=True)
    if lead.status != "enriched":
        lead.status = "processing"


async def record_enrichment(
    *, session: AsyncSession, org_id: uuid.UUID, lead_id: uuid.UUID, data: dict[str, Any]
) -> Lead:
    lead = await get(session=session, org_id=org_id, lead_id=lead_id, for_update=True)
    lead.status, lead.error, lead.enrichment = "enriched", None, data
    await session.flush()
    await publish_event(session, "leads.lead.updated", events_pb2.LeadUpdated, org_id, lead)
    return lead


async def record_failure(*, session: AsyncSession, org_id: uuid.UUID, lead_id: uuid.UUID, error: str) -> None:
    lead = await get(session=session, org_id=org_id, lead_id=lead_id, for_update=True)
    lead.status, lead.error = "failed", error
    await session.flush()
    await publish_event(session, "leads.lead.updated", events_pb2.LeadUpdated, org_id, lead)


async def publish_event(session: AsyncSession, subject: str, event_type: type, org_id: uuid.UUID, lead: Lead) -> None:
    await session.refresh(lead)
    event_id = str(uuid.uuid4())
    event = event_type(event_id=event_id, org_id=str(org_id), lead=convert.lead_to_proto(lead))
    await outbox.enqueue(session, platform_tables, subject=subject, message=event, msg_id=event_id)
