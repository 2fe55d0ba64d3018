"""The suppression list takes phone numbers as well as email addresses, on a real PostgreSQL: a number added by hand,
however it was written, is kept in E.164, found by a search spaced as people write it, removed as typed, and stops
every text to it, at the send and at the worker's last look before the provider; bad input names its field."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import select

from inbox import delivery, suppressions
from inbox.config import InboxSettings
from inbox.models import SUPPRESSED, Message
from inbox.servicer import InboxServicer
from inbox.sms import SandboxSms
from inbox.workers import NOT_SENT, SendSms
from leadflood.inbox.v1 import inbox_pb2, jobs_pb2
from leadflood_platform import context
from leadflood_platform.db import Database
from leadflood_platform.errors import InvalidArgument, NotFound

NOW = dt.datetime.now(dt.UTC)


def _number() -> str:
    return f"+1415{uuid.uuid4().int % 10_000_000:07d}"


def _text(to: str) -> delivery.SendRequest:
    return delivery.SendRequest(
        idempotency_key=f"test:{uuid.uuid4()}", channel="sms", mailbox_id=None, lead_id=uuid.uuid4(), to_address=to,
        to_name="Ada", subject="", text_body="Hi Ada", html_body="", thread_id=None, continue_lead_thread=False,
        not_after=None, dry_run=False, origin="test",
    )  # fmt: skip


async def _send(db: Database, settings: InboxSettings, org: uuid.UUID, to: str) -> delivery.Outcome:
    async with db.transaction() as session:
        return await delivery.send(session=session, org_id=org, request=_text(to), settings=settings, now=NOW)


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("Ada@Example.COM", "ada@example.com"),
        (" +1 (415) 555-0123 ", "+14155550123"),
        ("+44 20 7946 0958", "+442079460958"),
        ("+49.30.1234567", "+49301234567"),
    ],
)
def test_an_address_or_a_number_is_listed_as_sends_compare_it(given: str, kept: str) -> None:
    assert suppressions.listed_as(given) == kept


@pytest.mark.parametrize(
    ("given", "says"),
    [
        ("415 555 0123", "international form"),  # no country code: the same digits reach different people
        ("+1 415", "international form"),
        ("ada@", "@-sign"),
        ("not an address", "neither an email address nor a phone number"),
    ],
)
def test_anything_else_is_refused_naming_the_address(given: str, says: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        suppressions.listed_as(given)
    [violation] = refused.value.violations
    assert violation.field == "address" and says in violation.message


async def test_a_number_suppressed_by_hand_stops_its_texts_until_it_is_removed(
    inbox_db: Database, settings: InboxSettings
) -> None:
    org, number = uuid.uuid4(), _number()
    written = f"+1 ({number[2:5]}) {number[5:8]}-{number[8:]}"  # as a person types it
    queued = await _send(inbox_db, settings, org, number)  # queued before the number was suppressed
    assert queued.kind == "queued"
    inbox = InboxServicer(inbox_db, settings)
    with context.bound(org_id=str(org)):
        added = await inbox.AddSuppression(inbox_pb2.AddSuppressionRequest(address=written), None)
        again = await inbox.AddSuppression(inbox_pb2.AddSuppressionRequest(address=number), None)
        searched = await inbox.ListSuppressions(
            inbox_pb2.ListSuppressionsRequest(query=f"({number[2:5]}) {number[5:8]}", with_total=True), None
        )
    assert (added.added, added.suppression.address, added.suppression.reason) == (True, number, "by-hand")
    assert not again.added  # listed already, whichever way it is written
    assert [s.address for s in searched.suppressions] == [number] and searched.total == 1

    refused = await _send(inbox_db, settings, org, written)
    assert refused.kind == "suppressed" and refused.message.status == SUPPRESSED and "by-hand" in refused.reason
    # The text queued before is stopped at the worker's last look: the provider is never asked.
    provider = SandboxSms()
    worker = SendSms(db=inbox_db, sender=provider)
    job = jobs_pb2.SendSmsJob(org_id=str(org), message_id=str(queued.message.id))
    assert await worker.perform(job, 1) == NOT_SENT
    assert list(provider.sent) == []
    async with inbox_db.transaction() as session:
        assert await session.scalar(select(Message.status).where(Message.id == queued.message.id)) == SUPPRESSED

    with context.bound(org_id=str(org)):
        await inbox.RemoveSuppression(inbox_pb2.RemoveSuppressionRequest(address=written), None)
        with pytest.raises(NotFound):
            await inbox.RemoveSuppression(inbox_pb2.RemoveSuppressionRequest(address=number), None)
    assert (await _send(inbox_db, settings, org, number)).kind == "queued"


async def test_an_entry_listed_before_today_s_rules_can_still_be_removed(inbox_db: Database) -> None:
    org = uuid.uuid4()
    async with inbox_db.transaction() as session:
        session.add(suppressions.Suppression(org_id=org, address="postmaster@localhost", reason="hard-bounced"))
    with pytest.raises(InvalidArgument):
        suppressions.listed_as("postmaster@localhost")  # today it would be refused
    async with inbox_db.transaction() as session:
        await suppressions.remove(session, org, "postmaster@localhost")
        assert await suppressions.total(session, org, query="") == (0, False)
