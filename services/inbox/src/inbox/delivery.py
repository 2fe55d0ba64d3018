"""SendMessage's domain: one message per caller's key, stored with its Message-ID before anything is sent,
charged to its mailbox's daily cap, or deferred with the moment it could go."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import uuid
import zoneinfo
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg
from email_validator import EmailNotValidError
from google.protobuf.json_format import MessageToDict
from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from inbox import emails, events, sms
from inbox.config import InboxSettings
from inbox.models import (
    DRAFT,
    EMAIL,
    OUT,
    QUEUED,
    SENDING,
    SENT,
    SIMULATED,
    SMS,
    SUPPRESSED,
    SYSTEM_ORIGINS,
    LedgerEntry,
    Mailbox,
    Message,
    Suppression,
    Thread,
    platform_tables,
)
from inbox.workers import SendReply, SendSms, send_kind
from leadflood.inbox.v1 import jobs_pb2
from leadflood_platform import addresses, jobs, phones, tracing
from leadflood_platform.errors import DomainError, FailedPrecondition, FieldViolation, InvalidArgument, NotFound
from leadflood_platform.jobs import JobKind

MAX_KEY, MAX_SUBJECT, MAX_BODY = 200, 998, 1_000_000
# SendMessages: requests in one call (one transaction, its locks held to its end).
MAX_BATCH = 500
# A statement's target: the servicer's bare connection (db.driver) or, from the ORM path and tests, a session.
Into = AsyncSession | asyncpg.Connection


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
    # Stored as a draft, never sent (delivery.proto's `draft`).
    draft: bool = False


@dataclass(frozen=True)
class Outcome:
    """QUEUED, SUPPRESSED, SIMULATED or DRAFTED with the message; or DEFERRED with retry_at and a reason."""

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
            address = addresses.normalized(request.to_address)
        except EmailNotValidError as exc:
            problems.append(FieldViolation("to.email", str(exc)))
    elif request.channel == SMS:
        try:
            address = phones.normalised(request.to_address, field="to.phone")
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
    if request.draft and request.dry_run:
        problems.append(FieldViolation("draft", "a draft is never sent: dry_run cannot be set with it"))
    if is_system_mail(request):  # in no thread: nothing to continue, nowhere to keep a draft
        threaded = {"thread_id": request.thread_id, "continue_lead_thread": request.continue_lead_thread,
                    "draft": request.draft}  # fmt: skip
        problems += [
            FieldViolation(name, f"{request.origin} mail is in no thread: leave it out")
            for name, given in threaded.items()
            if given
        ]
    if problems:
        raise InvalidArgument("the message cannot be sent as given", problems)
    return SendRequest(**{**request.__dict__, "to_address": address})


async def send(
    *, session: AsyncSession, org_id: uuid.UUID, request: SendRequest, settings: InboxSettings, now: dt.datetime
) -> Outcome:
    """Store and queue the message, or say why not; the same key again is the same message."""
    request = validate(request)
    if is_plain_email(request):
        return await send_email(into=session, org_id=org_id, request=request, settings=settings, now=now)
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
    # A text's sender is the deployment's number (or Messaging Service): what a text back is matched by.
    sender = sms.sender_of(settings.twilio_from or "")
    if _window_closed(request, now):
        return Outcome("deferred", reason=f"the sending window closed at {request.not_after.isoformat()}")
    thread = None if in_no_thread(request) else await _thread(session, org_id, request)
    suppressed = await session.get(Suppression, (org_id, request.to_address.lower()))
    if suppressed is not None:
        message = await _store(
            session, org_id, request, mailbox, thread, status=SUPPRESSED, error=suppressed.reason, sender=sender
        )
        return Outcome("suppressed", message, reason=f"{request.to_address} is suppressed: {suppressed.reason}")
    unsent = _unsent_status(request)
    if unsent is not None:
        stored = await _store(session, org_id, request, mailbox, thread, status=unsent, sender=sender)
        return Outcome(_outcome_of(unsent), stored)
    if mailbox is None:
        message = await _store(session, org_id, request, None, thread, status=QUEUED, sender=sender)
        sms_job = jobs_pb2.SendSmsJob(org_id=str(org_id), message_id=str(message.id))
        await jobs.enqueue(
            session, platform_tables, SendSms, sms_job, org_id=org_id, max_attempts=settings.job_max_attempts
        )
        return Outcome("queued", message, send_at=now)
    local_day = now.astimezone(zoneinfo.ZoneInfo(mailbox.time_zone)).date()
    deferred = await _charge(session, _limits(mailbox), local_day, request, now)
    if deferred is not None:
        return deferred
    message = await _store(session, org_id, request, mailbox, thread, status=QUEUED)
    session.add(LedgerEntry(org_id=org_id, mailbox_id=mailbox.id, message_id=message.id, local_day=local_day))
    job = jobs_pb2.SendEmailJob(org_id=str(org_id), message_id=str(message.id))
    kind = send_kind(request.origin)
    await jobs.enqueue(session, platform_tables, kind, job, org_id=org_id, max_attempts=settings.job_max_attempts)
    return Outcome("queued", message, send_at=now)


async def send_draft(
    *,
    session: AsyncSession,
    org_id: uuid.UUID,
    message_id: uuid.UUID,
    subject: str,
    text_body: str,
    settings: InboxSettings,
    now: dt.datetime,
) -> Outcome:
    """A saved draft sent, with the edits made on review (empty: as it stands); see delivery.proto's SendDraft."""
    message = await session.scalar(
        select(Message).where(Message.org_id == org_id, Message.id == message_id).with_for_update()
    )
    if message is None:
        raise NotFound(f"message {message_id} not found")
    if message.status != DRAFT:
        if message.status in (QUEUED, SENDING, SENT):  # sent already (a retried call): that message
            return Outcome(_outcome_of(message.status), message, existing=True)
        raise FailedPrecondition(f"only a draft can be sent; this message is {message.status}")
    edited = validate(
        SendRequest(
            idempotency_key=message.idempotency_key or str(message.id), channel=message.channel,
            mailbox_id=message.mailbox_id, lead_id=message.lead_id, to_address=message.to_address,
            to_name=message.to_name or "", subject=subject or message.subject or "",
            text_body=text_body or message.text_body or "", html_body="" if text_body else message.html_body or "",
            thread_id=message.thread_id, continue_lead_thread=False, not_after=None, dry_run=False,
            origin=message.origin,
        )
    )  # fmt: skip
    suppressed = await session.get(Suppression, (org_id, message.to_address.lower()))
    if suppressed is not None:
        message.status, message.error = SUPPRESSED, suppressed.reason
        return Outcome("suppressed", message, reason=f"{message.to_address} is suppressed: {suppressed.reason}")
    if message.channel == EMAIL:
        mailbox = await session.get_one(Mailbox, message.mailbox_id)
        local_day = now.astimezone(zoneinfo.ZoneInfo(mailbox.time_zone)).date()
        deferred = await _charge(session, _limits(mailbox), local_day, edited, now)
        if deferred is not None:
            return deferred  # the draft stays a draft, unchanged
        session.add(LedgerEntry(org_id=org_id, mailbox_id=mailbox.id, message_id=message.id, local_day=local_day))
        # Threaded under what the thread holds now: replies may have come since the draft was saved.
        parent = await _parent(session, message.thread_id)
        message.in_reply_to = parent.rfc822_message_id if parent else None
        message.references = emails.threaded_references(parent.references, parent.rfc822_message_id) if parent else []
        kind: type[JobKind[Any, Any]] = SendReply  # a person sent it: the lane campaigns never stand ahead of
        job: Any = jobs_pb2.SendEmailJob(org_id=str(org_id), message_id=str(message.id))
    else:
        kind, job = SendSms, jobs_pb2.SendSmsJob(org_id=str(org_id), message_id=str(message.id))
    message.subject, message.text_body, message.html_body = edited.subject, edited.text_body, edited.html_body
    message.status, message.error = QUEUED, None
    if message.thread_id is not None:  # always, for a draft (system mail is never one): sent, it answers the thread
        thread = await session.get_one(Thread, message.thread_id)
        thread.last_message_at, thread.needs_reply = func.now(), False
    await jobs.enqueue(session, platform_tables, kind, job, org_id=org_id, max_attempts=settings.job_max_attempts)
    await session.flush()
    return Outcome("queued", message, send_at=now)


@contextlib.contextmanager
def in_batch(index: int) -> Iterator[None]:
    """A batch's request's error, naming the request: "requests[3].to.email"."""
    try:
        yield
    except DomainError as error:
        named = [FieldViolation(f"requests[{index}].{v.field}", v.message) for v in error.violations]
        raise type(error)(f"requests[{index}]: {error.message}", named) from error


async def send_many(
    *, session: AsyncSession, org_id: uuid.UUID, requests: list[SendRequest], settings: InboxSettings, now: dt.datetime
) -> list[Outcome]:
    """`send` for each request (validated), in the caller's transaction; the outcomes in the requests' order. The
    plain emails among them are looked up and stored together first, as send_emails does (two statements for them
    all); the rest, and whatever those statements leave, one at a time in the requests' order."""
    # Every key's lock first, in one order: two batches (or a batch and a SendMessage) sharing keys then never
    # wait for each other in a cycle, as they could if one held a mailbox's counter row and wanted a key.
    await _rows(session, LOCK_KEYS, [f"{org_id}:{r.idempotency_key}" for r in requests])
    outcomes: list[Outcome | None] = [None] * len(requests)
    # A lead's follow-up in the batch threads under the lead's latest thread as of its turn: that lead's plain
    # emails keep their turns too.
    following = {r.lead_id for r in requests if not is_plain_email(r) and r.lead_id is not None}
    plain = [i for i, r in enumerate(requests) if is_plain_email(r) and r.lead_id not in following]
    if len(plain) > 1:
        carried = tracing.message_headers()
        together: list[Outcome | None] = [None] * len(plain)
        emails = []
        for index in plain:
            with in_batch(index):
                emails.append(PlainEmail(org_id, validate(requests[index]), now, carried))
        await _send_together(session, emails, settings, together)
        for index, outcome in zip(plain, together, strict=True):
            outcomes[index] = outcome
    for index, request in enumerate(requests):
        if outcomes[index] is None:
            with in_batch(index):
                outcome = await send(session=session, org_id=org_id, request=request, settings=settings, now=now)
            outcomes[index] = outcome
    return [outcome for outcome in outcomes if outcome is not None]


def is_system_mail(request: SendRequest) -> bool:
    """Mail the product sends about itself (models.SYSTEM_ORIGINS): stored in no thread, never a conversation."""
    return request.origin in SYSTEM_ORIGINS


def in_no_thread(request: SendRequest) -> bool:
    """Stored in no thread, so never a conversation: system mail, and a dry run. A dry run sends nothing, so it has
    nobody to converse with; in a thread it would list a conversation that never happened, or move a real one (its
    time, its needs-reply) and be what a later real email threads under, naming a Message-ID nobody received."""
    return is_system_mail(request) or request.dry_run


def is_plain_email(request: SendRequest) -> bool:
    """An email starting a thread of its own: what sequences and the bench send, on send_email's few statements."""
    return (
        request.channel == EMAIL
        and request.thread_id is None
        and not (request.continue_lead_thread and request.lead_id is not None)
    )


# The sender's mailbox (default, or the one named: $4), whether the address is suppressed, and a message
# already stored under the key, in one statement (after the key's lock: it sees what the last holder wrote).
PREPARE = """
SELECT mb.id AS mailbox_id, mb.from_address, mb.daily_cap, mb.min_spacing_s, mb.time_zone,
    (SELECT reason FROM suppressions WHERE org_id = $1 AND address = $2) AS suppressed,
    (SELECT id FROM messages WHERE org_id = $1 AND idempotency_key = $3) AS existing
FROM (SELECT 1) AS one
LEFT JOIN mailboxes AS mb ON mb.org_id = $1 AND CASE WHEN $4::uuid IS NULL THEN mb.is_default ELSE mb.id = $4 END
"""
LOCK_KEY = "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))"
# The thread (none for system mail: $1 NULL) and the message; for a queued one ($19) first its charge under the cap
# and the spacing (as CHARGE), and only if charged its ledger entry, its job and the job's outbox row with the relay's
# wake-up: one statement, one round trip (foreign keys are checked at its end, when all are in). No row back: the
# charge was refused.
STORE = f"""
WITH charge AS (
    INSERT INTO send_counters AS c (mailbox_id, local_day, sent, last_charged_at)
    SELECT $7, $18, 1, $25 WHERE $19 AND $26::int > 0
    ON CONFLICT (mailbox_id, local_day) DO UPDATE SET sent = c.sent + 1,
        last_charged_at = greatest(c.last_charged_at, excluded.last_charged_at)
    WHERE c.sent < $26::int
        AND ($27::int = 0 OR c.last_charged_at IS NULL
             OR c.last_charged_at + make_interval(secs => $27::int) <= excluded.last_charged_at)
    RETURNING c.sent
), go AS (
    SELECT 1 WHERE NOT $19 OR EXISTS (SELECT 1 FROM charge)
), thread AS (
    INSERT INTO threads (id, org_id, lead_id, channel, subject, last_message_at, needs_reply, unread, archived)
    SELECT $1, $2, $3, 'email', $4, now(), false, false, false FROM go WHERE $1::uuid IS NOT NULL
), message AS (
    INSERT INTO messages (id, org_id, thread_id, lead_id, channel, direction, status, mailbox_id, from_address,
        to_address, to_name, subject, text_body, html_body, rfc822_message_id, "references", idempotency_key, origin,
        not_after, error, unknown_sender)
    SELECT $5, $2, $1, $3, 'email', 'out', $6, $7, $8, $9, $10, $4, $11, $12, $13, '{{}}', $14, $15, $16, $17, false
    FROM go
    RETURNING created_at
), ledger AS (
    INSERT INTO send_ledger (org_id, mailbox_id, message_id, local_day, released)
    SELECT $2, $7, $5, $18, false FROM go WHERE $19
), job AS (
    INSERT INTO job_executions (id, org_id, type, status, max_attempts, payload, message)
    SELECT $20, $2, $21, 'queued', $22, $23::jsonb, $24 FROM go WHERE $19
), queued AS (
    INSERT INTO {platform_tables.schema}.outbox (subject, msg_id, payload, headers)
    SELECT $28, $20::text, $24, $29::jsonb FROM go WHERE $19
)
SELECT created_at, CASE WHEN $19 THEN pg_notify('{platform_tables.outbox_channel}', '') END AS woken FROM message
"""
# PREPARE for the emails of a batch (send_emails): a row per email, in their order ($n, from 1).
PREPARE_MANY = """
SELECT k.n, mb.id AS mailbox_id, mb.from_address, mb.daily_cap, mb.min_spacing_s, mb.time_zone,
    (SELECT reason FROM suppressions AS s WHERE s.org_id = k.org_id AND s.address = k.address) AS suppressed,
    (SELECT id FROM messages AS m WHERE m.org_id = k.org_id AND m.idempotency_key = k.key) AS existing
FROM unnest($1::uuid[], $2::text[], $3::text[], $4::uuid[]) WITH ORDINALITY AS k(org_id, address, key, mailbox_id, n)
LEFT JOIN mailboxes AS mb ON mb.org_id = k.org_id
    AND CASE WHEN k.mailbox_id IS NULL THEN mb.is_default ELSE mb.id = k.mailbox_id END
ORDER BY k.n
"""
# STORE for the emails of a batch, each parameter an array of STORE's (in its order): the queued ones of a mailbox
# and day are charged together, all or none (a group refused stores nothing: its emails then go one at a time,
# send_email); a group of more than one never has spacing (send_emails sends those alone). The key locks were
# taken first, in one order; the counter rows are locked in the order of their keys.
STORE_MANY = f"""
WITH v AS (
    SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::uuid[], $6::text[], $7::uuid[],
        $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[],
        $16::timestamptz[], $17::text[], $18::date[], $19::bool[], $20::uuid[], $21::text[], $22::int[], $23::text[],
        $24::bytea[], $25::timestamptz[], $26::int[], $27::int[], $28::text[], $29::text[])
    WITH ORDINALITY AS v(thread_id, org_id, lead_id, subject, id, status, mailbox_id, from_address, to_address,
        to_name, text_body, html_body, rfc822_message_id, idempotency_key, origin, not_after, error, local_day,
        queued, job_id, job_type, max_attempts, payload, message, at, cap, spacing, job_subject, headers, n)
), want AS (
    SELECT mailbox_id, local_day, count(*)::int AS sent, max(at) AS at, min(cap) AS cap, max(spacing) AS spacing
    FROM v WHERE queued GROUP BY mailbox_id, local_day
), charge AS (
    INSERT INTO send_counters AS c (mailbox_id, local_day, sent, last_charged_at)
    SELECT mailbox_id, local_day, sent, at FROM want WHERE sent <= cap ORDER BY mailbox_id, local_day
    ON CONFLICT (mailbox_id, local_day) DO UPDATE SET sent = c.sent + excluded.sent,
        last_charged_at = greatest(c.last_charged_at, excluded.last_charged_at)
    WHERE EXISTS (
        SELECT 1 FROM want AS w WHERE w.mailbox_id = c.mailbox_id AND w.local_day = c.local_day
            AND c.sent + w.sent <= w.cap
            AND (w.spacing = 0 OR c.last_charged_at IS NULL
                 OR c.last_charged_at + make_interval(secs => w.spacing) <= w.at)
    )
    RETURNING c.mailbox_id, c.local_day
), go AS (
    SELECT * FROM v
    WHERE NOT queued OR EXISTS (SELECT 1 FROM charge WHERE charge.mailbox_id = v.mailbox_id
                                                     AND charge.local_day = v.local_day)
), thread AS (
    INSERT INTO threads (id, org_id, lead_id, channel, subject, last_message_at, needs_reply, unread, archived)
    SELECT thread_id, org_id, lead_id, 'email', subject, now(), false, false, false FROM go
    WHERE thread_id IS NOT NULL ORDER BY n
), message AS (
    INSERT INTO messages (id, org_id, thread_id, lead_id, channel, direction, status, mailbox_id, from_address,
        to_address, to_name, subject, text_body, html_body, rfc822_message_id, "references", idempotency_key, origin,
        not_after, error, unknown_sender)
    SELECT id, org_id, thread_id, lead_id, 'email', 'out', status, mailbox_id, from_address, to_address, to_name,
        subject, text_body, html_body, rfc822_message_id, '{{}}', idempotency_key, origin, not_after, error, false
    FROM go ORDER BY n
    RETURNING id, created_at
), ledger AS (
    INSERT INTO send_ledger (org_id, mailbox_id, message_id, local_day, released)
    SELECT org_id, mailbox_id, id, local_day, false FROM go WHERE queued ORDER BY n
), job AS (
    INSERT INTO job_executions (id, org_id, type, status, max_attempts, payload, message)
    SELECT job_id, org_id, job_type, 'queued', max_attempts, payload::jsonb, message FROM go WHERE queued ORDER BY n
), queued AS (
    INSERT INTO {platform_tables.schema}.outbox (subject, msg_id, payload, headers)
    SELECT job_subject, job_id::text, message, headers::jsonb FROM go WHERE queued ORDER BY n
)
SELECT id, created_at, (SELECT pg_notify('{platform_tables.outbox_channel}', '') FROM go WHERE queued LIMIT 1)
FROM message
"""
LOCAL_DEFAULT = """
INSERT INTO mailboxes (id, org_id, from_address, from_name, smtp_host, smtp_port, smtp_starttls, smtp_username,
    smtp_password_ref, daily_cap, min_spacing_s, time_zone, is_default)
VALUES ($1, $2, $3, $4, $5, $6, false, '', '', $7, 0, 'UTC', true)
ON CONFLICT DO NOTHING
"""


@dataclass(frozen=True)
class PlainEmail:
    """A plain email (is_plain_email; validated) for its org, with the trace context and ids of its caller: what
    the servicer gathers from concurrent SendMessage calls to store together."""

    org_id: uuid.UUID
    request: SendRequest
    now: dt.datetime
    carried: dict[str, str]


# Every key's lock in one statement, taken in one order (send_many, send_emails).
LOCK_KEYS = """
SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) FROM (SELECT DISTINCT unnest($1::text[]) AS k ORDER BY 1) AS keys
"""


async def send_emails(*, into: Into, emails: list[PlainEmail], settings: InboxSettings) -> list[Outcome]:
    """send_email for each, in the caller's transaction: every key's lock first, in one statement; then, for more
    than one, every look-up in one statement (PREPARE_MANY) and every store with its charge in one (STORE_MANY).
    Two plain emails with one key in a batch are one message (the second finds the first's). What the batch's
    statements do not settle goes through send_email, one at a time, after them: a key already used, an org
    without its mailbox yet, several emails to one mailbox with spacing, a mailbox whose cap the batch would pass
    (each then charged alone, so the cap is used to its last place)."""
    await _rows(into, LOCK_KEYS, [f"{e.org_id}:{e.request.idempotency_key}" for e in emails])
    outcomes: list[Outcome | None] = [None] * len(emails)
    alone = list(range(len(emails)))
    if len(emails) > 1:
        alone = await _send_together(into, emails, settings, outcomes)
    for index in alone:
        e = emails[index]
        outcomes[index] = await send_email(
            into=into, org_id=e.org_id, request=e.request, settings=settings, now=e.now, carried=e.carried, locked=True
        )
    return [outcome for outcome in outcomes if outcome is not None]


async def _send_together(
    into: Into, emails: list[PlainEmail], settings: InboxSettings, outcomes: list[Outcome | None]
) -> list[int]:
    """The emails of a batch looked up in one statement and stored, with their charges, in another; each one's
    outcome set in `outcomes`. Returns the indexes of those left to send_email."""
    found = await _rows(
        into, PREPARE_MANY, [e.org_id for e in emails], [e.request.to_address.lower() for e in emails],
        [e.request.idempotency_key for e in emails], [e.request.mailbox_id for e in emails],
    )  # fmt: skip
    by_index: dict[int, Mapping[str, Any]] = {}
    for row in found:
        by_index.setdefault(row["n"] - 1, row)
    alone: list[int] = []
    keys: set[tuple[uuid.UUID, str]] = set()
    stored: list[tuple[int, _Stored]] = []
    for index, e in enumerate(emails):
        row, key = by_index[index], (e.org_id, e.request.idempotency_key)
        if key in keys or row["existing"] is not None or row["mailbox_id"] is None:
            alone.append(index)  # the second of a key, a key used before, an org without its mailbox yet
            continue
        keys.add(key)
        if _window_closed(e.request, e.now):
            closed = e.request.not_after.isoformat() if e.request.not_after else ""
            outcomes[index] = Outcome("deferred", reason=f"the sending window closed at {closed}")
            continue
        stored.append((index, _new_email(e.org_id, e.request, row, e.now, e.carried, settings)))
    # Several queued emails of a mailbox with spacing: one of them could go at most, so each goes alone.
    groups = Counter(s.group for _, s in stored if s.status == QUEUED)
    spaced = {i for i, s in stored if s.status == QUEUED and s.mailbox.min_spacing_s and groups[s.group] > 1}
    alone += sorted(spaced)
    stored = [(i, s) for i, s in stored if i not in spaced]
    if stored:
        columns = list(zip(*(s.values for _, s in stored), strict=True))
        created = {row["id"]: row["created_at"] for row in await _rows(into, STORE_MANY, *columns)}
        for index, s in stored:
            if s.message.id not in created:  # its mailbox's charge was refused for the group: each alone
                alone.append(index)
                continue
            s.message.created_at = created[s.message.id]
            outcomes[index] = _stored_outcome(s, emails[index].request, emails[index].now)
    return sorted(alone)


async def send_email(
    *,
    into: Into,
    org_id: uuid.UUID,
    request: SendRequest,
    settings: InboxSettings,
    now: dt.datetime,
    carried: dict[str, str] | None = None,
    locked: bool = False,
) -> Outcome:
    """`send` for a plain email (is_plain_email; validated), in the caller's transaction on a bare connection or a
    session: the same rules in a few statements (a queued one: lock, look-up, charge, store, outbox). `locked`:
    the caller holds the key's lock already; `carried`: the caller's trace headers, for the job's outbox row."""
    if not locked:  # callers of the same key take turns: the second finds the first's message
        await _rows(into, LOCK_KEY, f"{org_id}:{request.idempotency_key}")
    params = (org_id, request.to_address.lower(), request.idempotency_key, request.mailbox_id)
    found = (await _rows(into, PREPARE, *params))[0]
    if found["existing"] is not None:
        existing = await _message(into, found["existing"])
        return Outcome(_outcome_of(existing.status), existing, existing=True)
    if found["mailbox_id"] is None:
        if request.mailbox_id is not None:
            raise NotFound(f"mailbox {request.mailbox_id} not found")
        if not settings.smtp_capture_port:
            raise FailedPrecondition("the org has no mailbox to send from: add one in settings (/v1/mailboxes)")
        await _rows(
            into, LOCAL_DEFAULT, uuid.uuid4(), org_id, settings.default_mailbox_from, settings.default_mailbox_name,
            settings.smtp_capture_host, settings.smtp_capture_port, settings.default_mailbox_daily_cap,
        )  # fmt: skip
        found = (await _rows(into, PREPARE, *params))[0]
    if _window_closed(request, now):
        return Outcome("deferred", reason=f"the sending window closed at {request.not_after.isoformat()}")
    new = _new_email(org_id, request, found, now, carried, settings)
    stored = await _rows(into, STORE, *new.values)
    if not stored:  # the cap or the spacing refused the charge: nothing was stored
        return await _deferral(into, new.mailbox, new.local_day, request, now)
    new.message.created_at = stored[0]["created_at"]
    return _stored_outcome(new, request, now)


@dataclass(frozen=True)
class _Stored:
    """A plain email about to be stored: its message, its mailbox's limits, and STORE's parameters."""

    message: Message
    mailbox: _Limits
    local_day: dt.date
    status: str
    suppressed: str | None
    values: tuple[Any, ...]

    @property
    def group(self) -> tuple[uuid.UUID, dt.date]:
        """What a charge counts against: the mailbox's local day."""
        return self.mailbox.mailbox_id, self.local_day


def _new_email(
    org_id: uuid.UUID,
    request: SendRequest,
    found: Mapping[str, Any],
    now: dt.datetime,
    carried: dict[str, str] | None,
    settings: InboxSettings,
) -> _Stored:
    """A plain email's message, job and STORE parameters, from PREPARE's row (its mailbox, its suppression)."""
    mailbox = _limits(found)
    local_day = now.astimezone(zoneinfo.ZoneInfo(mailbox.time_zone)).date()
    suppressed: str | None = found["suppressed"]
    status = SUPPRESSED if suppressed is not None else _unsent_status(request) or QUEUED
    message = Message(
        id=uuid.uuid4(), org_id=org_id, thread_id=None if in_no_thread(request) else uuid.uuid4(),
        lead_id=request.lead_id, channel=EMAIL, direction=OUT,
        status=status, mailbox_id=mailbox.mailbox_id, from_address=mailbox.from_address,
        to_address=request.to_address, to_name=request.to_name, subject=request.subject, text_body=request.text_body,
        html_body=request.html_body, rfc822_message_id=emails.new_message_id(mailbox.from_address), in_reply_to=None,
        references=[], idempotency_key=request.idempotency_key, origin=request.origin, not_after=request.not_after,
        error=suppressed, sent_at=None,
    )  # fmt: skip
    job = jobs_pb2.SendEmailJob(org_id=str(org_id), message_id=str(message.id))
    job_id = jobs.new_job(job)
    kind = send_kind(request.origin)
    values = (
        message.thread_id, org_id, request.lead_id, request.subject, message.id, status,
        mailbox.mailbox_id, mailbox.from_address, request.to_address, request.to_name, request.text_body,
        request.html_body, message.rfc822_message_id, request.idempotency_key, request.origin, request.not_after,
        suppressed, local_day, status == QUEUED, job_id, kind.type, settings.job_max_attempts,
        json.dumps(MessageToDict(job)), job.SerializeToString(), now, mailbox.daily_cap, mailbox.min_spacing_s,
        kind.subject(), events.outbox_headers(job, carried),
    )  # fmt: skip
    return _Stored(message, mailbox, local_day, status, suppressed, values)


def _stored_outcome(new: _Stored, request: SendRequest, now: dt.datetime) -> Outcome:
    if new.suppressed is not None:
        return Outcome("suppressed", new.message, reason=f"{request.to_address} is suppressed: {new.suppressed}")
    if new.status in (SIMULATED, DRAFT):
        return Outcome(_outcome_of(new.status), new.message)
    return Outcome("queued", new.message, send_at=now)


async def _message(into: Into, message_id: uuid.UUID) -> Message:
    row = (await _rows(into, "SELECT * FROM messages WHERE id = $1", message_id))[0]
    return Message(**dict(row))


def _outcome_of(status: str) -> str:
    return {SUPPRESSED: "suppressed", SIMULATED: "simulated", DRAFT: "drafted"}.get(status, "queued")


def _unsent_status(request: SendRequest) -> str | None:
    """SIMULATED for a dry run, DRAFT for a draft: stored, never queued nor charged. None for a send."""
    return SIMULATED if request.dry_run else DRAFT if request.draft else None


def _window_closed(request: SendRequest, now: dt.datetime) -> bool:
    """The caller's window has closed: a send is deferred. A draft is not a send, so no window holds it back."""
    return not request.draft and request.not_after is not None and request.not_after <= now


# Charged only under the cap and the spacing: the counter row's lock makes concurrent senders take turns, so
# they never exceed the cap; a refusal changes nothing. (A new day's row starts at 1, unless the cap is 0.)
CHARGE = """
INSERT INTO send_counters AS c (mailbox_id, local_day, sent, last_charged_at)
SELECT $1::uuid, $2::date, 1, $3::timestamptz WHERE $4::int > 0
ON CONFLICT (mailbox_id, local_day) DO UPDATE SET sent = c.sent + 1,
    last_charged_at = greatest(c.last_charged_at, excluded.last_charged_at)
WHERE c.sent < $4::int
    AND ($5::int = 0 OR c.last_charged_at IS NULL
         OR c.last_charged_at + make_interval(secs => $5::int) <= excluded.last_charged_at)
RETURNING c.sent
"""
COUNTED = "SELECT sent, last_charged_at FROM send_counters WHERE mailbox_id = $1 AND local_day = $2"


@dataclass(frozen=True)
class _Limits:
    mailbox_id: uuid.UUID
    from_address: str
    daily_cap: int
    min_spacing_s: int
    time_zone: str


def _limits(mailbox: Mailbox | Mapping[str, Any]) -> _Limits:
    if isinstance(mailbox, Mailbox):
        return _Limits(mailbox.id, mailbox.from_address, mailbox.daily_cap, mailbox.min_spacing_s, mailbox.time_zone)
    return _Limits(
        mailbox["mailbox_id"], mailbox["from_address"], mailbox["daily_cap"], mailbox["min_spacing_s"],
        mailbox["time_zone"],
    )  # fmt: skip


async def _charge(
    into: Into, mailbox: _Limits, local_day: dt.date, request: SendRequest, now: dt.datetime
) -> Outcome | None:
    """None when the send is charged to its mailbox's day; else DEFERRED with when it could go."""
    charged = await _rows(into, CHARGE, mailbox.mailbox_id, local_day, now, mailbox.daily_cap, mailbox.min_spacing_s)
    if charged:
        return None
    return await _deferral(into, mailbox, local_day, request, now)


async def _deferral(
    into: Into, mailbox: _Limits, local_day: dt.date, request: SendRequest, now: dt.datetime
) -> Outcome:
    """DEFERRED for a charge just refused: what stands in the way, and when it could go."""
    counted = await _rows(into, COUNTED, mailbox.mailbox_id, local_day)
    count, last = (counted[0]["sent"], counted[0]["last_charged_at"]) if counted else (0, None)
    zone = zoneinfo.ZoneInfo(mailbox.time_zone)
    if count >= mailbox.daily_cap:
        midnight = dt.datetime.combine(local_day + dt.timedelta(days=1), dt.time(), tzinfo=zone)
        retry_at = midnight.astimezone(dt.UTC)
        reason = (
            f"the daily cap of {mailbox.daily_cap} of {mailbox.from_address} is reached until {retry_at.isoformat()}"
        )
    elif last is not None and mailbox.min_spacing_s and last + dt.timedelta(seconds=mailbox.min_spacing_s) > now:
        retry_at = last + dt.timedelta(seconds=mailbox.min_spacing_s)
        reason = f"{mailbox.from_address} sends at most one message every {mailbox.min_spacing_s} s"
    else:  # a charge released between the two statements: there is room again
        retry_at, reason = now, f"{mailbox.from_address} was busy; send again"
    if request.not_after is not None and retry_at > request.not_after:
        reason += "; that is after the sending window closes"
    return Outcome("deferred", retry_at=retry_at, reason=reason)


async def _rows(into: Into, sql: str, *params: Any) -> list[Mapping[str, Any]]:
    if isinstance(into, AsyncSession):
        result = await (await into.connection()).exec_driver_sql(sql, params)
        return [row._mapping for row in result] if result.returns_rows else []
    return list(await into.fetch(sql, *params))


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
    thread: Thread | None,
    *,
    status: str,
    error: str | None = None,
    sender: str = "",
) -> Message:
    """The message; an email with its Message-ID, threaded under the thread's latest message (none: system mail)."""
    parent = await _parent(session, thread.id) if mailbox is not None and thread is not None else None
    message = Message(
        id=uuid.uuid4(),
        org_id=org_id,
        thread_id=thread.id if thread else None,
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
    if thread is not None and status != DRAFT:  # a draft answers nobody yet: the thread still waits for our reply
        # Whatever was sent last answers the thread: it no longer waits for a reply from us.
        thread.last_message_at, thread.needs_reply = func.now(), False
    await session.flush()
    return message


async def _parent(session: AsyncSession, thread_id: uuid.UUID | None) -> Message | None:
    """The thread's latest email a follow-up threads under. A draft was never sent: nobody can have it, so
    nothing threads under it (a draft being sent is one, so it is never its own parent). No thread, no parent."""
    if thread_id is None:
        return None
    return await session.scalar(
        select(Message)
        .where(Message.thread_id == thread_id, Message.rfc822_message_id.is_not(None), Message.status != DRAFT)
        .order_by(Message.created_at.desc())
        .limit(1)
    )
