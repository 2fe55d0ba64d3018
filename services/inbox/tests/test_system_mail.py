"""System mail (an invitation, its join link in its body) on a real PostgreSQL: sent and charged like any email but
in no thread, so no inbox list, figure or thread shows it; a reply to it files nowhere, a bounce about it still
bounces and suppresses; only a caller that may read it (the gateway, for owners and admins) reads it back."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select, update

from inbox import delivery, inbound, threads
from inbox.classify import Classification
from inbox.config import InboxSettings
from inbox.models import BOUNCED, SENT, CapturedMail, LedgerEntry, Message, Suppression, Thread, platform_tables
from inbox.servicer import DeliveryServicer, InboxServicer
from inbox.stats import InboxStatsServicer
from leadflood.inbox.v1 import delivery_pb2, inbox_pb2, stats_pb2
from leadflood_platform import context
from leadflood_platform.db import Database
from leadflood_platform.errors import InvalidArgument, NotFound

NOW = dt.datetime.now(dt.UTC)
LINK = "https://app.example/#/join/the-secret-token"


def request(origin: str, key: str = "", **changes: object) -> delivery.SendRequest:
    fields: dict[str, object] = dict(
        idempotency_key=key or f"{origin}:{uuid.uuid4()}", channel="email", mailbox_id=None, lead_id=None,
        to_address="new.admin@example.com", to_name="", subject="owner@example.com invites you to Acme",
        text_body=f"Open this link to join: {LINK}", html_body="", thread_id=None, continue_lead_thread=False,
        not_after=None, dry_run=False, origin=origin,
    )  # fmt: skip
    return delivery.SendRequest(**{**fields, **changes})  # type: ignore[arg-type]


async def send_plain(db: Database, settings: InboxSettings, org: uuid.UUID, *reqs: delivery.SendRequest) -> list[Any]:
    """As the servicer stores concurrent SendMessage calls' plain emails (one, or several together)."""
    async with db.driver(transaction=True) as conn:
        emails = [delivery.PlainEmail(org, r, NOW, {}) for r in reqs]
        return await delivery.send_emails(into=conn, emails=emails, settings=settings)


async def scalar(db: Database, query: Any) -> Any:
    async with db.transaction() as session:
        return await session.scalar(query)


async def mark_sent(db: Database, *message_ids: uuid.UUID) -> None:
    """What the send job records once the server took it (the delivery itself is test_delivery's)."""
    async with db.transaction() as session:
        await session.execute(update(Message).where(Message.id.in_(message_ids)).values(status=SENT, sent_at=NOW))


async def test_an_invitation_is_sent_and_charged_in_no_thread_whichever_way_it_is_stored(
    inbox_db: Database, settings: InboxSettings
) -> None:
    org = uuid.uuid4()
    [alone] = await send_plain(inbox_db, settings, org, request("invitation"))
    together = await send_plain(inbox_db, settings, org, request("invitation"), request("manual", lead_id=uuid.uuid4()))
    async with inbox_db.transaction() as session:  # the ORM path (an SMS, a follow-up, a batch's own turn)
        by_session = await delivery.send(
            session=session, org_id=org, request=request("invitation"), settings=settings, now=NOW
        )
    invitations = [alone, together[0], by_session]
    assert [o.kind for o in invitations] == ["queued"] * 3
    assert all(o.message.thread_id is None for o in invitations)
    assert together[1].message.thread_id is not None  # the outreach beside it has its thread
    assert await scalar(inbox_db, select(func.count()).where(Thread.org_id == org)) == 1
    # Charged under the cap and queued as any send: the mail room's guarantees hold.
    assert await scalar(inbox_db, select(func.count()).where(LedgerEntry.org_id == org)) == 4
    jobs = platform_tables.jobs
    assert await scalar(inbox_db, select(func.count()).select_from(jobs).where(jobs.c.org_id == org)) == 4
    again = await send_plain(inbox_db, settings, org, request("invitation", key=alone.message.idempotency_key))
    assert again[0].existing and again[0].message.id == alone.message.id


@pytest.mark.parametrize(
    "changes", [{"thread_id": uuid.uuid4()}, {"continue_lead_thread": True, "lead_id": uuid.uuid4()}, {"draft": True}]
)
def test_an_invitation_cannot_be_put_in_a_thread(changes: dict[str, object]) -> None:
    with pytest.raises(InvalidArgument) as refused:
        delivery.validate(request("invitation", **changes))
    assert [v.field for v in refused.value.violations] == list(changes)[:1]


async def test_no_list_figure_or_thread_shows_an_invitation(inbox_db: Database, settings: InboxSettings) -> None:
    org = uuid.uuid4()
    invitation, outreach = await send_plain(
        inbox_db, settings, org, request("invitation"), request("manual", lead_id=uuid.uuid4())
    )
    await mark_sent(inbox_db, invitation.message.id, outreach.message.id)
    async with inbox_db.transaction() as session:
        listed, _ = await threads.page(session, org, filter="all", lead_id=None, channel="", size=50, cursor="")
        assert [s.thread.id for s in listed] == [outreach.message.thread_id]
        assert await threads.total(session, org, filter="all", lead_id=None, channel="") == (1, False)
    stats, window = InboxStatsServicer(inbox_db), stats_pb2.StatsWindow(days=1)
    with context.bound(org_id=str(org)):
        figures = await stats.GetMessageStats(stats_pb2.GetMessageStatsRequest(window=window), None)
        sent = await stats.ListMessages(
            stats_pb2.ListMessagesRequest(category=stats_pb2.MESSAGE_CATEGORY_SENT, window=window), None
        )
    assert figures.sent == 1 and [m.id for m in sent.messages] == [str(outreach.message.id)] and sent.total == 1


def reply_to(message: Message, **changes: Any) -> Classification:
    fields: dict[str, Any] = dict(
        kind="reply", reason="a person's reply", message_id=f"<{uuid.uuid4()}@mail.example>",
        in_reply_to=message.rfc822_message_id, from_address=message.to_address, subject=f"Re: {message.subject}",
        to_addresses=(message.from_address,),
    )  # fmt: skip
    return Classification(**{**fields, **changes})


async def file(db: Database, found: Classification, text: str) -> inbound.Filed:
    async with db.transaction() as session:
        raw_id = await inbound.keep_raw(session, text.encode(), message_id=found.message_id, source="smtp")
        assert raw_id is not None
        return await inbound.file(session, raw_id, found, text)


async def test_a_reply_to_an_invitation_files_nowhere_and_a_bounce_still_bounces(
    inbox_db: Database, settings: InboxSettings
) -> None:
    org = uuid.uuid4()
    [sent] = await send_plain(inbox_db, settings, org, request("invitation"))
    invitation = sent.message
    await mark_sent(inbox_db, invitation.id)
    for found in (
        reply_to(invitation),  # by its Message-ID
        reply_to(invitation, in_reply_to=None),  # by its sender and subject
        reply_to(invitation, kind="auto_reply", reason="Auto-Submitted: auto-replied"),
    ):
        filed = await file(inbox_db, found, f"What is this?\n\n> Open this link to join: {LINK}")
        assert (filed.status, filed.message) == (inbound.SYSTEM_MAIL, None)
    assert await scalar(inbox_db, select(func.count()).where(Message.org_id == org)) == 1  # the invitation alone
    bounce = Classification(
        kind="bounce", reason="delivery-status report", message_id=f"<{uuid.uuid4()}@mx.example>",
        bounce_type="hard", status="5.1.1", failed_recipients=(invitation.to_address,), diagnostic="550 5.1.1 unknown",
        original_message_id=invitation.rfc822_message_id,
    )  # fmt: skip
    filed = await file(inbox_db, bounce, f"550 5.1.1 unknown\n\n{LINK}")
    assert filed.status == inbound.PROCESSED and filed.message.thread_id is None
    assert await scalar(inbox_db, select(Message.status).where(Message.id == invitation.id)) == BOUNCED
    suppressed = await scalar(inbox_db, select(Suppression.reason).where(Suppression.org_id == org))
    assert suppressed == "hard-bounced"
    assert await scalar(inbox_db, select(func.count()).where(Thread.org_id == org)) == 0
    with context.bound(org_id=str(org)):
        figures = await InboxStatsServicer(inbox_db).GetMessageStats(
            stats_pb2.GetMessageStatsRequest(window=stats_pb2.StatsWindow(days=1)), None
        )
    assert (figures.sent, figures.replied, figures.bounced) == (0, 0, 0)


@pytest.mark.parametrize(
    ("caller", "asks", "reads"),
    [("gateway", True, True), ("gateway", False, False), ("team:analytics", True, False)],
)
async def test_only_a_caller_that_may_read_system_mail_reads_an_invitation_back(
    inbox_db: Database, settings: InboxSettings, caller: str, asks: bool, reads: bool
) -> None:
    org = uuid.uuid4()
    invitation, outreach = await send_plain(
        inbox_db, settings, org, request("invitation"), request("manual", lead_id=uuid.uuid4())
    )
    captured: dict[uuid.UUID, int] = {}
    async with inbox_db.transaction() as session:  # what the local default's capture server kept of both
        for sent in (invitation, outreach):
            message = sent.message
            row = CapturedMail(
                mail_from="outreach@leadflood.local", rcpt_to=[message.to_address],
                rfc822_message_id=message.rfc822_message_id, subject=message.subject,
                raw=f"Message-ID: {message.rfc822_message_id}\r\n\r\n{message.text_body}\r\n".encode(),
            )  # fmt: skip
            session.add(row)
            await session.flush()
            captured[message.id] = row.id
    mail, box = InboxServicer(inbox_db, settings), DeliveryServicer(inbox_db, settings)
    with context.bound(org_id=str(org), caller=caller):
        page = inbox_pb2.ListCapturedMailRequest(page_size=50, with_total=True, with_system_mail=asks)
        listed = await mail.ListCapturedMail(page, None)
        shown = [outreach.message.id, *([invitation.message.id] if reads else [])]
        assert sorted(m.id for m in listed.mail) == sorted(captured[i] for i in shown) and listed.total == len(shown)
        one = inbox_pb2.GetCapturedMailRequest(id=captured[invitation.message.id], with_system_mail=asks)
        message = delivery_pb2.GetMessageRequest(message_id=str(invitation.message.id), with_system_mail=asks)
        answer = inbox_pb2.ReplyAsRecipientRequest(
            captured_mail_id=captured[invitation.message.id], text="Thanks", with_system_mail=asks
        )
        # Which one is system mail, for the Mail view (it offers no "Reply as the lead" on it).
        assert {m.id: m.system_mail for m in listed.mail} == {
            captured[outreach.message.id]: False,
            **({captured[invitation.message.id]: True} if reads else {}),
        }
        if reads:
            opened = (await mail.GetCapturedMail(one, None)).mail
            assert LINK in opened.raw.decode() and opened.system_mail
            assert LINK in (await box.GetMessage(message, None)).message.text_body
        else:
            for call, asked in (
                (mail.GetCapturedMail, one),
                (box.GetMessage, message),
                (mail.ReplyAsRecipient, answer),
            ):
                with pytest.raises(NotFound):
                    await call(asked, None)
        # An outreach email reads back whoever asks.
        outreach_message = delivery_pb2.GetMessageRequest(message_id=str(outreach.message.id))
        assert (await box.GetMessage(outreach_message, None)).message.thread_id == str(outreach.message.thread_id)
