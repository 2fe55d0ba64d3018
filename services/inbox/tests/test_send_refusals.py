"""A send the provider refuses for good, through the send jobs' own steps on a real PostgreSQL: a text to a number
that cannot take one, or an email the server answers with a 5xx, is handled (the message bounced with the
refusal in words, the number or address suppressed, its conversation brought up unread) and its job completes;
what someone must fix (the account's credentials) still fails the job, a dead letter to replay."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from inbox import delivery, smtp
from inbox.config import InboxSettings
from inbox.models import BOUNCED, FAILED, DeliveryAttempt, LedgerEntry, Message, Suppression, Thread
from inbox.models import platform_tables as tables
from inbox.sms import SmsRefused
from inbox.workers import NotSent, SendEmail, SendSms
from leadflood.inbox.v1 import events_pb2, jobs_pb2
from leadflood_platform.db import Database

NOW = dt.datetime.now(dt.UTC)
NUMBER = "+14155550100"


class Refusing:
    """An SMS sender whose provider answers every text with `error`; `asked` counts what was handed to it."""

    name = "refusing"

    def __init__(self, error: Exception) -> None:
        self.error, self.asked = error, 0

    async def send_sms(self, *, to: str, body: str) -> str:
        self.asked += 1
        raise self.error


def request(**changes: object) -> delivery.SendRequest:
    fields: dict[str, object] = dict(
        idempotency_key=f"test:{uuid.uuid4()}", channel="sms", mailbox_id=None, lead_id=uuid.uuid4(),
        to_address=NUMBER, to_name="Leo Ito", subject="", text_body="Hi Leo", html_body="", thread_id=None,
        continue_lead_thread=False, not_after=None, dry_run=False, origin="sequences",
    )  # fmt: skip
    return delivery.SendRequest(**{**fields, **changes})  # type: ignore[arg-type]


async def queued(db: Database, settings: InboxSettings, org: uuid.UUID, **changes: object) -> Message:
    async with db.transaction() as session:
        outcome = await delivery.send(
            session=session, org_id=org, request=request(**changes), settings=settings, now=NOW
        )
        assert outcome.kind == "queued" and outcome.message is not None
        return outcome.message


async def run(db: Database, kind: Any, job: Any) -> Any:
    """One delivery of a job as the worker runs it: claimed (on_start), performed, and completed (apply) with what
    perform returned; what perform raised comes out, as the worker would fail or retry the job with it."""
    async with db.transaction() as session:
        await kind.on_start(session, job)
    outcome = await kind.perform(job, 1)
    async with db.transaction() as session:
        return await kind.apply(session, job, outcome)


async def bounced_events(db: Database) -> list[events_pb2.MessageBounced]:
    async with db.transaction() as session:
        rows = await session.scalars(
            select(tables.outbox.c.payload).where(tables.outbox.c.subject == "inbox.message.bounced")
        )
        return [events_pb2.MessageBounced.FromString(payload) for payload in rows]


async def test_a_text_to_a_number_the_provider_refuses_is_bounced_in_words_and_its_job_completes(
    inbox_db: Database, settings: InboxSettings
) -> None:
    org = uuid.uuid4()
    message = await queued(inbox_db, settings, org)
    refusing = Refusing(
        SmsRefused(21211, f"The 'To' number {NUMBER} is not a valid phone number.", status=400, provider="twilio")
    )
    kind = SendSms(db=inbox_db, sender=refusing)
    job = jobs_pb2.SendSmsJob(org_id=str(org), message_id=str(message.id))

    done = await run(inbox_db, kind, job)  # no exception: the job completes
    words = f"the provider refused the number as invalid (Twilio error 21211): The 'To' number {NUMBER} is not a valid"
    assert done["bounced"].startswith(words) and refusing.asked == 1
    async with inbox_db.transaction() as session:
        stored = await session.get_one(Message, message.id)
        assert (stored.status, stored.error) == (BOUNCED, done["bounced"])
        assert (await session.get_one(Suppression, (org, NUMBER))).reason == "undeliverable"
        attempts = (
            await session.scalars(select(DeliveryAttempt).where(DeliveryAttempt.message_id == message.id))
        ).all()
        assert [(a.result, a.detail) for a in attempts] == [("refused", done["bounced"])]
        assert (await session.get_one(Thread, message.thread_id)).unread  # a bounce is news: seen in the inbox
    [event] = [e for e in await bounced_events(inbox_db) if e.message.message_id == str(message.id)]
    # The event keeps the code and the provider's words apart (sequences says them in its stop reason).
    assert (event.status_code, event.diagnostic) == ("21211", f"The 'To' number {NUMBER} is not a valid phone number.")

    # A dead letter of it from before (replayed): nothing is sent again, and its words are kept.
    again = await run(inbox_db, kind, job)
    assert isinstance(again["reply"], NotSent) and done["bounced"] in again["reply"] and refusing.asked == 1
    async with inbox_db.transaction() as session:
        assert (await session.get_one(Message, message.id, populate_existing=True)).status == BOUNCED


async def test_a_stop_the_provider_enforces_suppresses_the_number_as_unsubscribed(
    inbox_db: Database, settings: InboxSettings
) -> None:
    org = uuid.uuid4()
    message = await queued(inbox_db, settings, org)
    stopped = SmsRefused(21610, "Attempt to send to unsubscribed recipient", status=400, provider="twilio")
    done = await run(inbox_db, SendSms(db=inbox_db, sender=Refusing(stopped)), _sms_job(org, message))
    assert done["bounced"].startswith("the recipient texted STOP to this number")
    async with inbox_db.transaction() as session:
        assert (await session.get_one(Suppression, (org, NUMBER))).reason == "unsubscribed"


def _sms_job(org: uuid.UUID, message: Message) -> jobs_pb2.SendSmsJob:
    return jobs_pb2.SendSmsJob(org_id=str(org), message_id=str(message.id))


async def test_refused_credentials_are_a_fault_to_fix_the_job_fails_and_nothing_is_suppressed(
    inbox_db: Database, settings: InboxSettings
) -> None:
    org = uuid.uuid4()
    message = await queued(inbox_db, settings, org)
    refused = SmsRefused(20003, "Authenticate (HTTP 401): check TWILIO_ACCOUNT_SID", status=401, provider="twilio")
    kind, job = SendSms(db=inbox_db, sender=Refusing(refused)), _sms_job(org, message)
    with pytest.raises(SmsRefused):
        await run(inbox_db, kind, job)
    async with inbox_db.transaction() as session:  # what the worker does with a job that failed for good
        await kind.on_failure(session, job, str(refused))
    async with inbox_db.transaction() as session:
        stored = await session.get_one(Message, message.id)
        assert stored.status == FAILED and stored.error.startswith("the provider refused the account's credentials")
        assert await session.get(Suppression, (org, NUMBER)) is None


class RefusingServer:
    """The mailbox's SMTP server answering 550 to the recipient (aiosmtplib's refusal, as smtp.Connections reads it)."""

    def __init__(self) -> None:
        self.asked = 0

    async def send(self, server: Any, message: Any, *, sender: str, recipient: str, timeout_s: float) -> str:
        self.asked += 1
        raise smtp.Bounced(550, "5.1.1 <ada@example.com>: Recipient address rejected: User unknown")


async def test_an_email_the_server_refuses_with_a_5xx_is_bounced_and_its_job_completes(
    inbox_db: Database, settings: InboxSettings
) -> None:
    org = uuid.uuid4()
    message = await queued(inbox_db, settings, org, channel="email", to_address="ada@example.com", subject="Hello")
    kind, server = SendEmail(db=inbox_db, settings=settings), RefusingServer()
    kind.connections = server  # type: ignore[assignment]
    done = await run(inbox_db, kind, jobs_pb2.SendEmailJob(org_id=str(org), message_id=str(message.id)))
    assert done["bounced"] == "bounced: 550 5.1.1 <ada@example.com>: Recipient address rejected: User unknown"
    assert server.asked == 1
    async with inbox_db.transaction() as session:
        stored = await session.get_one(Message, message.id)
        assert stored.status == BOUNCED and stored.sent_at is None
        assert (await session.get_one(Suppression, (org, "ada@example.com"))).reason == "hard-bounced"
        assert await session.scalar(select(LedgerEntry.released).where(LedgerEntry.message_id == message.id))
    [event] = [e for e in await bounced_events(inbox_db) if e.message.message_id == str(message.id)]
    assert event.status_code == "5.1.1"
