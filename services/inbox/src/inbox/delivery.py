"""SendMessage's domain: one message per caller's key, stored with its Message-ID before anything is sent,
charged to its mailbox's daily cap, or deferred with the moment it could go."""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from inbox import emails, sms
from inbox.config import InboxSettings
from inbox.models import (
    EMAIL,
    OUT,
    QUEUED,
    SIMULATED,
    SMS,
    SUPPRESSED,
    LedgerEntry,
    Mailbox,
    Message,
    Suppression,
    Thread,
    platform_tables,
)
from inbox.workers import SendEmail, SendSms
from leadflood.inbox.v1 import jobs_pb2
from leadflood_platform import jobs
from leadflood_platform.errors import FailedPrecondition, FieldViolation, InvalidArgument, NotFound

MAX_KEY, MAX_SUBJECT, MAX_BODY = 200, 998, 1_000_000


@dataclass(frozen=True)
class SendRequest:
    idempotency_key: str
    channel: str
    mailbox_id: uuid.UUID | None
    lead_id: uuid.UUID | None
    to_address: str
    to_name: str
    subject: str
    text_body: str
    html_body: str
    thread_id: uuid.UUID | None
    continue_lead_thread: bool
    not_after: dt.datetime | None
    dry_run: bool
    origin: str


@dataclass(frozen=True)
class Outcome:
    """QUEUED, SUPPRESSED or SIMULATED with the message; or DEFERRED with retry_at and a reason."""

    kind: str
    message: Message | None = None
    retry_at: dt.datetime | None = None
    reason: str = ""
    existing: bool = False
    # QUEUED: when it goes (now: the cap and the spacing allowed it).
    send_at: dt.datetime | None = None


def validate(request: SendRequest) -> SendRequest:
    """The request with its address or number normalised, or INVALID_ARGUMENT naming each bad field."""
    problems: list[FieldViolation] = []
    if not request.idempotency_key.strip() or len(request.idempotency_key) > MAX_KEY:
        problems.append(FieldViolation("idempotency_key", f"required, at most {MAX_KEY} characters"))
    address = request.to_address
    if request.channel == EMAIL:
        try:
            address = validate_email(request.to_address, check_deliverability=False).normalized
        except EmailNotValidError as exc:
            problems.append(FieldViolation("to.email", str(exc)))
    elif request.channel == SMS:
        try:
            address = sms.normalize_phone(request.to_address)
        except InvalidArgument as exc:
            problems += exc.violations
        if len(request.text_body) > sms.MAX_BODY:
            problems.append(FieldViolation("text_body", f"a text is at most {sms.MAX_BODY} characters"))
    else:
        problems.append(FieldViolation("channel", "email or sms"))
    for name, value in (("to.name", request.to_name), ("subject", request.subject)):
        if emails.has_line_break(value):
            problems.append(FieldViolation(name, "must not contain line breaks"))
    if len(request.subject) > MAX_SUBJECT:
        problems.append(FieldViolation("subject", f"at most {MAX_SUBJECT} characters"))
    if not request.text_body.strip():
        problems.append(FieldViolation("text_body", "required"))
    if len(request.text_body) + len(request.html_body) > MAX_BODY:
        problems.append(FieldViolation("text_body", f"the bodies together are at most {MAX_BODY} characters"))
    if problems:
        raise InvalidArgument("the message cannot be sent as given", problems)
    return SendRequest(**{**request.__dict__, "to_address": address})


async def send(
    *, session: AsyncSession, org_id: uuid.UUID, request: SendRequest, settings: InboxSettings, now: dt.datetime
) -> Outcome:
    """Store and queue the message, or say why not; the same key again is the same message."""
    request = validate(request)
    # Callers of the same key take turns: the second finds the first's message.
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": f"{org_id}:{request.idempotency_key}"}
    )
    existing = await session.scalar(
        select(Message).where(Message.org_id == org_id, Message.idempotency_key == request.idempotency_key)
    )
    if existing is not None:
        return Outcome(_outcome_of(existing.status), existing, existing=True)
    # A text goes out through the SMS provider (its number), an email through a mailbox of the org.
    mailbox = await _mailbox(session, org_id, request.mailbox_id, settings) if request.channel == EMAIL else None
    if request.not_after is not None and request.not_after <= now:
        return Outcome("deferred", reason=f"the sending window closed at {request.not_after.isoformat()}")
    thread = await _thread(session, org_id, request)
    suppressed = await session.get(Suppression, (org_id, request.to_address.lower()))
    if suppressed is not None:
        message = await _store(
            session,
            org_id,
            request,
            mailbox,
            thread,
            status=SUPPRESSED,
            error=suppressed.reason,
            sender=settings.twilio_from or "",
        )
        return Outcome("suppressed", message, reason=f"{request.to_address} is suppressed: {suppressed.reason}")
    if request.dry_run:
        return Outcome(
            "simulated",
            await _store(
                session, org_id, request, mailbox, thread, status=SIMULATED, sender=settings.twilio_from or ""
            ),
        )
    if mailbox is None:
        message = await _store(session, org_id, request, None, thread, status=QUEUED, sender=settings.twilio_from or "")
        sms_job = jobs_pb2.SendSmsJob(org_id=str(org_id), message_id=str(message.id))
        await jobs.enqueue(
            session, platform_tables, SendSms, sms_job, org_id=org_id, max_attempts=settings.job_max_attempts
        )
        return Outcome("queued", message, send_at=now)
    deferred = await _charge_check(session, mailbox, request, now)
    if deferred is not None:
        return deferred
    message = await _store(session, org_id, request, mailbox, thread, status=QUEUED)
    local_day = now.astimezone(zoneinfo.ZoneInfo(mailbox.time_zone)).date()
    session.add(LedgerEntry(org_id=org_id, mailbox_id=mailbox.id, message_id=message.id, local_day=local_day))
    job = jobs_pb2.SendEmailJob(org_id=str(org_id), message_id=str(message.id))
    await jobs.enqueue(session, platform_tables, SendEmail, job, org_id=org_id, max_attempts=settings.job_max_attempts)
    return Outcome("queued", message, send_at=now)


def _outcome_of(status: str) -> str:
    return {SUPPRESSED: "suppressed", SIMULATED: "simulated"}.get(status, "queued")


async def _charge_check(
    session: AsyncSession, mailbox: Mailbox, request: SendRequest, now: dt.datetime
) -> Outcome | None:
    """None when the mailbox may send now; else DEFERRED with when it could (its row locked meanwhile,
    so two senders at once count each other's charges and never exceed the cap)."""
    await session.execute(select(Mailbox.id).where(Mailbox.id == mailbox.id).with_for_update())
    zone = zoneinfo.ZoneInfo(mailbox.time_zone)
    local_now = now.astimezone(zone)
    charged = (
        await session.execute(
            select(func.count(), func.max(LedgerEntry.charged_at)).where(
                LedgerEntry.mailbox_id == mailbox.id,
                LedgerEntry.local_day == local_now.date(),
                LedgerEntry.released.is_(False),
            )
        )
    ).one()
    count, last = charged
    retry_at, reason = None, ""
    if count >= mailbox.daily_cap:
        midnight = dt.datetime.combine(local_now.date() + dt.timedelta(days=1), dt.time(), tzinfo=zone)
        retry_at = midnight.astimezone(dt.UTC)
        reason = (
            f"the daily cap of {mailbox.daily_cap} of {mailbox.from_address} is reached until {retry_at.isoformat()}"
        )
    elif last is not None and mailbox.min_spacing_s and last + dt.timedelta(seconds=mailbox.min_spacing_s) > now:
        retry_at = last + dt.timedelta(seconds=mailbox.min_spacing_s)
        reason = f"{mailbox.from_address} sends at most one message every {mailbox.min_spacing_s} s"
    if retry_at is None:
        return None
    if request.not_after is not None and retry_at > request.not_after:
        reason += "; that is after the sending window closes"
    return Outcome("deferred", retry_at=retry_at, reason=reason)


async def _mailbox(
    session: AsyncSession, org_id: uuid.UUID, mailbox_id: uuid.UUID | None, settings: InboxSettings
) -> Mailbox:
    if mailbox_id is not None:
        mailbox = await session.scalar(select(Mailbox).where(Mailbox.org_id == org_id, Mailbox.id == mailbox_id))
        if mailbox is None:
            raise NotFound(f"mailbox {mailbox_id} not found")
        return mailbox
    mailbox = await session.scalar(select(Mailbox).where(Mailbox.org_id == org_id, Mailbox.is_default))
    if mailbox is None and settings.smtp_capture_port:
        mailbox = await _local_default_mailbox(session, org_id, settings)
    if mailbox is None:
        raise FailedPrecondition("the org has no mailbox to send from: add one in settings (/v1/mailboxes)")
    return mailbox


async def _local_default_mailbox(session: AsyncSession, org_id: uuid.UUID, settings: InboxSettings) -> Mailbox:
    """The local default: every org sends from one mailbox into the captured mail."""
    await session.execute(
        insert(Mailbox)
        .values(
            id=uuid.uuid4(), org_id=org_id, from_address=settings.default_mailbox_from,
            from_name=settings.default_mailbox_name, smtp_host=settings.smtp_capture_host,
            smtp_port=settings.smtp_capture_port, smtp_starttls=False, smtp_username="", smtp_password_ref="",
            daily_cap=settings.default_mailbox_daily_cap, min_spacing_s=0, time_zone="UTC", is_default=True,
        )
        .on_conflict_do_nothing()
    )  # fmt: skip
    return (await session.scalars(select(Mailbox).where(Mailbox.org_id == org_id, Mailbox.is_default))).one()


async def _thread(session: AsyncSession, org_id: uuid.UUID, request: SendRequest) -> Thread:
    if request.thread_id is not None:
        thread = await session.scalar(select(Thread).where(Thread.org_id == org_id, Thread.id == request.thread_id))
        if thread is None:
            raise NotFound(f"thread {request.thread_id} not found")
        return thread
    if request.continue_lead_thread and request.lead_id is not None:
        thread = await session.scalar(
            select(Thread)
            .where(Thread.org_id == org_id, Thread.lead_id == request.lead_id, Thread.channel == request.channel)
            .order_by(Thread.created_at.desc())
            .limit(1)
        )
        if thread is not None:
            return thread
    thread = Thread(
        id=uuid.uuid4(), org_id=org_id, lead_id=request.lead_id, channel=request.channel, subject=request.subject,
        needs_reply=False, unread=False, archived=False,
    )  # fmt: skip
    session.add(thread)
    await session.flush()
    return thread


async def _store(
    session: AsyncSession,
    org_id: uuid.UUID,
    request: SendRequest,
    mailbox: Mailbox | None,
    thread: Thread,
    *,
    status: str,
    error: str | None = None,
    sender: str = "",
) -> Message:
    """The message; an email with its Message-ID, threaded under the thread's latest message."""
    parent = None
    if mailbox is not None:
        parent = await session.scalar(
            select(Message)
            .where(Message.thread_id == thread.id, Message.rfc822_message_id.is_not(None))
            .order_by(Message.created_at.desc())
            .limit(1)
        )
    message = Message(
        id=uuid.uuid4(),
        org_id=org_id,
        thread_id=thread.id,
        lead_id=request.lead_id,
        channel=request.channel,
        direction=OUT,
        status=status,
        mailbox_id=mailbox.id if mailbox else None,
        from_address=mailbox.from_address if mailbox else sender,
        to_address=request.to_address,
        to_name=request.to_name,
        subject=request.subject,
        text_body=request.text_body,
        html_body=request.html_body,
        rfc822_message_id=emails.new_message_id(mailbox.from_address) if mailbox else None,
        in_reply_to=parent.rfc822_message_id if parent else None,
        references=emails.threaded_references(parent.references, parent.rfc822_message_id) if parent else [],
        idempotency_key=request.idempotency_key,
        origin=request.origin,
        not_after=request.not_after,
        error=error,
    )
    session.add(message)
    # Whatever was sent last answers the thread: it no longer waits for a reply from us.
    thread.last_message_at, thread.needs_reply = func.now(), False
    await session.flush()
    return message
