"""Lead runs: create, start (admitted by the quotas), cancel, read; their leads and receipts.

Domain functions take the caller's session and never commit (the servicer and the jobs own the unit
of work).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import and_, case, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from leadflood.runs.v1 import jobs_pb2
from leadflood_platform import jobs, templates, totals
from leadflood_platform.errors import FailedPrecondition, InvalidArgument, NotFound, quoted
from runs import contacts, finishing, quotas
from runs.models import (
    CANCELLED,
    CREATED,
    DONE,
    FAILED,
    FINISHED,
    LEASED,
    PENDING,
    RUNNING,
    SKIPPED,
    WAITING,
    LeadRun,
    Receipt,
    RunLead,
    platform_tables,
)
from runs.workers import SourceRun

EMAIL_MODES = ("send", "draft", "off")
CALENDAR_PROVIDERS = ("sandbox", "google")
SOURCES = ("sandbox", "apollo")
DEFAULT_SUBJECT = "A quick idea for {{ lead.companyName | default('your team') }}"
DEFAULT_BODY = (
    "Hi {{ lead.firstName | default('there') }},\n\n"
    "I work with teams like {{ lead.companyName | default('yours') }} on finding and reaching the right "
    "customers. Would a short call be useful?\n"
)
MAX_LIMIT = 10_000


@dataclass
class RunSpec:
    """What a user asks a run to do, as the servicer read it from the request."""

    icp_id: uuid.UUID
    limit: int
    dry_run: bool = False
    email_mode: str = "send"
    sms: bool = False
    call: bool = False
    avatar: bool = False
    calendar: dict[str, Any] = field(default_factory=dict)
    subject: str = ""
    body: str = ""
    source: str = "sandbox"
    recent_contact_days: int = contacts.DEFAULT_DAYS


def check(spec: RunSpec, *, max_leads_per_day: int) -> None:
    """INVALID_ARGUMENT naming the field for anything a run could not do."""
    if not 1 <= spec.limit <= min(MAX_LIMIT, max_leads_per_day):
        raise InvalidArgument.on(
            "limit", f"must be between 1 and {min(MAX_LIMIT, max_leads_per_day)} (the org's daily lead quota)"
        )
    if spec.email_mode not in EMAIL_MODES:
        raise InvalidArgument.on("channels.email", f"unknown mode {quoted(spec.email_mode)}; use send, draft or off")
    if spec.avatar:
        raise InvalidArgument.on("channels.avatar", "avatar videos are not offered yet; leave it off")
    if not 1 <= spec.recent_contact_days <= contacts.MAX_DAYS:
        raise InvalidArgument.on(
            "recentContactDays",
            f"must be between 1 and {contacts.MAX_DAYS} days (a conversation this recent skips the lead)",
        )
    if spec.source not in SOURCES:
        raise InvalidArgument.on("source", f"unknown source {quoted(spec.source)}; use {', '.join(SOURCES)}")
    calendar = spec.calendar
    if calendar.get("enabled"):
        if calendar.get("provider", "sandbox") not in CALENDAR_PROVIDERS:
            raise InvalidArgument.on(
                "calendar.provider", f"unknown provider {quoted(calendar['provider'])}; use sandbox or google"
            )
        if not 5 <= int(calendar.get("durationMinutes", 30)) <= 480:
            raise InvalidArgument.on("calendar.durationMinutes", "must be between 5 and 480 minutes")
        if not 1 <= int(calendar.get("windowDays", 5)) <= 60:
            raise InvalidArgument.on("calendar.windowDays", "must be between 1 and 60 days")
        if calendar.get("timeZone"):
            try:
                ZoneInfo(calendar["timeZone"])
            except (ZoneInfoNotFoundError, ValueError):
                raise InvalidArgument.on(
                    "calendar.timeZone", f"unknown time zone {quoted(calendar['timeZone'])}"
                ) from None
    templates.check(spec.subject or DEFAULT_SUBJECT, "email.subject")
    templates.check(spec.body or DEFAULT_BODY, "email.body")
    if "\n" in (spec.subject or "") or "\r" in (spec.subject or ""):
        raise InvalidArgument.on("email.subject", "must be one line")


async def create(session: AsyncSession, *, org_id: uuid.UUID, spec: RunSpec) -> LeadRun:
    calendar = spec.calendar if spec.calendar.get("enabled") else {"enabled": False}
    if calendar.get("enabled"):
        calendar = {
            "enabled": True,
            "provider": calendar.get("provider") or "sandbox",
            "calendarId": calendar.get("calendarId") or "primary",
            "durationMinutes": int(calendar.get("durationMinutes") or 30),
            "windowDays": int(calendar.get("windowDays") or 5),
            "timeZone": calendar.get("timeZone") or "",
        }
    run = LeadRun(
        id=uuid.uuid4(),
        org_id=org_id,
        icp_id=spec.icp_id,
        source=spec.source,
        lead_limit=spec.limit,
        dry_run=spec.dry_run,
        channels={"email": spec.email_mode, "sms": spec.sms, "call": spec.call},
        calendar=calendar,
        email_subject=spec.subject or DEFAULT_SUBJECT,
        email_body=spec.body or DEFAULT_BODY,
        recent_contact_days=spec.recent_contact_days,
        state=CREATED,
    )
    session.add(run)
    await session.flush()
    return run


async def get(session: AsyncSession, *, org_id: uuid.UUID, run_id: uuid.UUID, lock: bool = False) -> LeadRun:
    query = select(LeadRun).where(LeadRun.id == run_id, LeadRun.org_id == org_id)
    run = (await session.execute(query.with_for_update() if lock else query)).scalar_one_or_none()
    if run is None:
        raise NotFound(f"lead run {run_id} not found")
    return run


async def start(
    session: AsyncSession, *, org_id: uuid.UUID, run_id: uuid.UUID, limits: quotas.Limits, max_attempts: int
) -> tuple[LeadRun, bool]:
    """Admits a created run (quotas, cap) and queues its sourcing; a running run is resumed as it is
    (its queued leads carry on; nothing is charged again). Returns the run and whether it was running."""
    await quotas.lock_org(session, org_id)
    run = await get(session, org_id=org_id, run_id=run_id, lock=True)
    if run.state == RUNNING:
        return run, True
    if run.state != CREATED:
        raise FailedPrecondition(f"the run is {run.state}: only a created run can be started")
    now = finishing.utcnow()
    await quotas.admit(session, org_id=org_id, leads=run.lead_limit, limits=limits, now=now)
    message = jobs_pb2.SourceRunJob(org_id=str(org_id), run_id=str(run.id))
    run.job_id = await jobs.enqueue(
        session, platform_tables, SourceRun, message, org_id=org_id, max_attempts=max_attempts
    )
    run.state, run.started_at, run.leads_charged = RUNNING, now, run.lead_limit
    await session.flush()
    return run, False


async def cancel(session: AsyncSession, *, org_id: uuid.UUID, run_id: uuid.UUID) -> LeadRun:
    """Stops a created or running run: its waiting leads are cancelled (a lead in a worker's hands finishes
    the action it is on; its lease's next write finds the run cancelled and stops)."""
    run = await get(session, org_id=org_id, run_id=run_id, lock=True)
    if run.state in FINISHED:
        raise FailedPrecondition(f"the run is {run.state} already")
    await session.execute(
        update(RunLead)
        .where(RunLead.run_id == run.id, RunLead.status.in_((WAITING, PENDING, LEASED)))
        .values(status=CANCELLED, lease_token=None, lease_expires_at=None, updated_at=func.now())
    )
    await finishing.finish(session, run, CANCELLED, error=None)
    return run


async def page(session: AsyncSession, *, org_id: uuid.UUID, size: int, before: dt.datetime | None) -> list[LeadRun]:
    query = select(LeadRun).where(LeadRun.org_id == org_id)
    if before is not None:
        query = query.where(LeadRun.created_at < before)
    return list((await session.execute(query.order_by(LeadRun.created_at.desc()).limit(size))).scalars())


async def total(session: AsyncSession, *, org_id: uuid.UUID, cap: int = totals.MAX_TOTAL) -> tuple[int, bool]:
    """How many runs the org has, counted up to `cap`, and whether there are more."""
    return await totals.capped_count(session, select(LeadRun.id).where(LeadRun.org_id == org_id), cap)


@dataclass
class Progress:
    total: int = 0
    done: int = 0
    failed: int = 0
    pending: int = 0
    in_flight: int = 0
    stale_recoveries: int = 0
    queue_lag_s: float = 0.0
    booked: int = 0
    no_slot: int = 0
    drafted: int = 0
    sent: int = 0
    simulated: int = 0
    calendar_retries: int = 0
    skipped: int = 0
    failed_actions: int = 0


async def progress(session: AsyncSession, run_ids: list[uuid.UUID]) -> dict[uuid.UUID, Progress]:
    """Each run's counts, from its leads' rows and their receipts: one truth for every screen."""
    found = {run_id: Progress() for run_id in run_ids}
    if not run_ids:
        return found
    now = func.now()
    leads = await session.execute(
        select(
            RunLead.run_id,
            func.count().filter(RunLead.status != SKIPPED),
            func.count().filter(RunLead.status == DONE),
            func.count().filter(RunLead.status == FAILED),
            func.count().filter(RunLead.status.in_((WAITING, PENDING))),
            func.count().filter(RunLead.status == LEASED),
            func.coalesce(func.sum(RunLead.stale_recoveries), 0),
            func.coalesce(
                func.extract(
                    "epoch",
                    now - func.min(case((and_(RunLead.status == PENDING, RunLead.due_at <= now), RunLead.due_at))),
                ),
                0,
            ),
            func.count().filter(RunLead.status == SKIPPED),
        )
        .where(RunLead.run_id.in_(run_ids))
        .group_by(RunLead.run_id)
    )
    for run_id, total, done, failed, pending, in_flight, stale, lag, skipped in leads:
        p = found[run_id]
        p.skipped = skipped
        p.total, p.done, p.failed, p.pending, p.in_flight = total, done, failed, pending, in_flight
        p.stale_recoveries, p.queue_lag_s = int(stale), max(0.0, float(lag))
    later = aliased(Receipt)
    receipts = await session.execute(
        select(
            Receipt.run_id,
            func.count().filter(and_(Receipt.kind == "meeting", Receipt.status == "booked")),
            func.count(func.distinct(Receipt.lead_id)).filter(Receipt.kind == "availability_email"),
            func.count().filter(Receipt.status == "drafted"),
            func.count().filter(and_(Receipt.status == "sent")),
            # What a dry run's actions did; a refused or skipped action is that, dry run or not.
            func.count().filter(Receipt.status == "simulated"),
            func.count().filter(and_(Receipt.kind == "meeting", Receipt.status == "no_slot")),
            # Failed as they last ended: one done again since (a "Try again" that sent it) no longer counts.
            func.count().filter(
                and_(
                    Receipt.status == "failed",
                    ~exists().where(
                        later.run_lead_id == Receipt.run_lead_id,
                        later.kind == Receipt.kind,
                        later.attempt > Receipt.attempt,
                    ),
                )
            ),
        )
        .where(Receipt.run_id.in_(run_ids))
        .group_by(Receipt.run_id)
    )
    for run_id, booked, no_slot, drafted, sent, simulated, retries, failed_actions in receipts:
        p = found[run_id]
        p.failed_actions = failed_actions
        p.booked, p.no_slot, p.drafted, p.sent, p.simulated, p.calendar_retries = (
            booked, no_slot, drafted, sent, simulated, retries,
        )  # fmt: skip
    return found


async def run_leads(
    session: AsyncSession, *, org_id: uuid.UUID, run_id: uuid.UUID, status: str, size: int, after: int
) -> tuple[list[RunLead], dict[uuid.UUID, list[str]]]:
    """A page of the run's leads (best score first) and each one's receipts as "kind:status"."""
    await get(session, org_id=org_id, run_id=run_id)
    query = select(RunLead).where(RunLead.run_id == run_id)
    if status:
        query = query.where(RunLead.status == status)
    rows = list(
        (await session.execute(query.order_by(RunLead.score.desc(), RunLead.id).offset(after).limit(size))).scalars()
    )
    latest = await _latest_outcomes(session, [row.id for row in rows])
    return rows, {row.id: [f"{kind}:{ended}" for kind, ended in latest[row.id].items()] for row in rows}


async def _latest_outcomes(session: AsyncSession, run_lead_ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, str]]:
    """Each lead's actions as they last ended (kind -> status, in the order first done): a failed email tried
    again and sent reads sent; its receipts keep both."""
    latest: dict[uuid.UUID, dict[str, str]] = {run_lead_id: {} for run_lead_id in run_lead_ids}
    if run_lead_ids:
        found = await session.execute(
            select(Receipt.run_lead_id, Receipt.kind, Receipt.status)
            .where(Receipt.run_lead_id.in_(run_lead_ids))
            .order_by(Receipt.attempt, Receipt.created_at)
        )
        for run_lead_id, kind, ended in found:
            latest[run_lead_id][kind] = ended
    return latest


async def retry_lead(
    session: AsyncSession,
    *,
    org_id: uuid.UUID,
    run_id: uuid.UUID,
    lead_id: uuid.UUID,
    limits: quotas.Limits,
    now_as: dict[str, Any] | None = None,
    deleted: bool = False,
) -> tuple[LeadRun, RunLead]:
    """A failed lead (or a done one with an action that failed) back in the queue, its tries afresh, as the lead
    is `now_as` (sourcing.snapshot) when given; its run running again if it had finished (admitted by the
    active-run cap; a second retry finds the lead no longer failed, and a lead `deleted` from the leads service
    cannot be tried again: FailedPrecondition)."""
    await quotas.lock_org(session, org_id)
    run = await get(session, org_id=org_id, run_id=run_id, lock=True)
    lead = (
        await session.execute(
            select(RunLead).where(RunLead.run_id == run.id, RunLead.lead_id == lead_id).with_for_update()
        )
    ).scalar_one_or_none()
    if lead is None:
        raise NotFound(f"lead {lead_id} is not in run {run_id}")
    if lead.status != FAILED and not (
        lead.status == DONE and FAILED in (await _latest_outcomes(session, [lead.id]))[lead.id].values()
    ):
        raise FailedPrecondition(
            f"the lead is {lead.status}: only a failed lead, or a lead with a failed action, can be tried again"
        )
    if run.state == CANCELLED:
        raise FailedPrecondition("the run was cancelled: start a new run for this lead")
    if deleted:
        raise FailedPrecondition("the lead was deleted: it cannot be tried again")
    if run.state != RUNNING:
        # The slot it takes is an active run's: counted as any start is (its leads are charged already).
        await quotas.admit(session, org_id=org_id, leads=0, limits=limits, now=finishing.utcnow())
        run.state, run.finished_at, run.error, run.alerted = RUNNING, None, None, False
    # Its tries afresh, numbered on from those it made (one receipt per action and attempt: a new try's receipts
    # are kept beside the old ones), and what failed in them done again (actions.LeadActions._done).
    # Past every receipt it has: a meeting's are numbered by its calendar tries, the others by its tries.
    numbered = await session.scalar(select(func.max(Receipt.attempt)).where(Receipt.run_lead_id == lead.id))
    lead.earlier_tries = max(lead.earlier_tries + lead.attempts + 1, numbered or 0)
    if now_as is not None:
        lead.lead = now_as
    lead.status, lead.due_at, lead.attempts, lead.stale_recoveries, lead.error = (
        PENDING, finishing.utcnow(), 0, 0, None,
    )  # fmt: skip
    await session.flush()
    return run, lead


async def receipts(session: AsyncSession, *, org_id: uuid.UUID, run_id: uuid.UUID, lead_id: uuid.UUID) -> list[Receipt]:
    await get(session, org_id=org_id, run_id=run_id)
    query = (
        select(Receipt)
        .where(Receipt.run_id == run_id, Receipt.lead_id == lead_id, Receipt.org_id == org_id)
        .order_by(Receipt.created_at, Receipt.attempt)
    )
    return list((await session.execute(query)).scalars())
