"""Leads domain logic: plain functions over a session; the caller owns the transaction."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.leads.v1 import jobs_pb2
from leadflood_platform import addresses, jobs
from leadflood_platform.errors import NO_NUL, AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from leads import events, ingest, phones, provider_values, time_zones
from leads.models import EnrichmentRun, Lead, platform_tables

MAX_FIELD = 200
EDITABLE = (
    "email", "first_name", "last_name", "company_name", "title", "time_zone", "phone", "seniority", "industry",
    "location", "company_domain", "linkedin_url", "company_size",
)  # fmt: skip
MAX_COMPANY_SIZE = 10_000_000


def normalise_email(raw: str) -> str:
    """Trimmed and lower-cased, plus-addressing kept; InvalidArgument naming `email` with the reason."""
    address = raw.strip()
    if not addresses.plainly_valid(address):
        try:
            validate_email(address, check_deliverability=False)
        except EmailNotValidError as exc:
            raise InvalidArgument.on("email", str(exc)) from None
    email = ingest.normalise_email(raw)
    if email is None:
        raise InvalidArgument.on("email", "is not a valid email address")
    return email


def _check_text(name: str, value: str, *, required: bool) -> str:
    value = value.strip()
    if required and not value:
        raise InvalidArgument.on(name, "is required")
    if len(value) > MAX_FIELD:
        raise InvalidArgument.on(name, f"must be at most {MAX_FIELD} characters")
    if "\x00" in value:
        raise InvalidArgument.on(name, NO_NUL)
    return value


IMPORTED_FIELDS = ("first_name", "last_name", "company_name", "title", "phone")


@dataclass(frozen=True)
class NewLead:
    email: str
    first_name: str
    last_name: str
    company_name: str = ""
    title: str = ""
    source: str = "manual"
    phone: str = ""

    def validated(self) -> NewLead:
        """The same lead with its email normalised and its text trimmed, or InvalidArgument."""
        return NewLead(
            email=normalise_email(self.email),
            first_name=_check_text("first_name", self.first_name, required=True),
            last_name=_check_text("last_name", self.last_name, required=True),
            company_name=_check_text("company_name", self.company_name, required=False),
            title=_check_text("title", self.title, required=False),
            source=_check_text("source", self.source, required=True),
            phone=phones.normalised(self.phone),
        )


async def create(
    *,
    session: AsyncSession,
    org_id: uuid.UUID,
    new: NewLead,
    enrich_kind: type[jobs.JobKind[Any, Any]],
    max_attempts: int,
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
        raise AlreadyExists(f"a lead with email {new.email} already exists")
    lead = await get(session=session, org_id=org_id, lead_id=lead_id)
    await events.lead_created(session, lead)
    job_id, _ = await request_enrichment(
        session=session,
        org_id=org_id,
        lead_id=lead_id,
        provider="sandbox",
        enrich_kind=enrich_kind,
        max_attempts=max_attempts,
    )
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


async def history(*, session: AsyncSession, org_id: uuid.UUID, lead_id: uuid.UUID) -> Sequence[EnrichmentRun]:
    query = (
        select(EnrichmentRun)
        .where(EnrichmentRun.lead_id == lead_id, EnrichmentRun.org_id == org_id)
        .order_by(EnrichmentRun.created_at.desc())
    )
    return (await session.execute(query)).scalars().all()


async def update(*, session: AsyncSession, org_id: uuid.UUID, lead_id: uuid.UUID, changes: dict[str, Any]) -> Lead:
    """A user's edit: the fields it touches are marked edited, so later sourcing runs and applied
    enrichments keep them."""
    lead = await get(session=session, org_id=org_id, lead_id=lead_id, for_update=True)
    for name, value in changes.items():
        if name == "company_size":
            if not 0 <= value <= MAX_COMPANY_SIZE:
                raise InvalidArgument.on(name, f"must be between 1 and {MAX_COMPANY_SIZE:,} (0 removes it)")
            lead.company_size_max = None  # a headcount typed by hand replaces a provider's range
            value = value or None
        elif name == "email":
            value = normalise_email(value)
        elif name == "time_zone":
            value = time_zones.validated(value) or None
        elif name == "phone":
            value = phones.normalised(value)
        else:
            value = _check_text(name, value, required=name in ("first_name", "last_name"))
            if name in ("seniority", "company_domain"):
                value = value.lower()  # a seniority is a code ("vp"), a domain has no case
        setattr(lead, name, value)
    lead.edited_fields = sorted(set(lead.edited_fields) | set(changes))
    lead.updated_at = dt.datetime.now(dt.UTC)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise AlreadyExists(f"a lead with email {changes.get('email')} already exists") from None
    await events.lead_updated(session, lead)
    return lead


async def remove(*, session: AsyncSession, org_id: uuid.UUID, lead_id: uuid.UUID) -> None:
    deleted = await session.execute(
        delete(Lead).where(Lead.id == lead_id, Lead.org_id == org_id).returning(Lead.id, Lead.email)
    )
    row = deleted.first()
    if row is None:
        raise NotFound(f"lead {lead_id} not found")
    await events.lead_deleted(session, org_id, lead_id, row.email)


NOTHING_TO_ENRICH_BY = "the lead needs an email, or a name and a company domain, to be enriched"


def enrichable(lead: Any) -> bool:
    """A provider can look the lead (a Lead, or a row with these columns) up: by its email, or its name at a domain."""
    return bool(lead.email or (lead.company_domain and lead.last_name))


async def request_enrichment(
    *,
    session: AsyncSession,
    org_id: uuid.UUID,
    lead_id: uuid.UUID,
    provider: str,
    enrich_kind: type[jobs.JobKind[Any, Any]],
    max_attempts: int,
) -> tuple[uuid.UUID, bool]:
    """(job id, existing): queue an enrichment job and its history entry together.

    An enrichment of the lead by the same provider still queued or running is returned instead of
    queueing another: a double click must not call (and pay) the provider twice.
    """
    lead = await get(session=session, org_id=org_id, lead_id=lead_id, for_update=True)  # one request at a time
    if not enrichable(lead):
        raise FailedPrecondition(NOTHING_TO_ENRICH_BY)
    jobs_table = platform_tables.jobs
    pending = await session.scalar(
        select(EnrichmentRun.job_id)
        .join(jobs_table, jobs_table.c.id == EnrichmentRun.job_id)
        .where(
            EnrichmentRun.lead_id == lead_id,
            EnrichmentRun.provider == provider,
            jobs_table.c.status.in_((jobs.QUEUED, jobs.RUNNING)),
        )
        .limit(1)
    )
    if pending is not None:
        return pending, True
    run_id = uuid.uuid4()
    message = jobs_pb2.EnrichLeadJob(
        lead_id=str(lead_id), org_id=str(org_id), provider=provider, enrichment_run_id=str(run_id)
    )
    job_id = await jobs.enqueue(
        session, platform_tables, enrich_kind, message, org_id=org_id, max_attempts=max_attempts
    )
    session.add(EnrichmentRun(id=run_id, org_id=org_id, lead_id=lead_id, job_id=job_id, provider=provider))
    return job_id, False


async def set_processing(*, session: AsyncSession, org_id: uuid.UUID, lead_id: uuid.UUID) -> None:
    lead = await get(session=session, org_id=org_id, lead_id=lead_id, for_update=True)
    lead.status = "processing"


async def record_enrichment(
    *, session: AsyncSession, org_id: uuid.UUID, lead_id: uuid.UUID, run_id: uuid.UUID | None, data: dict[str, Any]
) -> Lead:
    lead = await get(session=session, org_id=org_id, lead_id=lead_id, for_update=True)
    lead.status, lead.error = "enriched", None
    lead.enrichment = {**(lead.enrichment or {}), **data}
    if not lead.email and data.get("email"):
        lead.email = ingest.normalise_email(data["email"])
    await _finish_run(session, run_id, status="completed", fields=data)
    await events.lead_updated(session, lead)
    return lead


async def record_failure(
    *, session: AsyncSession, org_id: uuid.UUID, lead_id: uuid.UUID, run_id: uuid.UUID | None, error: str
) -> None:
    lead = await get(session=session, org_id=org_id, lead_id=lead_id, for_update=True)
    lead.status, lead.error = "failed", error
    await _finish_run(session, run_id, status="failed", error=error)
    await events.lead_updated(session, lead)


async def _finish_run(session: AsyncSession, run_id: uuid.UUID | None, **values: Any) -> None:
    run = await session.get(EnrichmentRun, run_id) if run_id else None
    if run is not None:
        for key, value in values.items():
            setattr(run, key, value)
        run.updated_at = dt.datetime.now(dt.UTC)


async def apply_enrichment(
    *, session: AsyncSession, org_id: uuid.UUID, lead_id: uuid.UUID, fields: list[str]
) -> tuple[Lead, provider_values.Applying]:
    """Puts the enrichment's values (every one offered, or those named) in the lead's own fields; never over a
    hand edit. The applied fields are not marked edited: a later search may bring a newer value."""
    lead = await get(session=session, org_id=org_id, lead_id=lead_id, for_update=True)
    applying = provider_values.to_apply(lead, fields)
    if applying.values:
        for name, value in applying.values.items():
            setattr(lead, name, value)
        lead.updated_at = dt.datetime.now(dt.UTC)
        await session.flush()
        await events.lead_updated(session, lead)
    return lead, applying
