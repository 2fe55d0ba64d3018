"""The inbox's background jobs: handing each stored email to its mailbox's SMTP server, once."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import httpx
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from inbox import classify, emails, events, inbound, metrics, reply_text, sms, smtp, threads, unsubscribe
from inbox.classify import Classification
from inbox.config import InboxSettings
from inbox.models import (
    BOUNCED,
    FAILED,
    QUEUED,
    SENDING,
    SENT,
    SUPPRESSED,
    SYSTEM_ORIGINS,
    DeliveryAttempt,
    InboundRaw,
    LedgerEntry,
    Mailbox,
    Message,
    Suppression,
    platform_tables,
)  # fmt: skip
from leadflood.inbox.v1 import events_pb2, jobs_pb2
from leadflood_platform import tracing
from leadflood_platform.convert import timestamp
from leadflood_platform.db import Database
from leadflood_platform.jobs import JobKind, JobStopped
from leadflood_platform.server import Runtime

WINDOW_CLOSED = "not sent: the sending window closed before it could go"


class NotSent(str):
    """Why a send job sent nothing and has nothing left to record: the job completes with it."""


ALREADY_SENT = NotSent("already sent")
# Stopped at the last moment: the address joined the suppression list after the message was queued.
NOT_SENT = NotSent("not sent: suppressed")
SENT_SUBJECT = "inbox.message.sent"


class Refused(str):
    """The provider refused the message for good (an SMTP 5xx; a text to a number that cannot take one), in words:
    the message bounced, and sending it again cannot help. A handled outcome, not a fault: apply marks the message
    bounced (the address or number suppressed), and the job completes; only faults (retries run out, credentials
    refused) are dead letters, for someone to fix and replay."""

    code: str  # the event's status code: RFC 3463's "5.1.1" (else the SMTP code), or Twilio's "21211"
    suppress: str  # the suppression reason the refusal calls for
    diagnostic: str  # the provider's own words, for the event

    def __new__(cls, words: str, *, code: str, suppress: str, diagnostic: str) -> Refused:
        refused = super().__new__(cls, words)
        refused.code, refused.suppress, refused.diagnostic = code, suppress, diagnostic
        return refused


MARK_SENT = """
WITH message AS (
    UPDATE messages SET status = 'sent', sent_at = now(), error = NULL, updated_at = now()
    WHERE id = $1 AND status <> 'sent'
    RETURNING id, org_id, thread_id, lead_id, channel, idempotency_key, origin, sent_at
), charge AS (
    UPDATE send_ledger SET released = false WHERE message_id IN (SELECT id FROM message) AND released
), attempt AS (
    INSERT INTO delivery_attempts (message_id, number, result, detail)
    SELECT id, (SELECT count(*) + 1 FROM delivery_attempts WHERE message_id = $1), 'accepted', $2 FROM message
)
SELECT * FROM message
"""
# MARK_SENT for an email whose event is written already (Accepted): its outbox row and the relay's wake-up in the
# same statement, and one round trip fewer.
MARK_SENT_ANNOUNCED = f"""
WITH message AS (
    UPDATE messages SET status = 'sent', sent_at = $3, error = NULL, updated_at = now()
    WHERE id = $1 AND status <> 'sent'
    RETURNING id
), charge AS (
    UPDATE send_ledger SET released = false WHERE message_id IN (SELECT id FROM message) AND released
), attempt AS (
    INSERT INTO delivery_attempts (message_id, number, result, detail)
    SELECT id, (SELECT count(*) + 1 FROM delivery_attempts WHERE message_id = $1), 'accepted', $2 FROM message
), event AS (
    INSERT INTO {platform_tables.schema}.outbox (subject, msg_id, payload, headers)
    SELECT '{SENT_SUBJECT}', $4, $5, $6::jsonb FROM message
)
SELECT pg_notify('{platform_tables.outbox_channel}', '') FROM message
"""


# MARK_SENT_ANNOUNCED for the emails of a batch completed together (SendEmail.apply_many): one statement, one
# wake-up of the relay.
MARK_MANY_SENT_ANNOUNCED = f"""
WITH v AS (
    SELECT * FROM unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::text[], $5::bytea[], $6::text[])
        WITH ORDINALITY AS v(id, reply, sent_at, event_id, payload, headers, n)
), message AS (
    UPDATE messages AS m SET status = 'sent', sent_at = v.sent_at, error = NULL, updated_at = now()
    FROM v WHERE m.id = v.id AND m.status <> 'sent'
    RETURNING m.id
), charge AS (
    UPDATE send_ledger SET released = false WHERE message_id IN (SELECT id FROM message) AND released
), attempt AS (
    INSERT INTO delivery_attempts (message_id, number, result, detail)
    SELECT v.id, (SELECT count(*) + 1 FROM delivery_attempts AS a WHERE a.message_id = v.id), 'accepted', v.reply
    FROM v JOIN message USING (id)
), event AS (
    INSERT INTO {platform_tables.schema}.outbox (subject, msg_id, payload, headers)
    SELECT '{SENT_SUBJECT}', v.event_id, v.payload, v.headers::jsonb FROM v JOIN message USING (id) ORDER BY v.n
)
SELECT pg_notify('{platform_tables.outbox_channel}', '') WHERE EXISTS (SELECT 1 FROM message)
"""


class Accepted(str):
    """The server's 250 reply, with the message it accepted: apply writes its event in MARK_SENT_ANNOUNCED. `carried`:
    the trace context and ids of the job's delivery, taken in perform (apply_many runs in a batch's context)."""

    ref: events_pb2.MessageRef
    carried: dict[str, str]

    def __new__(cls, reply: str, ref: events_pb2.MessageRef) -> Accepted:
        accepted = super().__new__(cls, reply)
        accepted.ref, accepted.carried = ref, tracing.message_headers()
        return accepted


class _Delivery:
    """What both sends share: a message claimed, marked sent once with its event, or failed or bounced with its
    charge released; the message's status mirrors the job's (see JobKind)."""

    db: Database

    async def on_start(self, session: AsyncSession, job: Any) -> None:
        # FAILED too: a replayed dead letter goes out again.
        await session.execute(
            update(Message)
            .where(Message.id == uuid.UUID(job.message_id), Message.status.in_((QUEUED, FAILED)))
            .values(status=SENDING, error=None)
        )

    async def _load(self, job: Any) -> Message | str:
        """The message to send, or why nothing is sent: it went already (a redelivery), or its address has
        been suppressed since it was queued (the list is checked at send time too). JobStopped past its window."""
        async with self.db.transaction() as session:
            return await self._load_in(session, job)

    async def _load_in(self, session: AsyncSession, job: Any) -> Message | str:
        """_load in the caller's transaction."""
        message = await session.get_one(Message, uuid.UUID(job.message_id), with_for_update=True)
        if message.status == SENT:
            return ALREADY_SENT
        if message.status in (BOUNCED, SUPPRESSED):  # a replayed dead letter of one: handled, its words kept
            why = f": {message.error}" if message.error else ""
            return NotSent(f"not sent: the message is {message.status}{why}")
        suppressed = await session.get(Suppression, (message.org_id, message.to_address.lower()))
        if suppressed is not None:
            message.status, message.error = SUPPRESSED, f"{message.to_address} is suppressed: {suppressed.reason}"
            await session.execute(update(LedgerEntry).where(LedgerEntry.message_id == message.id).values(released=True))
            return NOT_SENT
        if _past(message.not_after):
            raise JobStopped(WINDOW_CLOSED)
        return message

    async def apply(self, session: AsyncSession, job: Any, reply: str) -> dict[str, Any]:
        if isinstance(reply, Accepted):
            sent_at = dt.datetime.now(dt.UTC)
            event = events_pb2.MessageSent(
                event_id=str(uuid.uuid4()), org_id=job.org_id, message=reply.ref, sent_at=timestamp(sent_at)
            )
            params = (uuid.UUID(job.message_id), str(reply), sent_at, event.event_id, event.SerializeToString(),
                      events.outbox_headers(event))  # fmt: skip
            await (await session.connection()).exec_driver_sql(MARK_SENT_ANNOUNCED, params)
            metrics.SENT_EMAIL.inc()
        elif isinstance(reply, Refused):
            await self._bounce(session, uuid.UUID(job.message_id), reply)
            return {"messageId": job.message_id, "bounced": str(reply)}
        elif not isinstance(reply, NotSent):
            # Marked sent once (a concurrent or later delivery finds it sent and changes nothing), charged for
            # good (a replayed dead letter's charge had been released when it failed), its attempt recorded.
            marked = await (await session.connection()).exec_driver_sql(MARK_SENT, (uuid.UUID(job.message_id), reply))
            row = marked.first()
            if row is not None:
                metrics.SENT.labels(row.channel).inc()
                sent = events_pb2.MessageSent(
                    org_id=str(row.org_id), message=events.ref(row), sent_at=timestamp(row.sent_at)
                )
                await events.publish(session, SENT_SUBJECT, sent)
        return {"messageId": job.message_id, "reply": reply}

    async def _bounce(self, session: AsyncSession, message_id: uuid.UUID, refused: Refused) -> None:
        """A refusal for good: the message bounced, its charge released, the address or number suppressed, and its
        conversation brought up unread for someone to see."""
        message = await session.get(Message, message_id, with_for_update=True)
        if message is None or message.status == SENT:
            return
        message.status, message.error = BOUNCED, str(refused)
        await session.execute(update(LedgerEntry).where(LedgerEntry.message_id == message.id).values(released=True))
        number = await _next_attempt(session, message.id)
        session.add(DeliveryAttempt(message_id=message.id, number=number, result="refused", detail=str(refused)))
        metrics.BOUNCED.labels("refused").inc()
        metrics.SUPPRESSED.labels(refused.suppress).inc()
        await session.merge(
            Suppression(org_id=message.org_id, address=message.to_address.lower(), reason=refused.suppress)
        )
        if message.thread_id is not None:
            await threads.noticed(session, message.thread_id)
        event = events_pb2.MessageBounced(
            org_id=str(message.org_id), message=events.ref(message), status_code=refused.code,
            diagnostic=refused.diagnostic,
        )  # fmt: skip
        await events.publish(session, "inbox.message.bounced", event)

    async def on_failure(self, session: AsyncSession, job: Any, error: str) -> None:
        """A fault, not a refusal (retries run out, credentials refused, the window closed): the message failed, its
        charge released; the job is a dead letter, replayed once the fault is fixed."""
        message = await session.get(Message, uuid.UUID(job.message_id), with_for_update=True)
        if message is None or message.status in (SENT, BOUNCED):
            return
        message.status, message.error = FAILED, error
        await session.execute(update(LedgerEntry).where(LedgerEntry.message_id == message.id).values(released=True))
        number = await _next_attempt(session, message.id)
        session.add(DeliveryAttempt(message_id=message.id, number=number, result="failed", detail=error))
        failed = events_pb2.MessageFailed(
            org_id=str(message.org_id), message=events.ref(message), error=error, window_closed=error == WINDOW_CLOSED
        )
        await events.publish(session, "inbox.message.failed", failed)

    async def _attempt(self, message_id: uuid.UUID, number: int, result: str, detail: str) -> None:
        async with self.db.transaction() as session:
            session.add(DeliveryAttempt(message_id=message_id, number=number, result=result, detail=detail))


async def _next_attempt(session: AsyncSession, message_id: uuid.UUID) -> int:
    count = await session.scalar(select(func.count()).where(DeliveryAttempt.message_id == message_id))
    return (count or 0) + 1


# The common case of a send job's start in one statement: the message marked sending, with what its email
# needs, its mailbox's server and whether its address has been suppressed since it was queued. No row: the
# message is not queued or failed (sent already, bounced, or `sending` after a crash): _load_in decides.
CLAIM_MESSAGE = """
UPDATE messages AS m SET status = 'sending', error = NULL, updated_at = now()
FROM mailboxes AS mb
WHERE m.id = $1 AND m.status IN ('queued', 'failed') AND mb.id = m.mailbox_id
RETURNING m.id, m.org_id, m.thread_id, m.lead_id, m.channel, m.idempotency_key, m.origin, m.to_address,
    m.to_name, m.subject, m.text_body, m.html_body, m.rfc822_message_id, m.in_reply_to, m."references", m.not_after,
    mb.from_address, mb.from_name, mb.smtp_host, mb.smtp_port, mb.smtp_starttls, mb.smtp_username, mb.smtp_password_ref,
    (SELECT reason FROM suppressions AS s WHERE s.org_id = m.org_id AND s.address = lower(m.to_address)) AS suppressed
"""


# CLAIM_MESSAGE for the jobs of a batch claimed together (SendEmail.on_start_many).
CLAIM_MESSAGES = CLAIM_MESSAGE.replace("WHERE m.id = $1 AND", "WHERE m.id = ANY($1::uuid[]) AND")
assert CLAIM_MESSAGES != CLAIM_MESSAGE


@dataclass(frozen=True)
class Ready:
    """A claimed email, ready to go: its rendered bytes and where they go."""

    message_id: uuid.UUID
    ref: events_pb2.MessageRef
    server: smtp.Server
    sender: str
    recipient: str
    email: bytes | EmailMessage


class SendEmail(_Delivery, JobKind[jobs_pb2.SendEmailJob, str]):
    """`inbox.send`: one stored email to its mailbox's SMTP server.

    Exactly once: a redelivery of a message already marked sent sends nothing. "Sent" is committed in
    the transaction right after the server's 250 (and before the job's ack), so a worker killed before
    the 250 sends again and one killed after the commit does not. The one gap left is RFC 1047's: a
    crash between the server's 250 and that commit (a few milliseconds: the group commit it joins, see
    JobWorker) leaves the message `sending`,
    and it is sent again, with the same Message-ID.
    """

    type = "inbox.send"
    message_type = jobs_pb2.SendEmailJob

    def __init__(self, *, db: Database, settings: InboxSettings) -> None:
        self.db, self.settings = db, settings
        self.connections = smtp.Connections()
        # What on_start claimed for each job, for its perform: one transaction claims and reads.
        self._loaded: dict[str, Ready | str] = {}

    async def on_start(self, session: AsyncSession, job: jobs_pb2.SendEmailJob) -> None:
        claimed = await (await session.connection()).exec_driver_sql(CLAIM_MESSAGE, (uuid.UUID(job.message_id),))
        row = claimed.first()
        if row is not None and row.suppressed is None and not _past(row.not_after):
            self._loaded[job.message_id] = self._ready(row, row)
            return
        # The rare ways, on the ORM: sent already, bounced, suppressed since, a window closed, a crash mid-send.
        self._loaded[job.message_id] = await self._ready_in(session, job)

    async def on_start_many(self, session: AsyncSession, jobs: list[jobs_pb2.SendEmailJob]) -> None:
        """on_start for jobs claimed together: their messages claimed and read in one statement (CLAIM_MESSAGES);
        the rare ways one at a time, as on_start."""
        ids = [uuid.UUID(job.message_id) for job in jobs]
        claimed = {row.id: row for row in await (await session.connection()).exec_driver_sql(CLAIM_MESSAGES, (ids,))}
        for job, message_id in zip(jobs, ids, strict=True):
            row = claimed.get(message_id)
            if row is not None and row.suppressed is None and not _past(row.not_after):
                self._loaded[job.message_id] = self._ready(row, row)
            else:
                self._loaded[job.message_id] = await self._ready_in(session, job)

    async def apply_many(
        self, session: AsyncSession, done: list[tuple[jobs_pb2.SendEmailJob, str]]
    ) -> list[dict[str, Any]]:
        """apply for jobs completed together: the accepted emails marked sent, each with its event, in one statement
        (MARK_MANY_SENT_ANNOUNCED); anything else as apply."""
        accepted = [(job, reply) for job, reply in done if isinstance(reply, Accepted)]
        if accepted:
            sent_at, columns = dt.datetime.now(dt.UTC), ([], [], [], [], [], [])
            for job, reply in accepted:
                assert isinstance(reply, Accepted)
                event = events_pb2.MessageSent(
                    event_id=str(uuid.uuid4()), org_id=job.org_id, message=reply.ref, sent_at=timestamp(sent_at)
                )
                values = (uuid.UUID(job.message_id), str(reply), sent_at, event.event_id, event.SerializeToString(),
                          events.outbox_headers(event, reply.carried))  # fmt: skip
                for column, value in zip(columns, values, strict=True):
                    column.append(value)
            await (await session.connection()).exec_driver_sql(MARK_MANY_SENT_ANNOUNCED, columns)
            metrics.SENT_EMAIL.inc(len(accepted))
        return [
            {"messageId": job.message_id, "reply": reply}
            if isinstance(reply, Accepted)
            else await self.apply(session, job, reply)
            for job, reply in done
        ]

    async def _ready_in(self, session: AsyncSession, job: jobs_pb2.SendEmailJob) -> Ready | str:
        message = await self._load_in(session, job)
        if isinstance(message, str):
            return message
        return self._ready(message, await session.get_one(Mailbox, message.mailbox_id))

    async def perform(self, job: jobs_pb2.SendEmailJob, attempt: int) -> str:
        ready = self._loaded.pop(job.message_id, None)
        if ready is None:  # on_start ran elsewhere (never, with the platform's worker): load it now
            async with self.db.transaction() as session:
                ready = await self._ready_in(session, job)
        if isinstance(ready, str):
            return ready
        try:
            reply = await self.connections.send(
                ready.server, ready.email, sender=ready.sender, recipient=ready.recipient,
                timeout_s=self.settings.smtp_timeout_s,
            )  # fmt: skip
            return Accepted(reply, ready.ref)
        except smtp.Deferred as exc:
            await self._attempt(ready.message_id, attempt, "deferred", str(exc))
            raise
        except smtp.Bounced as exc:
            words = str(exc)
            return Refused(words, code=smtp.Bounced.status_code(words), suppress="hard-bounced", diagnostic=words)

    def _ready(self, message: Any, mailbox: Any) -> Ready:
        """The email of a message (a Message, or CLAIM_MESSAGE's row) from its mailbox (a Mailbox, or that row):
        outreach with its one-click unsubscribe, system mail without (it would suppress a colleague)."""
        unsubscribing: dict[str, str] = {}
        if message.origin not in SYSTEM_ORIGINS:
            token = unsubscribe.token(self.settings.key(unsubscribe.PURPOSE), message.org_id, message.to_address)
            unsubscribing = {
                "unsubscribe_url": f"{self.settings.public_base_url.rstrip('/')}/v1/unsubscribe/{token}",
                "unsubscribe_mailto": f"mailto:unsubscribe+{token}@{self.settings.unsubscribe_mail_domain}",
            }
        email = emails.render(
            emails.Outbound(
                from_address=mailbox.from_address,
                from_name=mailbox.from_name,
                to_address=message.to_address,
                to_name=message.to_name,
                subject=message.subject,
                text_body=message.text_body,
                html_body=message.html_body,
                message_id=message.rfc822_message_id or "",
                in_reply_to=message.in_reply_to,
                references=list(message.references or []),
                **unsubscribing,
            )
        )
        server = smtp.Server(
            mailbox.smtp_host, mailbox.smtp_port, mailbox.smtp_starttls, mailbox.smtp_username,
            mailbox.smtp_password_ref,
        )  # fmt: skip
        return Ready(message.id, events.ref(message), server, mailbox.from_address, message.to_address, email)


def _past(moment: dt.datetime | None) -> bool:
    return moment is not None and moment <= dt.datetime.now(dt.UTC)


class SendReply(SendEmail):
    """`inbox.send_reply`: the same send, for what a person wrote (a reply in a thread, an email from a lead's
    page). It has a queue and a consumer of its own, so a campaign's hundred thousand queued sends, however
    many orgs they come from, never stand ahead of someone's answer."""

    type = "inbox.send_reply"


# Messages a person wrote, as callers name their origin: they take the reply lane.
PERSON_ORIGINS = frozenset({"reply", "manual"})


def send_kind(origin: str) -> type[SendEmail]:
    """The lane an email is sent in: a person's own message, or the campaigns' (sequences, lead runs)."""
    return SendReply if origin in PERSON_ORIGINS else SendEmail


class SendSms(_Delivery, JobKind[jobs_pb2.SendSmsJob, str]):
    """`inbox.send_sms`: one stored text through the SMS provider. Twilio documents no idempotency key, so
    a create that timed out after Twilio took it is sent again when retried (see sms.py)."""

    type = "inbox.send_sms"
    message_type = jobs_pb2.SendSmsJob

    def __init__(self, *, db: Database, sender: sms.SmsSender) -> None:
        self.db, self.sender = db, sender

    async def perform(self, job: jobs_pb2.SendSmsJob, attempt: int) -> str:
        message = await self._load(job)
        if isinstance(message, str):
            return message
        try:
            return await self.sender.send_sms(to=message.to_address, body=message.text_body)
        except sms.SmsRefused as exc:
            if not exc.undeliverable:  # the account or the text at fault, not the number: a fault to fix
                raise
            suppress = "unsubscribed" if exc.opted_out else "undeliverable"
            return Refused(str(exc), code=str(exc.code), suppress=suppress, diagnostic=exc.detail)


class ReceiveEmail(JobKind[jobs_pb2.ReceiveEmailJob, tuple[Classification, str]]):
    """`inbox.receive`: file one kept inbound message. Parsing runs outside the transaction; filing happens
    once however often the job is delivered (the raw message's status says whether it was filed)."""

    type = "inbox.receive"
    message_type = jobs_pb2.ReceiveEmailJob

    def __init__(self, *, db: Database) -> None:
        self.db = db

    async def perform(self, job: jobs_pb2.ReceiveEmailJob, attempt: int) -> tuple[Classification, str]:
        async with self.db.transaction() as session:
            raw = (await session.get_one(InboundRaw, uuid.UUID(job.raw_id))).raw
        parsed = classify.parse(raw)
        return classify.classify_message(parsed), reply_text.message_visible_text(parsed)

    async def apply(
        self, session: AsyncSession, job: jobs_pb2.ReceiveEmailJob, outcome: tuple[Classification, str]
    ) -> dict[str, Any]:
        found, text = outcome
        filed = await inbound.file(session, uuid.UUID(job.raw_id), found, text)
        return {"rawId": job.raw_id, "kind": found.kind, "status": filed.status, "reason": found.reason}

    async def on_failure(self, session: AsyncSession, job: jobs_pb2.ReceiveEmailJob, error: str) -> None:
        # Kept as it arrived, to be filed again once the fault is fixed.
        await session.execute(
            update(InboundRaw).where(InboundRaw.id == uuid.UUID(job.raw_id)).values(status="failed", error=error)
        )


def job_kinds(runtime: Runtime) -> list[JobKind[Any, Any]]:
    """The jobs the worker process runs, each built with what it needs from the runtime."""
    settings = runtime.settings
    assert isinstance(settings, InboxSettings)
    kinds: list[JobKind[Any, Any]] = [
        SendEmail(db=runtime.db, settings=settings),
        SendReply(db=runtime.db, settings=settings),
        SendSms(db=runtime.db, sender=sms_sender_for(settings)),
        ReceiveEmail(db=runtime.db),
    ]
    for kind in kinds:
        kind.concurrency = settings.email_job_concurrency if isinstance(kind, SendEmail) else settings.job_concurrency
    return kinds


def sms_sender_for(settings: InboxSettings) -> sms.SmsSender:
    """The configured SMS sender, on a client with an explicit deadline; UNAVAILABLE naming a missing setting."""
    client = httpx.AsyncClient(timeout=httpx.Timeout(settings.sms_timeout_s, connect=5.0))
    return sms.sms_sender(
        settings.sms_provider,
        account_sid=settings.twilio_account_sid or "",
        auth_token=settings.twilio_auth_token or "",
        from_number=settings.twilio_from or "",
        base_url=settings.twilio_base_url,
        client=client,
    )
