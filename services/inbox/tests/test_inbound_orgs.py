"""Two orgs write to the same person, on a real PostgreSQL: what comes back found by its sender (a reply without
threading headers, a bounce naming only the address, a STOP) is filed in, and suppresses in, the org whose
message it answers, told by the address or number it was sent to; where both orgs wrote from the same sender
(the local default's one mailbox, the deployment's one Twilio number) it is filed in neither. A bounce or a
complaint brings its conversation to the top of the list, unread, without asking for a reply."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, update

from inbox import delivery, inbound, sms, suppressions, threads, unsubscribe
from inbox.classify import Classification
from inbox.config import InboxSettings
from inbox.models import BOUNCED, IN, SENT, InboundRaw, Mailbox, Message, Suppression, Thread, platform_tables
from leadflood.inbox.v1 import events_pb2
from leadflood_platform.db import Database

NOW = dt.datetime.now(dt.UTC)
DANA, DANA_PHONE = "dana@firstsystems.example", "+442079460958"


def request(**changes: object) -> delivery.SendRequest:
    fields: dict[str, object] = dict(
        idempotency_key=f"test:{uuid.uuid4()}", channel="email", mailbox_id=None, lead_id=uuid.uuid4(),
        to_address=DANA, to_name="Dana Kim", subject="Quick question, Dana", text_body="Hi Dana", html_body="",
        thread_id=None, continue_lead_thread=False, not_after=None, dry_run=False, origin="sequences",
    )  # fmt: skip
    return delivery.SendRequest(**{**fields, **changes})  # type: ignore[arg-type]


async def sent(db: Database, settings: InboxSettings, org: uuid.UUID, **changes: object) -> Message:
    """A message of the org that left (stored, then marked sent as the send job does)."""
    async with db.transaction() as session:
        outcome = await delivery.send(
            session=session, org_id=org, request=request(**changes), settings=settings, now=NOW
        )
        assert outcome.message is not None
        await session.execute(update(Message).where(Message.id == outcome.message.id).values(status=SENT, sent_at=NOW))
        return outcome.message


async def mailbox(db: Database, org: uuid.UUID, address: str) -> None:
    """The org's own default mailbox (an org that configured one, rather than the local default's shared one)."""
    async with db.transaction() as session:
        session.add(
            Mailbox(
                id=uuid.uuid4(),
                org_id=org,
                from_address=address,
                from_name="",
                smtp_host="127.0.0.1",
                smtp_port=1,
                smtp_starttls=False,
                smtp_username="",
                smtp_password_ref="",
                daily_cap=100,
                min_spacing_s=0,
                time_zone="UTC",
                is_default=True,
            )  # fmt: skip
        )


def reply(to: Sequence[str], subject: str = "Re: Quick question, Dana", **changes: Any) -> Classification:
    """Dana's answer, with no In-Reply-To or References (a mail client that drops them): found by sender alone."""
    fields: dict[str, Any] = dict(
        kind="reply", reason="a person's reply", message_id=f"<{uuid.uuid4()}@mail.example>", from_address=DANA,
        to_addresses=tuple(to), subject=subject,
    )  # fmt: skip
    return Classification(**{**fields, **changes})


def bounce(to: Sequence[str]) -> Classification:
    """A notification that names the failed address but not our message's Message-ID."""
    return Classification(
        kind="bounce", reason="failure notice from a mail server", message_id=f"<{uuid.uuid4()}@mx.example>",
        from_address="mailer-daemon@mx.example", to_addresses=tuple(to), subject="Undelivered Mail",
        bounce_type="hard", status="5.1.1", failed_recipients=(DANA,), diagnostic="550 5.1.1 user unknown",
    )  # fmt: skip


async def file(db: Database, found: Classification, *, envelope_to: Sequence[str] = ()) -> inbound.Filed:
    async with db.transaction() as session:
        raw_id = await inbound.keep_raw(
            session, b"raw", message_id=found.message_id, source="smtp", envelope_to=envelope_to
        )
        assert raw_id is not None
        filed = await inbound.file(session, raw_id, found, "Yes, Tuesday works.")
        assert (await session.get_one(InboundRaw, raw_id)).status == filed.status
        return filed


async def text_back(db: Database, body: str, *, to: str, service: str = "") -> str:
    answer = sms.InboundSms(
        message_sid=f"SM{uuid.uuid4().hex}", account_sid="AC1", from_number=DANA_PHONE, to_number=to, body=body,
        num_media=0, keyword=sms.keyword_of(body), messaging_service_sid=service,
    )  # fmt: skip
    async with db.transaction() as session:
        new, filed_as = await inbound.file_sms(session, answer, body.encode())
        assert new
        return filed_as


async def inbound_of(db: Database, org: uuid.UUID) -> list[Message]:
    async with db.transaction() as session:
        return list(await session.scalars(select(Message).where(Message.org_id == org, Message.direction == IN)))


async def suppressed(db: Database, org: uuid.UUID) -> list[tuple[str, str]]:
    async with db.transaction() as session:
        rows = await session.execute(select(Suppression.address, Suppression.reason).where(Suppression.org_id == org))
        return [tuple(row) for row in rows]  # type: ignore[misc]


async def status_of(db: Database, message: Message) -> str:
    async with db.transaction() as session:
        return (await session.get_one(Message, message.id, populate_existing=True)).status


async def test_a_reply_found_by_sender_goes_to_the_org_whose_address_it_was_sent_to(
    inbox_db: Database, settings: InboxSettings
) -> None:
    acme, globex = uuid.uuid4(), uuid.uuid4()
    await mailbox(inbox_db, acme, "sales@acme.example")
    await mailbox(inbox_db, globex, "hello@globex.example")
    ours = await sent(inbox_db, settings, acme)
    theirs = await sent(inbox_db, settings, globex)  # the latest to Dana, from another org, the same subject

    filed = await file(inbox_db, reply(["sales@acme.example"]))
    assert filed.status == inbound.PROCESSED and filed.message is not None
    assert (filed.message.org_id, filed.message.thread_id) == (acme, ours.thread_id)
    assert await inbound_of(inbox_db, globex) == []

    # Delivered by SMTP to Globex's address with nothing in its headers naming it: the envelope says where it went.
    filed = await file(inbox_db, reply(["undisclosed-recipients@mail.example"]), envelope_to=["Hello@Globex.example"])
    assert filed.message is not None and (filed.message.org_id, filed.message.thread_id) == (globex, theirs.thread_id)
    # Sent to none of the addresses anyone wrote to Dana from: found nowhere, rather than in the latest org's thread.
    assert (await file(inbox_db, reply(["someone@elsewhere.example"]))).status == inbound.UNMATCHED
    assert len(await inbound_of(inbox_db, acme)) == len(await inbound_of(inbox_db, globex)) == 1


async def test_a_bounce_naming_only_the_address_bounces_and_suppresses_in_its_own_org_alone(
    inbox_db: Database, settings: InboxSettings
) -> None:
    acme, globex = uuid.uuid4(), uuid.uuid4()
    await mailbox(inbox_db, acme, "sales@acme.example")
    await mailbox(inbox_db, globex, "hello@globex.example")
    ours = await sent(inbox_db, settings, acme)
    theirs = await sent(inbox_db, settings, globex)

    filed = await file(inbox_db, bounce(["sales@acme.example"]))
    assert filed.status == inbound.PROCESSED and filed.message is not None and filed.message.org_id == acme
    assert await status_of(inbox_db, ours) == BOUNCED and await status_of(inbox_db, theirs) == SENT
    assert await suppressed(inbox_db, acme) == [(DANA, "hard-bounced")]
    assert await suppressed(inbox_db, globex) == []


async def test_what_two_orgs_sent_from_one_shared_mailbox_is_filed_in_neither_unless_its_subject_tells(
    inbox_db: Database, settings: InboxSettings
) -> None:
    """The local default: every org sends from outreach@leadflood.local."""
    acme, globex = uuid.uuid4(), uuid.uuid4()
    shared = settings.default_mailbox_from
    ours = await sent(inbox_db, settings, acme)
    theirs = await sent(inbox_db, settings, globex)
    assert ours.from_address == theirs.from_address == shared

    assert (await file(inbox_db, reply([shared]))).status == inbound.AMBIGUOUS
    assert (await file(inbox_db, bounce([shared]))).status == inbound.AMBIGUOUS
    assert await inbound_of(inbox_db, acme) == await inbound_of(inbox_db, globex) == []
    assert await suppressed(inbox_db, acme) == await suppressed(inbox_db, globex) == []
    assert await status_of(inbox_db, ours) == await status_of(inbox_db, theirs) == SENT

    # Globex wrote about something else: a reply to that subject can only be Globex's.
    other = await sent(inbox_db, settings, globex, subject="Your renewal", continue_lead_thread=False)
    filed = await file(inbox_db, reply([shared], subject="RE: Your renewal"))
    assert filed.message is not None and (filed.message.org_id, filed.message.thread_id) == (globex, other.thread_id)
    # Threading headers name one message, so one org, whoever else shares the mailbox.
    filed = await file(inbox_db, reply([shared], in_reply_to=ours.rfc822_message_id))
    assert filed.message is not None and (filed.message.org_id, filed.message.thread_id) == (acme, ours.thread_id)


async def test_a_stop_to_the_shared_number_suppresses_in_no_org_when_two_texted_that_person(
    inbox_db: Database, settings: InboxSettings
) -> None:
    acme, globex, number = uuid.uuid4(), uuid.uuid4(), settings.twilio_from or ""
    text = {"channel": "sms", "to_address": DANA_PHONE, "subject": ""}
    ours = await sent(inbox_db, settings, acme, **text)
    assert ours.from_address == number

    # Only Acme texted Dana: her answer is Acme's, and a STOP suppresses her number there.
    assert await text_back(inbox_db, "Call me tomorrow", to=number) == "reply"
    assert [m.thread_id for m in await inbound_of(inbox_db, acme)] == [ours.thread_id]
    # A text to a number we never texted her from (another deployment's, say) is not taken for an answer.
    assert await text_back(inbox_db, "Who is this?", to="+15005550007") == inbound.UNMATCHED

    await sent(inbox_db, settings, globex, **text)
    assert await text_back(inbox_db, "STOP", to=number) == inbound.AMBIGUOUS
    assert await suppressed(inbox_db, acme) == await suppressed(inbox_db, globex) == []
    assert len(await inbound_of(inbox_db, acme)) == 1 and await inbound_of(inbox_db, globex) == []


async def test_a_text_back_to_a_messaging_service_s_number_is_matched_by_the_service(
    inbox_db: Database, settings: InboxSettings
) -> None:
    """Texts sent through a Messaging Service store its SID as their sender; Twilio names it in the webhook."""
    service = "MG" + "9f" * 16
    org = uuid.uuid4()
    ours = await sent(
        inbox_db, settings.model_copy(update={"twilio_from": service}), org, channel="sms", to_address=DANA_PHONE,
        subject="",
    )  # fmt: skip
    assert ours.from_address == service
    assert await text_back(inbox_db, "STOP", to="+15005550008", service=service) == "opt_out"
    assert await suppressed(inbox_db, org) == [(DANA_PHONE, "unsubscribed")]


async def test_a_bounce_or_a_complaint_brings_its_conversation_to_the_top_unread_not_needing_a_reply(
    inbox_db: Database, settings: InboxSettings
) -> None:
    org = uuid.uuid4()
    bounced = await sent(inbox_db, settings, org)
    complained = await sent(inbox_db, settings, org, to_address="eve@globex.example")
    later = await sent(inbox_db, settings, org, to_address="lee@initech.example")
    async with inbox_db.transaction() as session:  # each an hour apart, and read: as the list had them
        for hours, message in enumerate((bounced, complained, later)):
            at = NOW - dt.timedelta(hours=3 - hours)
            await session.execute(
                update(Thread).where(Thread.id == message.thread_id).values(last_message_at=at, unread=False)
            )

    async def listed() -> list[tuple[uuid.UUID, bool, bool]]:
        async with inbox_db.transaction() as session:
            page, _ = await threads.page(session, org, filter="all", lead_id=None, channel="", size=10, cursor="")
            return [(s.thread.id, s.thread.unread, s.thread.needs_reply) for s in page]

    assert await listed() == [(t, False, False) for t in (later.thread_id, complained.thread_id, bounced.thread_id)]
    dsn = bounce([settings.default_mailbox_from])
    await file(inbox_db, Classification(**{**dsn.__dict__, "original_message_id": bounced.rfc822_message_id}))
    assert (await listed())[0] == (bounced.thread_id, True, False)
    complaint = Classification(
        kind="complaint", reason="feedback report (RFC 5965)", message_id=f"<{uuid.uuid4()}@fbl.example>",
        complained_address="eve@globex.example", original_message_id=complained.rfc822_message_id,
        feedback_type="abuse",
    )  # fmt: skip
    await file(inbox_db, complaint)
    assert (await listed())[:2] == [(complained.thread_id, True, False), (bounced.thread_id, True, False)]
    async with inbox_db.transaction() as session:
        assert await threads.counts(session, org) == (0, 2)  # none needs a reply; two are unread
        assert await session.scalar(select(func.count()).where(Message.org_id == org, Message.direction == IN)) == 2


async def test_an_address_whose_local_part_has_capitals_is_found_in_any_case(
    inbox_db: Database, settings: InboxSettings
) -> None:
    """Sent to Dana.Kim@... as the lead's record has it: her answer without threading headers finds its thread, and
    her unsubscribe (its link names the address in lower case) names the lead whose sequences stop."""
    org, lead, written = uuid.uuid4(), uuid.uuid4(), f"Dana.Kim.{uuid.uuid4().hex[:6]}@FirstSystems.example"
    await mailbox(inbox_db, org, "sales@acme.example")
    ours = await sent(inbox_db, settings, org, to_address=written, lead_id=lead)
    assert ours.to_address == written.replace("FirstSystems", "firstsystems")  # the local part kept as written

    filed = await file(inbox_db, reply(["sales@acme.example"], from_address=written.lower()))
    assert filed.status == inbound.PROCESSED and filed.message is not None
    assert (filed.message.org_id, filed.message.thread_id) == (org, ours.thread_id)

    async with inbox_db.transaction() as session:
        assert await suppressions.unsubscribe_recipient(session, unsubscribe.Recipient(org, written.lower()))
        [payload] = (
            await session.execute(
                select(platform_tables.outbox.c.payload)
                .where(platform_tables.outbox.c.subject == "inbox.recipient.unsubscribed")
                .order_by(platform_tables.outbox.c.id.desc())
                .limit(1)
            )
        ).one()
    event = events_pb2.RecipientUnsubscribed.FromString(payload)
    assert (event.lead_id, event.thread_id) == (str(lead), str(ours.thread_id))
