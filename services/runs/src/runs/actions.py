"""A lead's actions in a run, in order: book a meeting, send or draft the email (or, with no slot after the
last try, draft an availability request), text, make a call task. Each writes a receipt.

The call task is made in the sequences service, which owns call tasks (DESIGN.md, "Who owns what"), so it is
listed under Tasks with the sequences' own: one list of the calls a user has to make.

Before its first action a lead is checked again (runs.contacts): one enrolled in a sequence, or in a conversation,
since sourcing is skipped, with a receipt saying why. A lead coming back after a fault is checked for sequences
only: the conversation it is in may be the one its own email started before the fault.

Resumable: an action whose final receipt exists is not done again, and every side effect is keyed
(the mail room's and the task list's idempotency key `runs:<run>:<lead>:<action>`, the calendar event's id
from the same key), so a lead redone after its worker died sends nothing twice. Every write checks the lead's lease
(`leases.hold`): a worker that lost it stops without writing.

A transient fault (a peer away, a deadline) puts the lead back in the queue with a backoff; a refusal
fails that action alone (its receipt says why) and the others go on. A dry run does everything but
the side effects: the slot is chosen, not booked; the mail room renders and records the messages as
simulated, sending nothing; the receipts say simulated.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import grpc
from grpc_status import rpc_status
from sqlalchemy import func, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.inbox.v1 import delivery_pb2, delivery_pb2_grpc
from leadflood.runs.v1 import events_pb2
from leadflood.sequences.v1 import sequences_pb2, sequences_pb2_grpc
from leadflood_platform import outbox, templates
from leadflood_platform.db import Database
from leadflood_platform.errors import field_violations
from leadflood_platform.jobs import is_transient
from runs import finishing, leases, sourcing
from runs.calendar import Booking, CalendarProvider, SlotSearch
from runs.contacts import Contacts
from runs.models import (
    CANCELLED,
    COMPLETED,
    DONE,
    FAILED,
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

log = logging.getLogger(__name__)

MEETING, EMAIL, AVAILABILITY, SMS, CALL = "meeting", "email", "availability_email", "sms", "call_task"
# A receipt in one of these ends its action: a redo skips it. `no_slot` and `retrying` do not.
FINAL = {"booked", "sent", "drafted", "suppressed", "skipped", "failed", "created", "simulated"}
SMS_TEXT = (
    "Hi {{ lead.firstName | default('there') }}, a quick note about {{ lead.companyName | default('your team') }}: "
    "I just sent you an email. Reply STOP to opt out."
)
AVAILABILITY_SUBJECT = "Finding a time to talk"
AVAILABILITY_BODY = (
    "Hi {{ lead.firstName | default('there') }},\n\n"
    "I'd like to find 30 minutes to talk about {{ lead.companyName | default('your team') }}, but my calendar "
    "has no free time in the next few days. Which times suit you over the next two weeks?\n"
)
SEND_STATUS = {
    delivery_pb2.SEND_OUTCOME_QUEUED: "sent",
    delivery_pb2.SEND_OUTCOME_SUPPRESSED: "suppressed",
    delivery_pb2.SEND_OUTCOME_SIMULATED: "simulated",
    delivery_pb2.SEND_OUTCOME_DRAFTED: "drafted",
}


@dataclass(frozen=True)
class Step:
    """What an action did: its receipt's fields."""

    status: str = ""
    target: str = ""
    detail: str = ""
    error: str | None = None
    # A meeting's times, or the span a slot search looked in: kept as times, never as text in `detail`.
    starts_at: dt.datetime | None = None
    ends_at: dt.datetime | None = None


class Later(Exception):
    """The lead comes back at `at` (a deferral, a calendar retry, a transient fault)."""

    def __init__(self, at: dt.datetime, reason: str, *, fault: bool) -> None:
        super().__init__(reason)
        self.at, self.reason, self.fault = at, reason, fault


@dataclass(frozen=True)
class Policy:
    calendar_max_attempts: int
    calendar_backoff_ms: int
    lead_max_attempts: int
    # A run's leads in the queue at once (pending or held): LEAD_RUNS_BATCH_SIZE.
    window: int = 20
    retry_backoff_s: float = 5.0
    call_timeout_s: float = 10.0


def key(claimed: leases.Claimed, action: str) -> str:
    return f"runs:{claimed.run_id}:{claimed.lead_id}:{action}"


def lead_fields(lead: dict[str, Any]) -> templates.LeadFields:
    return templates.LeadFields(
        email=lead.get("email", ""), first_name=lead.get("firstName", ""), last_name=lead.get("lastName", ""),
        company_name=lead.get("companyName", ""), title=lead.get("title", ""),
        company_domain=lead.get("companyDomain", ""), industry=lead.get("industry", ""),
        location=lead.get("location", ""), seniority=lead.get("seniority", ""),
        linkedin_url=lead.get("linkedinUrl", ""), time_zone=lead.get("timeZone", ""),
    )  # fmt: skip


def full_name(lead: dict[str, Any]) -> str:
    return " ".join(part for part in (lead.get("firstName", ""), lead.get("lastName", "")) if part).strip()


@dataclass(frozen=True)
class RunPlan:
    """What a lead's actions need of its run (read once per run and kept briefly: a cancel is seen at the
    lead's settling write, which finds its lease gone)."""

    id: uuid.UUID
    state: str
    dry_run: bool
    channels: dict[str, Any]
    calendar: dict[str, Any]
    email_subject: str
    email_body: str
    recent_contact_days: int


@dataclass
class Journal:
    """What one visit to a lead did, written in one transaction when the visit ends (`_settle`)."""

    receipts: list[dict[str, Any]] = field(default_factory=list)
    meeting: dict[str, Any] | None = None
    booked: Booking | None = None
    calendar_attempts: int | None = None


class LeadActions:
    def __init__(
        self,
        *,
        db: Database,
        delivery: delivery_pb2_grpc.DeliveryServiceStub,
        tasks: sequences_pb2_grpc.SequencesServiceStub,
        contacts: Contacts,
        calendar_for: Callable[[str], CalendarProvider],
        policy: Policy,
        plan_ttl_s: float = 2.0,
    ) -> None:
        self.db, self.delivery, self.tasks, self.calendar_for, self.policy = db, delivery, tasks, calendar_for, policy
        self.contacts = contacts
        self.plan_ttl_s = plan_ttl_s
        self._plans: dict[uuid.UUID, tuple[float, RunPlan]] = {}

    async def work(self, claimed: leases.Claimed) -> str:
        """Does what is left of the lead's actions; returns how the lead ended this time (done, failed, later,
        cancelled). Raises LeaseLost if its lease went meanwhile (nothing of this visit is written then)."""
        run = await self._plan(claimed.run_id)
        journal = Journal()
        if run.state != RUNNING:
            status = FAILED if run.state == FAILED else CANCELLED
            await self._settle(claimed, journal, status=status, error=f"the run is {run.state}")
            return status
        tries = claimed.attempts + claimed.stale_recoveries
        if tries >= self.policy.lead_max_attempts:
            error = f"gave up after {tries} tries (faults and lost leases)"
            await self._settle(claimed, journal, status=FAILED, error=error)
            return FAILED
        try:
            done = await self._done(claimed)
            if not done and await self._left_out(run, claimed, journal):
                await self._settle(claimed, journal, status=SKIPPED, error=journal.receipts[-1]["detail"])
                return SKIPPED
            await self._actions(run, claimed, done, journal)
        except Later as later:
            if later.fault and tries + 1 >= self.policy.lead_max_attempts:  # that was its last try
                error = f"gave up after {tries + 1} tries: {later.reason}"
                await self._settle(claimed, journal, status=FAILED, error=error)
                return FAILED
            await self._settle(claimed, journal, status=PENDING, later=later)
            log.info("lead comes back later", extra={"lead_id": str(claimed.lead_id), "reason": later.reason})
            return "later"
        return await self._settle(claimed, journal, status=DONE, error=None)

    async def _plan(self, run_id: uuid.UUID) -> RunPlan:
        kept = self._plans.get(run_id)
        if kept and time.monotonic() - kept[0] < self.plan_ttl_s:
            return kept[1]
        async with self.db.transaction() as session:
            run = (await session.execute(select(LeadRun).where(LeadRun.id == run_id))).scalar_one()
            plan = RunPlan(
                id=run.id, state=run.state, dry_run=run.dry_run, channels=dict(run.channels),
                calendar=dict(run.calendar), email_subject=run.email_subject, email_body=run.email_body,
                recent_contact_days=run.recent_contact_days,
            )  # fmt: skip
        if len(self._plans) > 1000:
            self._plans.clear()
        self._plans[run_id] = (time.monotonic(), plan)
        return plan

    async def _done(self, claimed: leases.Claimed) -> set[str]:
        """The actions a previous visit finished (none for a lead visited for the first time: a visit that wrote
        receipts left a trace on the lead, its tries, its calendar attempts or its meeting). An action that failed
        before the latest "Try again" is not finished: it is done again."""
        if not (
            claimed.attempts
            or claimed.stale_recoveries
            or claimed.calendar_attempts
            or claimed.meeting
            or claimed.earlier_tries
        ):
            return set()
        async with self.db.transaction() as session:
            query = select(Receipt.kind).where(
                Receipt.run_lead_id == claimed.id,
                Receipt.status.in_(FINAL),
                or_(Receipt.status != FAILED, Receipt.attempt > claimed.earlier_tries),
            )
            return set((await session.execute(query)).scalars())

    async def _left_out(self, run: RunPlan, claimed: leases.Claimed, journal: Journal) -> bool:
        """Whether the org started talking to the lead since sourcing (noted in a receipt saying why)."""
        # Back after a fault or a "Try again", a conversation may be its own email's: only sequences are checked.
        first_try = not (claimed.attempts or claimed.stale_recoveries or claimed.earlier_tries)
        try:
            why = await self.contacts.lately(
                claimed.lead_id, run.recent_contact_days, now=finishing.utcnow(), conversations=first_try
            )
        except grpc.aio.AioRpcError as error:
            # Never a send on a guess: the lead waits until it can be checked (and fails if it never can).
            raise Later(self._backoff(claimed), f"checking the lead's sequences and conversations: {error.details()}",
                        fault=True) from None  # fmt: skip
        if why is None:
            return False
        self._note(journal, claimed, run, sourcing.CONTACT_CHECK, Step(status=SKIPPED, detail=why), 0)
        return True

    async def _actions(self, run: RunPlan, claimed: leases.Claimed, done: set[str], journal: Journal) -> None:
        meeting = claimed.meeting
        no_slot = False
        if run.calendar.get("enabled") and MEETING not in done:
            if claimed.calendar_attempts >= self.policy.calendar_max_attempts:
                no_slot = True
            else:
                meeting = await self._meeting(run, claimed, journal)
                no_slot = meeting is None and claimed.calendar_attempts + 1 >= self.policy.calendar_max_attempts
        if no_slot:
            if AVAILABILITY not in done:
                await self._email(run, claimed, journal, AVAILABILITY, meeting=None)
        elif run.channels.get("email", "send") != "off" and EMAIL not in done:
            await self._email(run, claimed, journal, EMAIL, meeting=meeting)
        if run.channels.get("sms") and SMS not in done:
            await self._sms(run, claimed, journal)
        if run.channels.get("call") and CALL not in done:
            await self._call_task(run, claimed, journal)

    # The meeting: slot search and booking in one step, retried with backoff and a wider window.

    async def _meeting(self, run: RunPlan, claimed: leases.Claimed, journal: Journal) -> dict[str, Any] | None:
        options, attempt = run.calendar, claimed.calendar_attempts + 1
        now = finishing.utcnow()
        search = SlotSearch(
            calendar_id=options.get("calendarId") or "primary",
            earliest=now + dt.timedelta(hours=1),
            # Each try looks further ahead: the window grows by its own length.
            latest=now + dt.timedelta(days=int(options.get("windowDays") or 5) * attempt),
            duration=dt.timedelta(minutes=int(options.get("durationMinutes") or 30)),
            time_zone=options.get("timeZone") or claimed.lead.get("timeZone") or "UTC",
        )
        provider = self.calendar_for(options.get("provider") or "sandbox")
        started = time.monotonic()
        try:
            if run.dry_run:
                slot = await provider.find_slot(search)
                booking = Booking(event_id="", link="", start=slot.start, end=slot.end) if slot else None
            else:
                booking = await provider.book(
                    search, key=key(claimed, MEETING), attendee_email=claimed.lead.get("email", ""),
                    attendee_name=full_name(claimed.lead),
                    summary=f"Intro call with {full_name(claimed.lead) or 'you'}",
                    description=f"Booked by Lead Flood lead run {claimed.run_id}.",
                )  # fmt: skip
        except Exception as error:
            if is_transient(error):
                raise Later(self._backoff(claimed), f"calendar: {error}", fault=True) from None
            self._note(journal, claimed, run, MEETING, Step(status="failed", error=str(error)), _ms(started))
            return None
        latency = _ms(started)
        if booking is None:
            minutes = int(search.duration.total_seconds() // 60)
            step = Step(status="no_slot", detail=f"no free {minutes}-minute slot", starts_at=search.earliest,
                        ends_at=search.latest)  # fmt: skip
            self._note(journal, claimed, run, MEETING, step, latency, claimed.earlier_tries + attempt)
            journal.calendar_attempts = attempt
            if attempt < self.policy.calendar_max_attempts:
                wait = dt.timedelta(milliseconds=self.policy.calendar_backoff_ms * 2 ** (attempt - 1))
                raise Later(finishing.utcnow() + wait, "no free slot yet", fault=False)
            return None
        journal.meeting = {"start": booking.start.isoformat(), "end": booking.end.isoformat(),
                           "link": booking.link, "eventId": booking.event_id}  # fmt: skip
        journal.booked = None if run.dry_run else booking
        step = Step(status="simulated" if run.dry_run else "booked", target=booking.link, starts_at=booking.start,
                    ends_at=booking.end)  # fmt: skip
        self._note(journal, claimed, run, MEETING, step, latency, claimed.earlier_tries + attempt)
        return journal.meeting

    # Email and SMS, through the mail room.

    async def _email(
        self, run: RunPlan, claimed: leases.Claimed, journal: Journal, action: str, *, meeting: dict[str, Any] | None
    ) -> None:
        email = claimed.lead.get("email", "")
        if not email:
            self._note(journal, claimed, run, action, Step(status="skipped", detail="the lead has no email address"), 0)
            return
        fields = lead_fields(claimed.lead)
        if action == AVAILABILITY:
            subject, body, draft = AVAILABILITY_SUBJECT, templates.render(AVAILABILITY_BODY, fields), True
        else:
            subject = templates.render(run.email_subject, fields)
            body = templates.render(run.email_body, fields) + _meeting_line(meeting)
            draft = run.channels.get("email") == "draft"
        request = delivery_pb2.SendMessageRequest(
            idempotency_key=key(claimed, action), channel=delivery_pb2.CHANNEL_EMAIL,
            to=delivery_pb2.Recipient(lead_id=str(claimed.lead_id), email=email, name=full_name(claimed.lead)),
            subject=subject, text_body=body, continue_lead_thread=True, dry_run=run.dry_run,
            draft=draft and not run.dry_run, origin="runs",
        )  # fmt: skip
        await self._send(run, claimed, journal, action, request)

    async def _sms(self, run: RunPlan, claimed: leases.Claimed, journal: Journal) -> None:
        phone = claimed.lead.get("phone", "")
        if not phone:
            self._note(journal, claimed, run, SMS, Step(status="skipped", detail="the lead has no phone number"), 0)
            return
        request = delivery_pb2.SendMessageRequest(
            idempotency_key=key(claimed, SMS), channel=delivery_pb2.CHANNEL_SMS,
            to=delivery_pb2.Recipient(lead_id=str(claimed.lead_id), phone=phone, name=full_name(claimed.lead)),
            text_body=templates.render(SMS_TEXT, lead_fields(claimed.lead)), dry_run=run.dry_run, origin="runs",
        )  # fmt: skip
        await self._send(run, claimed, journal, SMS, request)

    async def _send(
        self,
        run: RunPlan,
        claimed: leases.Claimed,
        journal: Journal,
        action: str,
        request: delivery_pb2.SendMessageRequest,
    ) -> None:
        started = time.monotonic()
        try:
            reply = await self.delivery.SendMessage(request, timeout=self.policy.call_timeout_s)
        except grpc.aio.AioRpcError as error:
            if is_transient(error):
                raise Later(self._backoff(claimed), f"mail room: {error.details()}", fault=True) from None
            step = Step(status="failed", error=refusal(error))
            self._note(journal, claimed, run, action, step, _ms(started))
            return
        if reply.outcome == delivery_pb2.SEND_OUTCOME_DEFERRED:
            # The mailbox's cap or spacing: not a fault, the same key goes again when the mail room said.
            raise Later(reply.retry_at.ToDatetime(tzinfo=dt.UTC), reply.reason, fault=False)
        status = SEND_STATUS.get(reply.outcome, "failed")
        detail = reply.reason or ("already handed over (same key)" if reply.existing else "")
        self._note(journal, claimed, run, action, Step(status=status, target=reply.message_id, detail=detail),
                   _ms(started))  # fmt: skip

    # The call task, in the sequences service's task list.

    async def _call_task(self, run: RunPlan, claimed: leases.Claimed, journal: Journal) -> None:
        """The receipt's target is the task's id, its detail what the task asks (a dry run makes no task)."""
        phone = claimed.lead.get("phone", "")
        if not phone:  # a call nobody can make is not a task
            self._note(journal, claimed, run, CALL, Step(status="skipped", detail="the lead has no phone number"), 0)
            return
        name = full_name(claimed.lead) or claimed.lead.get("email") or "the lead"
        company = claimed.lead.get("companyName") or "their company"
        title = f"Call {name} at {company} ({phone})"
        if run.dry_run:
            self._note(journal, claimed, run, CALL, Step(status="simulated", detail=title), 0)
            return
        request = sequences_pb2.CreateTaskRequest(
            idempotency_key=key(claimed, CALL), lead_id=str(claimed.lead_id), title=title, run_id=str(claimed.run_id)
        )
        started = time.monotonic()
        try:
            reply = await self.tasks.CreateTask(request, timeout=self.policy.call_timeout_s)
        except grpc.aio.AioRpcError as error:
            if is_transient(error):
                raise Later(self._backoff(claimed), f"task list: {error.details()}", fault=True) from None
            step = Step(status="failed", error=f"the task list refused it: {error.details()}")
            self._note(journal, claimed, run, CALL, step, _ms(started))
            return
        step = Step(status="created", target=reply.task.id, detail=title)
        self._note(journal, claimed, run, CALL, step, _ms(started))

    # The visit's one write, under the lead's lease.

    def _note(
        self,
        journal: Journal,
        claimed: leases.Claimed,
        run: RunPlan,
        action: str,
        step: Step,
        latency_ms: int,
        attempt: int | None = None,
    ) -> None:
        journal.receipts.append(
            dict(
                id=uuid.uuid4(),
                run_lead_id=claimed.id,
                run_id=claimed.run_id,
                org_id=claimed.org_id,
                lead_id=claimed.lead_id,
                kind=action,
                status=step.status,
                target=step.target[:2000],
                detail=step.detail[:2000],
                latency_ms=latency_ms,
                error=step.error,
                simulated=run.dry_run,
                attempt=attempt if attempt is not None else claimed.attempt,
                starts_at=step.starts_at,
                ends_at=step.ends_at,
            )  # fmt: skip
        )

    async def _settle(
        self,
        claimed: leases.Claimed,
        journal: Journal,
        *,
        status: str,
        error: str | None = None,
        later: Later | None = None,
    ) -> str:
        """The visit's receipts, the lead's new state (ended, or back in the queue at `later.at`), the meeting
        announced, the run's next lead released and the run finished if this was its last: one transaction."""
        async with self.db.transaction() as session:
            # The run's row first, as sourcing's `record` takes it: every transaction that writes a run's leads and
            # then its run takes the two in one order, so two leads of one run settling together (or settling while
            # sourcing records) wait for each other rather than deadlock on the run's row in finish_if_drained.
            await session.execute(select(LeadRun.id).where(LeadRun.id == claimed.run_id).with_for_update())
            lead = await leases.hold(session, claimed)
            if journal.receipts:
                await session.execute(insert(Receipt).values(journal.receipts).on_conflict_do_nothing())
            if journal.meeting is not None:
                lead.meeting = journal.meeting
            if journal.calendar_attempts is not None:
                lead.calendar_attempts = journal.calendar_attempts
            if journal.booked is not None:
                await _announce_meeting(session, claimed, journal.booked)
            if status == DONE and (why := await _every_action_failed(session, claimed.id)):
                status, error = FAILED, why
            lead.status, lead.lease_token, lead.lease_expires_at, lead.leased_by = status, None, None, None
            if later is not None:
                lead.due_at = later.at
                if later.fault:
                    lead.attempts += 1
                    lead.error = later.reason
            else:
                lead.error = error
            await session.flush()
            await finishing.progressed(
                session, org_id=claimed.org_id, run_id=claimed.run_id, lead_id=str(claimed.lead_id), status=status
            )
            await sourcing.release(session, claimed.run_id, window=self.policy.window)
            if later is None:
                await finish_if_drained(session, claimed.run_id)
        return status

    def _backoff(self, claimed: leases.Claimed) -> dt.datetime:
        wait = self.policy.retry_backoff_s * 2 ** min(claimed.attempts, 6)
        return finishing.utcnow() + dt.timedelta(seconds=wait)


async def finish_if_drained(session: AsyncSession, run_id: uuid.UUID) -> None:
    """Completes (or fails, when every lead failed) a sourced, running run none of whose leads is left.
    The run's row lock orders two workers ending its last two leads at once: the second sees the first."""
    run = (await session.execute(select(LeadRun).where(LeadRun.id == run_id).with_for_update())).scalar_one()
    if run.state != RUNNING or run.sourced_at is None:
        return
    left, failed, total = (
        await session.execute(
            select(
                func.count().filter(RunLead.status.in_((WAITING, PENDING, LEASED))),
                func.count().filter(RunLead.status == FAILED),
                func.count().filter(RunLead.status != SKIPPED),
            ).where(RunLead.run_id == run_id)
        )
    ).one()
    if left:
        return
    if total and failed == total:
        await finishing.finish(
            session, run, FAILED, error="its one lead failed" if total == 1 else f"all {total} leads failed"
        )
    else:
        await finishing.finish(session, run, COMPLETED, error=None)


async def _every_action_failed(session: AsyncSession, run_lead_id: uuid.UUID) -> str | None:
    """Why the lead failed when every action it ended failed (a run whose every email the mail room refused is
    a failed run, not a finished one), else None."""
    query = select(Receipt.status, Receipt.error).where(Receipt.run_lead_id == run_lead_id, Receipt.status.in_(FINAL))
    ended = (await session.execute(query.order_by(Receipt.created_at.desc()))).all()  # the latest's reason
    if not ended or any(status != FAILED for status, _ in ended):
        return None
    return f"every action failed: {ended[0].error or 'no reason given'}"


async def _announce_meeting(session: AsyncSession, claimed: leases.Claimed, booking: Booking) -> None:
    """runs.meeting.booked, in the receipt's transaction: the lead's sequences stop."""
    event = events_pb2.MeetingBooked(
        event_id=str(uuid.uuid4()), org_id=str(claimed.org_id), lead_id=str(claimed.lead_id),
        meeting_id=booking.event_id, run_id=str(claimed.run_id), link=booking.link,
    )  # fmt: skip
    event.starts_at.FromDatetime(booking.start)
    await outbox.enqueue(session, platform_tables, subject="runs.meeting.booked", message=event, msg_id=event.event_id)


def _meeting_line(meeting: dict[str, Any] | None) -> str:
    if not meeting:
        return ""
    start = dt.datetime.fromisoformat(meeting["start"])
    link = f": {meeting['link']}" if meeting.get("link") else ""
    return f"\nI've put a call on our calendars for {start:%A %d %B at %H:%M} UTC{link}\n"


# The mail room's field names, as a reader of a receipt knows them.
FIELD_WORDS = {"subject": "the subject", "text_body": "the body", "to.email": "the email address",
               "to.phone": "the phone number", "to.name": "the lead's name"}  # fmt: skip


def refusal(error: grpc.aio.AioRpcError) -> str:
    """The mail room's refusal in words: each field it found at fault and why (its status's BadRequest), else
    its summary."""
    violations = field_violations(rpc_status.from_call(error))
    if not violations:
        return f"the mail room refused it: {error.details()}"
    said = "; ".join(f"{FIELD_WORDS.get(v.field, v.field)}: {v.message}" for v in violations)
    return f"the mail room refused {said}"


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
