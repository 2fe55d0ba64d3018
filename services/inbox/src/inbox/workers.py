"""The inbox's background jobs: handing each stored email to its mailbox's SMTP server, once."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from inbox import classify, emails, events, inbound, reply_text, smtp, unsubscribe
from inbox.classify import Classification
from inbox.config import InboxSettings
from inbox.models import (
    BOUNCED,
    FAILED,
    QUEUED,
    SENDING,
    SENT,
    DeliveryAttempt,
    InboundRaw,
    LedgerEntry,
    Mailbox,
    Message,
    Suppression,
)  # fmt: skip
from leadflood.inbox.v1 import events_pb2, jobs_pb2
from leadflood_platform.convert import timestamp
from leadflood_platform.db import Database
from leadflood_platform.jobs import JobKind, JobStopped
from leadflood_platform.server import Runtime

WINDOW_CLOSED = "not sent: the sending window closed before it could go"
ALREADY_SENT = "already sent"


class SendEmail(JobKind[jobs_pb2.SendEmailJob, str]):
    """`inbox.send`: one stored message to its mailbox's SMTP server; the message's status mirrors the job's.

    Exactly once: a redelivery of a message already marked sent sends nothing. "Sent" is committed in
    the transaction right after the server's 250 (and before the job's ack), so a worker killed before
    the 250 sends again and one killed after the commit does not. The one gap left is RFC 1047's: a
    crash between the server's 250 and that commit (a few milliseconds) leaves the message `sending`,
    and it is sent again, with the same Message-ID.
    """

    type = "inbox.send"
    message_type = jobs_pb2.SendEmailJob

    def __init__(self, *, db: Database, settings: InboxSettings) -> None:
        self.db, self.settings = db, settings

    async def on_start(self, session: AsyncSession, job: jobs_pb2.SendEmailJob) -> None:
        await session.execute(
            update(Message)
            .where(Message.id == uuid.UUID(job.message_id), Message.status == QUEUED)
            .values(status=SENDING)
        )

    async def perform(self, job: jobs_pb2.SendEmailJob, attempt: int) -> str:
        async with self.db.transaction() as session:
            message = await session.get_one(Message, uuid.UUID(job.message_id))
            mailbox = await session.get_one(Mailbox, message.mailbox_id)
        if message.status == SENT:
            return ALREADY_SENT
        if message.not_after is not None and message.not_after <= dt.datetime.now(dt.UTC):
            raise JobStopped(WINDOW_CLOSED)
        server = smtp.Server(
            mailbox.smtp_host,
            mailbox.smtp_port,
            mailbox.smtp_starttls,
            mailbox.smtp_username,
            mailbox.smtp_password_ref,
        )
        try:
            return await smtp.send(server, self._email(message, mailbox), timeout_s=self.settings.smtp_timeout_s)
        except smtp.Deferred as exc:
            await self._attempt(message.id, attempt, "deferred", str(exc))
            raise

    async def apply(self, session: AsyncSession, job: jobs_pb2.SendEmailJob, reply: str) -> dict[str, Any]:
        message = await session.get_one(Message, uuid.UUID(job.message_id), with_for_update=True)
        if reply != ALREADY_SENT and message.status != SENT:
            message.status, message.sent_at, message.error = SENT, func.now(), None
            session.add(
                DeliveryAttempt(
                    message_id=message.id, number=await self._next(session, message.id), result="accepted", detail=reply
                )
            )
            await session.flush()
            await session.refresh(message)
            await events.publish(
                session,
                "inbox.message.sent",
                events_pb2.MessageSent(
                    org_id=str(message.org_id), message=events.ref(message), sent_at=timestamp(message.sent_at)
                ),
            )
        return {"messageId": job.message_id, "reply": reply}

    async def on_failure(self, session: AsyncSession, job: jobs_pb2.SendEmailJob, error: str) -> None:
        message = await session.get(Message, uuid.UUID(job.message_id), with_for_update=True)
        if message is None or message.status == SENT:
            return
        bounced = error.startswith(smtp.Bounced.PREFIX)
        message.status, message.error = (BOUNCED if bounced else FAILED), error
        await session.execute(update(LedgerEntry).where(LedgerEntry.message_id == message.id).values(released=True))
        session.add(
            DeliveryAttempt(
                message_id=message.id,
                number=await self._next(session, message.id),
                result="refused" if bounced else "failed",
                detail=error,
            )
        )
        ref = events.ref(message)
        if bounced:
            await session.merge(
                Suppression(org_id=message.org_id, address=message.to_address.lower(), reason="hard-bounced")
            )
            event = events_pb2.MessageBounced(
                org_id=str(message.org_id), message=ref, status_code=smtp.Bounced.status_code(error), diagnostic=error
            )
            await events.publish(session, "inbox.message.bounced", event)
        else:
            event = events_pb2.MessageFailed(
                org_id=str(message.org_id), message=ref, error=error, window_closed=error == WINDOW_CLOSED
            )
            await events.publish(session, "inbox.message.failed", event)

    def _email(self, message: Message, mailbox: Mailbox) -> Any:
        token = unsubscribe.token(self.settings.key(unsubscribe.PURPOSE), message.org_id, message.to_address)
        base = self.settings.public_base_url.rstrip("/")
        return emails.build(
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
                unsubscribe_url=f"{base}/v1/unsubscribe/{token}",
                unsubscribe_mailto=f"mailto:unsubscribe+{token}@{self.settings.unsubscribe_mail_domain}",
            )
        )

    async def _attempt(self, message_id: uuid.UUID, number: int, result: str, detail: str) -> None:
        async with self.db.transaction() as session:
            session.add(DeliveryAttempt(message_id=message_id, number=number, result=result, detail=detail))

    @staticmethod
    async def _next(session: AsyncSession, message_id: uuid.UUID) -> int:
        count = await session.scalar(select(func.count()).where(DeliveryAttempt.message_id == message_id))
        return (count or 0) + 1


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
    return [SendEmail(db=runtime.db, settings=settings), ReceiveEmail(db=runtime.db)]
