"""A dry run's messages on a real PostgreSQL: kept (a run's receipts name them, and anyone in the org reads one by its
id) but in no thread, so the inbox never lists or counts them, they never move or answer a real conversation, a real
email later threads under what was really sent, and a text that comes back is filed with the real one. The mail
room's list of emails on their way or sent (what a lead run takes for a conversation going on) holds an email
waiting for its server, never a dry run's."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy import func, select, update

from inbox import delivery, inbound, sms, threads
from inbox.config import InboxSettings
from inbox.models import SENT, Base, Message, Thread
from inbox.servicer import DeliveryServicer, InboxServicer
from inbox.stats import InboxStatsServicer
from leadflood.inbox.v1 import delivery_pb2, inbox_pb2, stats_pb2
from leadflood_platform import context, migrations
from leadflood_platform.db import Database
from leadflood_platform.errors import InvalidArgument

NOW = dt.datetime.now(dt.UTC)
MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"


def request(**changes: object) -> delivery.SendRequest:
    fields: dict[str, object] = dict(
        idempotency_key=f"runs:{uuid.uuid4()}", channel="email", mailbox_id=None, lead_id=uuid.uuid4(),
        to_address="ada@example.com", to_name="Ada Lovelace", subject="Hello", text_body="Hi Ada", html_body="",
        thread_id=None, continue_lead_thread=False, not_after=None, dry_run=False, origin="runs",
    )  # fmt: skip
    return delivery.SendRequest(**{**fields, **changes})  # type: ignore[arg-type]


async def send(db: Database, settings: InboxSettings, org: uuid.UUID, req: delivery.SendRequest) -> delivery.Outcome:
    """Through the ORM path (a follow-up, a text, a batch's own turn), as SendMessage takes it."""
    async with db.transaction() as session:
        return await delivery.send(session=session, org_id=org, request=req, settings=settings, now=NOW)


async def send_plain(db: Database, settings: InboxSettings, org: uuid.UUID, *reqs: delivery.SendRequest) -> list[Any]:
    """Through the plain emails' few statements (one, or several together), as the servicer stores them."""
    async with db.driver(transaction=True) as conn:
        return await delivery.send_emails(
            into=conn, emails=[delivery.PlainEmail(org, r, NOW, {}) for r in reqs], settings=settings
        )


async def mark_sent(db: Database, *message_ids: uuid.UUID) -> None:
    """What the send job records once the server took it."""
    async with db.transaction() as session:
        await session.execute(update(Message).where(Message.id.in_(message_ids)).values(status=SENT, sent_at=NOW))


async def listed(db: Database, org: uuid.UUID) -> tuple[list[uuid.UUID], tuple[int, bool], tuple[int, int]]:
    """The inbox as its list shows it: the threads of every tab but archived, their total, (needs reply, unread)."""
    async with db.transaction() as session:
        page, _ = await threads.page(session, org, filter="all", lead_id=None, channel="", size=50, cursor="")
        total = await threads.total(session, org, filter="all", lead_id=None, channel="")
        return [s.thread.id for s in page], total, await threads.counts(session, org)


async def test_a_dry_run_is_in_no_thread_whichever_way_it_is_stored_and_the_inbox_never_shows_it(
    inbox_db: Database, settings: InboxSettings
) -> None:
    org = uuid.uuid4()
    [alone] = await send_plain(inbox_db, settings, org, request(dry_run=True))
    together = await send_plain(inbox_db, settings, org, request(dry_run=True), request(to_address="bo@example.com"))
    followed = await send(inbox_db, settings, org, request(dry_run=True, continue_lead_thread=True))
    texted = await send(inbox_db, settings, org, request(dry_run=True, channel="sms", to_address="+14155550123"))
    dry = [alone, together[0], followed, texted]
    assert [o.kind for o in dry] == ["simulated"] * 4
    assert all(o.message.thread_id is None and o.message.status == "simulated" for o in dry)
    real = together[1].message
    await mark_sent(inbox_db, real.id)
    # The real email beside them is the inbox's one conversation, in its list, its total and its figures.
    assert await listed(inbox_db, org) == ([real.thread_id], (1, False), (0, 0))
    stats, window = InboxStatsServicer(inbox_db), stats_pb2.StatsWindow(days=1)
    with context.bound(org_id=str(org)):
        figures = await stats.GetMessageStats(stats_pb2.GetMessageStatsRequest(window=window), None)
    assert figures.sent == 1
    # Reviewed by its id, by anyone in the org (the gateway asks for system mail for owners and admins only).
    with context.bound(org_id=str(org), caller="gateway"):
        for outcome in dry:
            got = await DeliveryServicer(inbox_db, settings).GetMessage(
                delivery_pb2.GetMessageRequest(message_id=str(outcome.message.id), with_system_mail=False), None
            )
            assert got.message.status == delivery_pb2.MESSAGE_STATUS_SIMULATED and got.message.thread_id == ""


async def test_a_dry_run_leaves_a_real_conversation_as_it_was_and_a_real_follow_up_threads_under_what_was_sent(
    inbox_db: Database, settings: InboxSettings
) -> None:
    org, lead = uuid.uuid4(), uuid.uuid4()
    first = (await send(inbox_db, settings, org, request(lead_id=lead))).message
    await mark_sent(inbox_db, first.id)
    async with inbox_db.transaction() as session:  # the lead answered: the thread waits for us
        await session.execute(update(Thread).where(Thread.id == first.thread_id).values(needs_reply=True, unread=True))
        before = await session.scalar(select(Thread.last_message_at).where(Thread.id == first.thread_id))
    dry = await send(inbox_db, settings, org, request(lead_id=lead, dry_run=True, continue_lead_thread=True))
    also = await send(inbox_db, settings, org, request(lead_id=lead, dry_run=True, thread_id=first.thread_id))
    assert dry.message.thread_id is None and also.message.thread_id is None
    async with inbox_db.transaction() as session:
        thread = await session.get_one(Thread, first.thread_id)
        assert (thread.needs_reply, thread.unread, thread.last_message_at) == (True, True, before)
    assert await listed(inbox_db, org) == ([first.thread_id], (1, False), (1, 1))

    real = (await send(inbox_db, settings, org, request(lead_id=lead, continue_lead_thread=True))).message
    assert real.thread_id == first.thread_id
    assert real.in_reply_to == first.rfc822_message_id and real.references == [first.rfc822_message_id]


async def test_a_real_email_after_a_dry_run_starts_the_lead_s_one_conversation(
    inbox_db: Database, settings: InboxSettings
) -> None:
    org, lead = uuid.uuid4(), uuid.uuid4()
    await send(inbox_db, settings, org, request(lead_id=lead, dry_run=True, continue_lead_thread=True))
    assert await listed(inbox_db, org) == ([], (0, False), (0, 0))
    real = (await send(inbox_db, settings, org, request(lead_id=lead, continue_lead_thread=True))).message
    assert real.thread_id is not None and real.in_reply_to is None and real.references == []
    assert await listed(inbox_db, org) == ([real.thread_id], (1, False), (0, 0))


async def test_a_text_back_after_a_dry_run_is_filed_in_the_real_conversation(
    inbox_db: Database, settings: InboxSettings
) -> None:
    org, lead, number = uuid.uuid4(), uuid.uuid4(), f"+1415{uuid.uuid4().int % 10_000_000:07d}"
    text = request(lead_id=lead, channel="sms", to_address=number, subject="", continue_lead_thread=True)
    real = (await send(inbox_db, settings, org, text)).message
    await mark_sent(inbox_db, real.id)
    dry = await send(inbox_db, settings, org, request(**{**text.__dict__, "idempotency_key": "dry", "dry_run": True}))
    assert dry.message.thread_id is None
    answer = sms.InboundSms(
        message_sid=f"SM{uuid.uuid4().hex}", account_sid="AC1", from_number=number, to_number="+15005550006",
        body="Yes, call me tomorrow", num_media=0, keyword="",
    )  # fmt: skip
    async with inbox_db.transaction() as session:
        assert await inbound.file_sms(session, answer, b"raw") == (True, "reply")
    async with inbox_db.transaction() as session:
        filed = await session.scalar(select(Message).where(Message.org_id == org, Message.direction == "in"))
        assert filed is not None and filed.thread_id == real.thread_id
        assert (await session.get_one(Thread, real.thread_id)).needs_reply


async def test_dry_runs_filed_in_threads_before_0007_are_taken_out_of_them(
    inbox_db: Database, scratch_dsn: str
) -> None:
    """A thread that held only a dry run goes; one that also holds real mail stays, its time back to its latest real
    message's; the simulated messages stay, in no thread."""
    run = dict(url=scratch_dsn, schema="inbox", script_location=MIGRATIONS, target_metadata=Base.metadata)
    await asyncio.to_thread(migrations.downgrade, **run, revision="0006")
    org, only_dry, mixed = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    real_at, dry_at = NOW - dt.timedelta(days=2), NOW - dt.timedelta(hours=1)
    conn = await asyncpg.connect(scratch_dsn)
    try:
        for thread in (only_dry, mixed):
            await conn.execute(
                "INSERT INTO inbox.threads (id, org_id, channel, subject, last_message_at, needs_reply, unread, "
                "archived) VALUES ($1, $2, 'email', 'Hi', $3, false, false, false)",
                thread, org, dry_at,
            )  # fmt: skip
        message = (
            "INSERT INTO inbox.messages (id, org_id, thread_id, channel, direction, status, from_address, to_address, "
            "to_name, subject, text_body, html_body, \"references\", origin, created_at) VALUES ($1, $2, $3, 'email', "
            "'out', $4, 'a@example.com', 'b@example.com', '', 'Hi', 'Hello', '', '{}', 'runs', $5)"
        )
        await conn.execute(message, uuid.uuid4(), org, only_dry, "simulated", dry_at)
        await conn.execute(message, uuid.uuid4(), org, mixed, "sent", real_at)
        await conn.execute(message, uuid.uuid4(), org, mixed, "simulated", dry_at)
        await asyncio.to_thread(migrations.upgrade, **run)
        kept = await conn.fetch("SELECT id, last_message_at FROM inbox.threads WHERE org_id = $1", org)
        assert [(r["id"], r["last_message_at"]) for r in kept] == [(mixed, real_at)]
        statuses = await conn.fetch("SELECT status, thread_id FROM inbox.messages WHERE org_id = $1", org)
        assert sorted((r["status"], r["thread_id"]) for r in statuses) == [
            ("sent", mixed), ("simulated", None), ("simulated", None),
        ]  # fmt: skip
    finally:
        await conn.close()


async def test_inbox_servicer_lists_no_dry_run(inbox_db: Database, settings: InboxSettings) -> None:
    """The same through ListThreads, as the gateway asks for the Inbox page: its list, its total and its tabs."""
    org = uuid.uuid4()
    await send_plain(inbox_db, settings, org, request(dry_run=True), request(dry_run=True, to_address="bo@example.com"))
    with context.bound(org_id=str(org)):
        reply = await InboxServicer(inbox_db, settings).ListThreads(
            inbox_pb2.ListThreadsRequest(page_size=50, with_total=True), None
        )
    assert (len(reply.threads), reply.total, reply.needs_reply_count, reply.unread_count) == (0, 0, 0, 0)
    assert await _count(inbox_db, Message.org_id == org) == 2  # kept, for the run's review


async def _count(db: Database, *where: Any) -> int:
    async with db.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(Message).where(*where)) or 0)


async def _emailed(db: Database, org: uuid.UUID, category: int, *leads: uuid.UUID | str) -> set[str]:
    """The leads of the category's messages in the org's list (of these leads' alone, when given)."""
    stats = InboxStatsServicer(db)
    asked = stats_pb2.ListMessagesRequest(
        category=category, window=stats_pb2.StatsWindow(days=1), page_size=50, lead_ids=[str(lead) for lead in leads]
    )
    with context.bound(org_id=str(org)):
        reply = await stats.ListMessages(asked, None)
    assert reply.total == len(reply.messages)
    return {m.lead_id for m in reply.messages}


async def test_an_email_waiting_for_its_server_is_emailed_not_yet_sent(
    inbox_db: Database, settings: InboxSettings
) -> None:
    org = uuid.uuid4()
    waiting, delivered, dry = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    queued = await send_plain(
        inbox_db,
        settings,
        org,
        request(lead_id=waiting, to_address="wait@example.com"),
        request(lead_id=delivered, to_address="done@example.com"),
        request(lead_id=dry, to_address="dry@example.com", dry_run=True),
    )
    assert [o.kind for o in queued] == ["queued", "queued", "simulated"]
    await mark_sent(inbox_db, queued[1].message.id)
    assert await _emailed(inbox_db, org, stats_pb2.MESSAGE_CATEGORY_EMAILED) == {str(waiting), str(delivered)}
    assert await _emailed(inbox_db, org, stats_pb2.MESSAGE_CATEGORY_SENT) == {str(delivered)}
    # Another org's list holds none of them.
    assert await _emailed(inbox_db, uuid.uuid4(), stats_pb2.MESSAGE_CATEGORY_EMAILED) == set()
    # Asked about some leads (as a lead run asks about those it found): theirs alone.
    assert await _emailed(inbox_db, org, stats_pb2.MESSAGE_CATEGORY_EMAILED, waiting, dry, uuid.uuid4()) == {
        str(waiting)
    }
    with pytest.raises(InvalidArgument, match="lead_ids"):
        await _emailed(inbox_db, org, stats_pb2.MESSAGE_CATEGORY_EMAILED, "not-an-id")
    with pytest.raises(InvalidArgument, match="lead_ids"):
        await _emailed(inbox_db, org, stats_pb2.MESSAGE_CATEGORY_EMAILED, *(uuid.uuid4() for _ in range(501)))
