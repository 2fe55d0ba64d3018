"""SendMessage's rules on a real PostgreSQL: one message per key, the cap as a ledger, spacing, suppression,
dry runs, drafts (never handed to a real SMTP server), windows, threading, and refusal of what would break an
email's headers."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from inbox import delivery
from inbox.config import InboxSettings
from inbox.models import LedgerEntry, Mailbox, Message, SendCounter, Suppression, Thread, platform_tables
from inbox.workers import SendEmail
from leadflood.inbox.v1 import jobs_pb2
from leadflood_platform.db import Database
from leadflood_platform.errors import FailedPrecondition, InvalidArgument, NotFound

NOW = dt.datetime(2026, 12, 7, 15, 0, tzinfo=dt.UTC)


def request(key: str = "", **changes: object) -> delivery.SendRequest:
    fields: dict[str, object] = dict(
        idempotency_key=key or f"test:{uuid.uuid4()}", channel="email", mailbox_id=None, lead_id=uuid.uuid4(),
        to_address="ada@example.com", to_name="Ada Lovelace", subject="Hello", text_body="Hi Ada", html_body="",
        thread_id=None, continue_lead_thread=False, not_after=None, dry_run=False, origin="test",
    )  # fmt: skip
    return delivery.SendRequest(**{**fields, **changes})  # type: ignore[arg-type]


async def send(db: Database, settings: InboxSettings, org: uuid.UUID, req: delivery.SendRequest, now=NOW):  # type: ignore[no-untyped-def]
    async with db.transaction() as session:
        return await delivery.send(session=session, org_id=org, request=req, settings=settings, now=now)


async def count(db: Database, *where: object, table=Message) -> int:  # type: ignore[no-untyped-def]
    async with db.transaction() as session:
        return await session.scalar(select(func.count()).select_from(table).where(*where))  # type: ignore[arg-type]


async def jobs_of(db: Database, org: uuid.UUID) -> int:
    return await count(db, platform_tables.jobs.c.org_id == org, table=platform_tables.jobs)


async def test_the_same_key_twice_is_one_message_with_one_job_and_one_charge(
    inbox_db: Database, settings: InboxSettings
) -> None:
    org = uuid.uuid4()
    first = await send(inbox_db, settings, org, request("seq:1:1"))
    again = await send(inbox_db, settings, org, request("seq:1:1", subject="something else"))
    assert first.kind == again.kind == "queued" and not first.existing and again.existing
    assert again.message.id == first.message.id and again.message.subject == "Hello"
    assert first.message.rfc822_message_id.startswith("<") and first.message.rfc822_message_id.endswith(">")
    assert await count(inbox_db, Message.org_id == org) == 1
    assert await count(inbox_db, LedgerEntry.org_id == org, table=LedgerEntry) == 1
    assert await jobs_of(inbox_db, org) == 1


async def test_concurrent_sends_of_one_key_make_one_message(inbox_db: Database, settings: InboxSettings) -> None:
    org = uuid.uuid4()
    outcomes = await asyncio.gather(*(send(inbox_db, settings, org, request("runs:7:lead:email")) for _ in range(8)))
    assert len({o.message.id for o in outcomes}) == 1
    assert sum(not o.existing for o in outcomes) == 1
    assert await count(inbox_db, Message.org_id == org) == 1 and await jobs_of(inbox_db, org) == 1


async def _capped_mailbox(
    db: Database, org: uuid.UUID, *, cap: int, spacing_s: int = 0, zone: str = "UTC", smtp_port: int = 1
) -> uuid.UUID:
    mailbox = Mailbox(
        id=uuid.uuid4(), org_id=org, from_address=f"sales-{uuid.uuid4().hex[:6]}@acme.test", from_name="Sales",
        smtp_host="127.0.0.1", smtp_port=smtp_port, smtp_starttls=False, smtp_username="", smtp_password_ref="",
        daily_cap=cap, min_spacing_s=spacing_s, time_zone=zone, is_default=True,
    )  # fmt: skip
    async with db.transaction() as session:
        session.add(mailbox)
    return mailbox.id


async def test_twenty_senders_at_once_never_exceed_the_cap_and_the_rest_learn_when_to_come_back(
    inbox_db: Database, settings: InboxSettings
) -> None:
    org = uuid.uuid4()
    mailbox = await _capped_mailbox(inbox_db, org, cap=5, zone="America/New_York")
    outcomes = await asyncio.gather(*(send(inbox_db, settings, org, request()) for _ in range(20)))
    assert sorted(o.kind for o in outcomes).count("queued") == 5
    deferred = [o for o in outcomes if o.kind == "deferred"]
    assert len(deferred) == 15 and all(o.message is None for o in deferred)
    # 15:00 UTC is 10:00 in New York: the mailbox's next local day starts at 05:00 UTC.
    assert {o.retry_at for o in deferred} == {dt.datetime(2026, 12, 8, 5, 0, tzinfo=dt.UTC)}
    assert "daily cap of 5" in deferred[0].reason
    assert await count(inbox_db, LedgerEntry.mailbox_id == mailbox, table=LedgerEntry) == 5
    assert await count(inbox_db, Message.org_id == org) == 5  # nothing stored for a deferred send


async def test_a_released_charge_frees_its_place_under_the_cap(inbox_db: Database, settings: InboxSettings) -> None:
    org = uuid.uuid4()
    await _capped_mailbox(inbox_db, org, cap=1)
    first = await send(inbox_db, settings, org, request())
    assert (await send(inbox_db, settings, org, request())).kind == "deferred"
    async with inbox_db.transaction() as session:  # what a failed send does to its charge
        entry = await session.scalar(select(LedgerEntry).where(LedgerEntry.message_id == first.message.id))
        entry.released = True
    assert (await send(inbox_db, settings, org, request())).kind == "queued"


async def test_spacing_defers_until_the_last_send_plus_the_spacing(inbox_db: Database, settings: InboxSettings) -> None:
    org = uuid.uuid4()
    await _capped_mailbox(inbox_db, org, cap=100, spacing_s=60)
    assert (await send(inbox_db, settings, org, request(), now=dt.datetime.now(dt.UTC))).kind == "queued"
    later = await send(inbox_db, settings, org, request(), now=dt.datetime.now(dt.UTC))
    assert later.kind == "deferred" and "every 60 s" in later.reason
    assert dt.timedelta(seconds=55) < later.retry_at - dt.datetime.now(dt.UTC) <= dt.timedelta(seconds=60)


async def test_a_closed_window_is_deferred_and_stores_nothing(inbox_db: Database, settings: InboxSettings) -> None:
    org = uuid.uuid4()
    outcome = await send(inbox_db, settings, org, request(not_after=NOW - dt.timedelta(seconds=1)))
    assert outcome.kind == "deferred" and "window closed" in outcome.reason and outcome.retry_at is None
    assert await count(inbox_db, Message.org_id == org) == 0


async def test_a_suppressed_address_is_stored_never_queued_nor_charged(
    inbox_db: Database, settings: InboxSettings
) -> None:
    org = uuid.uuid4()
    async with inbox_db.transaction() as session:
        session.add(Suppression(org_id=org, address="ada@example.com", reason="unsubscribed"))
    outcome = await send(inbox_db, settings, org, request(to_address="Ada@Example.com"))
    assert outcome.kind == "suppressed" and "unsubscribed" in outcome.reason
    assert outcome.message.status == "suppressed"
    assert (
        await count(inbox_db, LedgerEntry.org_id == org, table=LedgerEntry) == 0 and await jobs_of(inbox_db, org) == 0
    )
    # Another org's list is its own.
    assert (await send(inbox_db, settings, uuid.uuid4(), request())).kind == "queued"


async def test_a_dry_run_is_recorded_as_simulated_without_a_job_or_a_charge(
    inbox_db: Database, settings: InboxSettings
) -> None:
    org = uuid.uuid4()
    outcome = await send(inbox_db, settings, org, request(dry_run=True))
    assert outcome.kind == "simulated" and outcome.message.status == "simulated"
    assert (
        await jobs_of(inbox_db, org) == 0 and await count(inbox_db, LedgerEntry.org_id == org, table=LedgerEntry) == 0
    )


async def test_a_follow_up_threads_under_the_thread_s_latest_message(
    inbox_db: Database, settings: InboxSettings
) -> None:
    org, lead = uuid.uuid4(), uuid.uuid4()
    first = await send(inbox_db, settings, org, request(lead_id=lead))
    second = await send(inbox_db, settings, org, request(lead_id=lead, thread_id=first.message.thread_id))
    third = await send(inbox_db, settings, org, request(lead_id=lead, continue_lead_thread=True))
    ids = [first.message.rfc822_message_id, second.message.rfc822_message_id]
    assert second.message.thread_id == third.message.thread_id == first.message.thread_id
    assert second.message.in_reply_to == ids[0] and second.message.references == ids[:1]
    assert third.message.in_reply_to == ids[1] and third.message.references == ids
    other = await send(inbox_db, settings, org, request(lead_id=uuid.uuid4(), continue_lead_thread=True))
    assert other.message.thread_id != first.message.thread_id and other.message.in_reply_to is None


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"subject": "Hi\r\nBcc: everyone@example.com"}, "subject"),
        ({"to_name": "Ada\nBcc: x@example.com"}, "to.name"),
        ({"to_address": "not an address"}, "to.email"),
        ({"text_body": "  "}, "text_body"),
        ({"idempotency_key": " "}, "idempotency_key"),
        ({"channel": "fax"}, "channel"),
    ],
)
async def test_what_would_break_an_email_is_refused_before_anything_is_stored(
    inbox_db: Database, settings: InboxSettings, changes: dict[str, object], field: str
) -> None:
    org = uuid.uuid4()
    with pytest.raises(InvalidArgument) as refused:
        await send(inbox_db, settings, org, request(**changes))
    assert field in [v.field for v in refused.value.violations]
    assert await count(inbox_db, Message.org_id == org) == 0


async def test_without_a_mailbox_or_the_local_default_a_send_is_a_failed_precondition(
    inbox_db: Database, settings: InboxSettings
) -> None:
    remote = settings.model_copy(update={"smtp_capture_port": None})
    with pytest.raises(FailedPrecondition, match="no mailbox"):
        await send(inbox_db, remote, uuid.uuid4(), request())


async def deliver_queued(db: Database, settings: InboxSettings, org: uuid.UUID) -> int:
    """Every job queued for the org, through the send job's own steps (claim and load, send, mark sent), as
    the worker runs them; how many there were."""
    async with db.transaction() as session:
        rows = (await session.execute(select(platform_tables.jobs.c.message).where(
            platform_tables.jobs.c.org_id == org, platform_tables.jobs.c.type == SendEmail.type
        ))).all()  # fmt: skip
    kind = SendEmail(db=db, settings=settings)
    for (raw,) in rows:
        job = jobs_pb2.SendEmailJob.FromString(raw)
        async with db.transaction() as session:
            await kind.on_start(session, job)
        reply = await kind.perform(job, 1)
        async with db.transaction() as session:
            await kind.apply(session, job, reply)
    return len(rows)


async def test_a_draft_is_stored_in_its_thread_with_its_message_id(inbox_db: Database, settings: InboxSettings) -> None:
    org, lead = uuid.uuid4(), uuid.uuid4()
    first = await send(inbox_db, settings, org, request(lead_id=lead))
    draft = await send(inbox_db, settings, org, request(lead_id=lead, thread_id=first.message.thread_id, draft=True))
    assert draft.kind == "drafted" and draft.message.status == "draft" and not draft.existing
    assert draft.message.thread_id == first.message.thread_id
    assert draft.message.rfc822_message_id.startswith("<") and draft.message.rfc822_message_id.endswith(">")
    assert draft.message.in_reply_to == first.message.rfc822_message_id
    # A new thread of its own, on the plain-email path.
    alone = await send(inbox_db, settings, org, request(draft=True))
    async with inbox_db.transaction() as session:
        stored = await session.get_one(Message, alone.message.id)
        assert stored.status == "draft" and stored.rfc822_message_id == alone.message.rfc822_message_id
        assert await session.get(Thread, alone.message.thread_id) is not None
    # Nobody received the draft, so the next message threads under the last one that was sent.
    follow_up = await send(inbox_db, settings, org, request(lead_id=lead, thread_id=first.message.thread_id))
    assert follow_up.message.in_reply_to == first.message.rfc822_message_id


async def test_the_same_draft_key_twice_is_one_message(inbox_db: Database, settings: InboxSettings) -> None:
    org = uuid.uuid4()
    outcomes = await asyncio.gather(*(send(inbox_db, settings, org, request("runs:1:lead:email", draft=True))
                                      for _ in range(6)))  # fmt: skip
    assert {o.kind for o in outcomes} == {"drafted"} and len({o.message.id for o in outcomes}) == 1
    assert sum(not o.existing for o in outcomes) == 1
    again = await send(inbox_db, settings, org, request("runs:1:lead:email", draft=True, subject="changed"))
    assert again.existing and again.kind == "drafted" and again.message.subject == "Hello"
    assert await count(inbox_db, Message.org_id == org) == 1 and await jobs_of(inbox_db, org) == 0


async def test_a_draft_never_reaches_the_smtp_server(
    inbox_db: Database, settings: InboxSettings, witness: tuple[Any, int]
) -> None:
    server, port = witness
    org = uuid.uuid4()
    await _capped_mailbox(inbox_db, org, cap=10, smtp_port=port)
    sent = await send(inbox_db, settings, org, request(), now=dt.datetime.now(dt.UTC))
    draft = await send(inbox_db, settings, org, request(draft=True), now=dt.datetime.now(dt.UTC))
    assert await deliver_queued(inbox_db, settings, org) == 1
    assert server.message_ids == [sent.message.rfc822_message_id]  # the send arrived; the draft did not
    async with inbox_db.transaction() as session:
        assert (await session.get_one(Message, draft.message.id)).status == "draft"
        assert (await session.get_one(Message, sent.message.id)).status == "sent"


async def test_a_draft_charges_nothing_and_no_limit_holds_it_back(inbox_db: Database, settings: InboxSettings) -> None:
    org = uuid.uuid4()
    mailbox = await _capped_mailbox(inbox_db, org, cap=1, spacing_s=3600)
    assert (await send(inbox_db, settings, org, request())).kind == "queued"
    assert (await send(inbox_db, settings, org, request())).kind == "deferred"  # the cap (and the spacing) are full
    closed = NOW - dt.timedelta(hours=1)
    drafts = [await send(inbox_db, settings, org, request(draft=True, not_after=closed)) for _ in range(3)]
    assert [d.kind for d in drafts] == ["drafted"] * 3
    assert await count(inbox_db, LedgerEntry.mailbox_id == mailbox, table=LedgerEntry) == 1
    async with inbox_db.transaction() as session:
        counter = await session.scalar(select(SendCounter.sent).where(SendCounter.mailbox_id == mailbox))
    assert counter == 1 and await jobs_of(inbox_db, org) == 1


async def test_a_draft_to_a_suppressed_address_is_reported(inbox_db: Database, settings: InboxSettings) -> None:
    org = uuid.uuid4()
    async with inbox_db.transaction() as session:
        session.add(Suppression(org_id=org, address="ada@example.com", reason="unsubscribed"))
    outcome = await send(inbox_db, settings, org, request(draft=True))
    assert outcome.kind == "suppressed" and "unsubscribed" in outcome.reason


async def send_draft(db: Database, settings: InboxSettings, org: uuid.UUID, message_id: uuid.UUID, **edits: str):  # type: ignore[no-untyped-def]
    async with db.transaction() as session:
        return await delivery.send_draft(
            session=session, org_id=org, message_id=message_id, subject=edits.get("subject", ""),
            text_body=edits.get("text_body", ""), settings=settings, now=NOW,
        )  # fmt: skip


async def test_a_draft_sent_is_charged_and_queued_once_and_a_full_cap_keeps_it_a_draft(
    inbox_db: Database, settings: InboxSettings
) -> None:
    org = uuid.uuid4()
    mailbox = await _capped_mailbox(inbox_db, org, cap=1)
    draft = (await send(inbox_db, settings, org, request(draft=True))).message
    sent = await send_draft(inbox_db, settings, org, draft.id, subject="Edited", text_body="Edited body")
    assert sent.kind == "queued" and not sent.existing and sent.message.subject == "Edited"
    again = await send_draft(inbox_db, settings, org, draft.id)
    assert again.existing and again.message.id == draft.id
    assert await count(inbox_db, LedgerEntry.mailbox_id == mailbox, table=LedgerEntry) == 1
    assert await jobs_of(inbox_db, org) == 1

    other = (await send(inbox_db, settings, org, request(draft=True))).message
    deferred = await send_draft(inbox_db, settings, org, other.id)  # the cap of 1 is used
    assert deferred.kind == "deferred" and "daily cap of 1" in deferred.reason
    async with inbox_db.transaction() as session:
        assert (await session.get_one(Message, other.id)).status == "draft"
    assert await jobs_of(inbox_db, org) == 1


async def test_only_a_draft_of_the_org_is_sent(inbox_db: Database, settings: InboxSettings) -> None:
    org = uuid.uuid4()
    dry = (await send(inbox_db, settings, org, request(dry_run=True))).message
    with pytest.raises(FailedPrecondition, match="only a draft can be sent; this message is simulated"):
        await send_draft(inbox_db, settings, org, dry.id)
    draft = (await send(inbox_db, settings, org, request(draft=True))).message
    with pytest.raises(NotFound):
        await send_draft(inbox_db, settings, uuid.uuid4(), draft.id)  # another org's
    with pytest.raises(InvalidArgument):
        await send_draft(inbox_db, settings, org, draft.id, subject="two\r\nlines")


async def test_a_draft_cannot_also_be_a_dry_run(inbox_db: Database, settings: InboxSettings) -> None:
    with pytest.raises(InvalidArgument) as refused:
        await send(inbox_db, settings, uuid.uuid4(), request(draft=True, dry_run=True))
    assert "draft" in [v.field for v in refused.value.violations]


async def send_many(db: Database, settings: InboxSettings, org: uuid.UUID, reqs: list[delivery.SendRequest]):  # type: ignore[no-untyped-def]
    async with db.transaction() as session:
        return await delivery.send_many(session=session, org_id=org, requests=reqs, settings=settings, now=NOW)


async def test_a_batch_is_each_send_s_rules_in_order_and_one_key_twice_is_one_message(
    inbox_db: Database, settings: InboxSettings
) -> None:
    org = uuid.uuid4()
    mailbox = await _capped_mailbox(inbox_db, org, cap=2)
    batch = [request("b:1"), request("b:2", draft=True), request("b:1"), request("b:3"), request("b:4")]
    outcomes = await send_many(inbox_db, settings, org, batch)
    assert [o.kind for o in outcomes] == ["queued", "drafted", "queued", "queued", "deferred"]
    assert outcomes[2].existing and outcomes[2].message.id == outcomes[0].message.id
    assert "daily cap of 2" in outcomes[4].reason
    assert await count(inbox_db, Message.org_id == org) == 3 and await jobs_of(inbox_db, org) == 2
    assert await count(inbox_db, LedgerEntry.mailbox_id == mailbox, table=LedgerEntry) == 2


async def test_a_batch_with_a_request_send_would_refuse_stores_nothing_and_names_it(
    inbox_db: Database, settings: InboxSettings
) -> None:
    org = uuid.uuid4()
    batch = [request(), request(), request(thread_id=uuid.uuid4())]
    with pytest.raises(NotFound, match=r"requests\[2\]: thread"):
        await send_many(inbox_db, settings, org, batch)
    assert await count(inbox_db, Message.org_id == org) == 0 and await jobs_of(inbox_db, org) == 0


async def test_batches_sharing_keys_at_once_make_one_message_per_key(
    inbox_db: Database, settings: InboxSettings
) -> None:
    org = uuid.uuid4()
    keys = [f"k:{n}" for n in range(6)]
    # Each batch in its own order: the locks are taken in one order, so none waits on another in a cycle.
    batches = [[request(k) for k in (keys if n % 2 else list(reversed(keys)))] for n in range(4)]
    results = await asyncio.gather(*(send_many(inbox_db, settings, org, b) for b in batches))
    assert len({o.message.id for outcomes in results for o in outcomes}) == len(keys)
    assert await count(inbox_db, Message.org_id == org) == len(keys) and await jobs_of(inbox_db, org) == len(keys)


async def send_emails(db: Database, settings: InboxSettings, emails: list[tuple[uuid.UUID, delivery.SendRequest]]):  # type: ignore[no-untyped-def]
    """What the servicer does with concurrent SendMessage calls' plain emails: one transaction on a bare connection."""
    plain = [delivery.PlainEmail(org, req, NOW, {}) for org, req in emails]
    async with db.driver(transaction=True) as conn:
        return await delivery.send_emails(into=conn, emails=plain, settings=settings)


async def test_emails_stored_together_keep_each_one_s_rules(inbox_db: Database, settings: InboxSettings) -> None:
    org, other, capped, spaced = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    capped_box = await _capped_mailbox(inbox_db, capped, cap=3)
    await _capped_mailbox(inbox_db, spaced, cap=100, spacing_s=60)
    async with inbox_db.transaction() as session:
        session.add(Suppression(org_id=org, address="gone@example.com", reason="unsubscribed"))
    first = await send(inbox_db, settings, org, request("used"))
    batch = [
        (org, request("a")), (other, request("a")), (org, request("used")), (org, request("b", dry_run=True)),
        (org, request("c", to_address="Gone@Example.com")), (org, request("a")),
        (org, request("late", not_after=NOW - dt.timedelta(seconds=1))),
        *[(capped, request(f"cap:{n}")) for n in range(5)], *[(spaced, request(f"space:{n}")) for n in range(3)],
    ]  # fmt: skip
    outcomes = await send_emails(inbox_db, settings, batch)
    kinds = [o.kind for o in outcomes]
    assert kinds[:7] == ["queued", "queued", "queued", "simulated", "suppressed", "queued", "deferred"]
    assert outcomes[2].existing and outcomes[2].message.id == first.message.id  # a key used before
    assert outcomes[5].existing and outcomes[5].message.id == outcomes[0].message.id  # one key twice: one message
    assert outcomes[0].message.id != outcomes[1].message.id  # another org's key is its own
    # The cap of 3 used to its last place (the five charged one at a time once the batch would pass it), spacing
    # lets one of three go.
    assert kinds[7:12].count("queued") == 3 and "daily cap of 3" in outcomes[11].reason
    assert kinds[12:] == ["queued", "deferred", "deferred"]
    assert all(o.message.created_at is not None for o in outcomes if o.kind == "queued")
    assert await count(inbox_db, LedgerEntry.mailbox_id == capped_box, table=LedgerEntry) == 3
    assert await count(inbox_db, Message.org_id == org) == 4  # used (before), a, b (simulated), c (suppressed)
    assert await jobs_of(inbox_db, org) == 2 and await jobs_of(inbox_db, other) == 1
    async with inbox_db.transaction() as session:
        counted = await session.scalar(select(SendCounter.sent).where(SendCounter.mailbox_id == capped_box))
    assert counted == 3


async def test_a_batch_charged_together_under_the_cap_is_charged_once_each(
    inbox_db: Database, settings: InboxSettings
) -> None:
    org = uuid.uuid4()
    mailbox = await _capped_mailbox(inbox_db, org, cap=10)
    await send(inbox_db, settings, org, request())
    batches = [[(org, request()) for _ in range(4)] for _ in range(3)]
    results = await asyncio.gather(*(send_emails(inbox_db, settings, b) for b in batches))
    kinds = [o.kind for outcomes in results for o in outcomes]
    assert kinds.count("queued") == 9 and kinds.count("deferred") == 3
    async with inbox_db.transaction() as session:
        counted = await session.scalar(select(SendCounter.sent).where(SendCounter.mailbox_id == mailbox))
    assert counted == 10 and await count(inbox_db, LedgerEntry.mailbox_id == mailbox, table=LedgerEntry) == 10


async def test_a_batch_stores_its_plain_emails_together_beside_a_follow_up_and_an_unknown_mailbox(
    inbox_db: Database, settings: InboxSettings
) -> None:
    org, lead = uuid.uuid4(), uuid.uuid4()
    mailbox = await _capped_mailbox(inbox_db, org, cap=100)
    first = await send(inbox_db, settings, org, request(lead_id=lead))
    batch = [
        request("p:1"), request("p:2", lead_id=lead, continue_lead_thread=True), request("p:3"),
        request("p:4", to_address="Bea@Example.com"), request("p:1"),
    ]  # fmt: skip
    outcomes = await send_many(inbox_db, settings, org, batch)
    assert [o.kind for o in outcomes] == ["queued"] * 5
    assert outcomes[1].message.thread_id == first.message.thread_id  # the follow-up, in its lead's thread
    assert outcomes[4].existing and outcomes[4].message.id == outcomes[0].message.id
    assert outcomes[3].message.to_address == "Bea@example.com"  # validated as send does
    assert await count(inbox_db, LedgerEntry.mailbox_id == mailbox, table=LedgerEntry) == 5
    assert await jobs_of(inbox_db, org) == 5
    unknown = [request("u:1"), request("u:2", mailbox_id=uuid.uuid4())]
    with pytest.raises(NotFound, match=r"requests\[1\]: mailbox"):
        await send_many(inbox_db, settings, org, unknown)
    assert await jobs_of(inbox_db, org) == 5  # the batch stored nothing
