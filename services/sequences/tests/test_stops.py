"""Stops: a reply, a bounce, an unsubscribe or a booked meeting ends the lead's enrollments, once, in its
org only; a step whose window closed before the mail room could send it goes again. The handler against
the real schema, then the durable consumer end to end over the test stack's JetStream."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from types import SimpleNamespace

import pytest
from google.protobuf.message import DecodeError
from sqlalchemy import select

from devstack.stack import Stack
from leadflood.inbox.v1 import delivery_pb2
from leadflood.inbox.v1 import events_pb2 as inbox_events
from leadflood.sequences.v1 import events_pb2
from leadflood_platform.bus import Bus
from leadflood_platform.db import Database
from leadflood_platform.jobs import FLEET_ACK_PENDING
from sequences import service
from sequences.models import Enrollment, StepSend, platform_tables
from sequences.stops import StopConsumer, bounce_reason

NOW = dt.datetime(2026, 3, 4, 15, 0, tzinfo=dt.UTC)


async def _enroll(db: Database, org: uuid.UUID, sequence_id: uuid.UUID, *leads: uuid.UUID) -> list[Enrollment]:
    async with db.transaction() as session:
        enrolled, _ = await service.enroll(
            session=session, org_id=org, sequence_id=sequence_id, lead_ids=list(leads), now=NOW
        )
    return enrolled


async def _states(db: Database, *enrollments: Enrollment) -> list[tuple[str, str]]:
    async with db.transaction() as session:
        rows = await session.execute(
            select(Enrollment.id, Enrollment.state, Enrollment.stop_reason).where(
                Enrollment.id.in_([e.id for e in enrollments])
            )
        )
        found = {row.id: (row.state, row.stop_reason) for row in rows}
    return [found[e.id] for e in enrollments]


async def _stopped_events(db: Database) -> list[events_pb2.EnrollmentStopped]:
    outbox = platform_tables.outbox
    async with db.transaction() as session:
        rows = await session.scalars(
            select(outbox.c.payload).where(outbox.c.subject == "sequences.enrollment.stopped").order_by(outbox.c.id)
        )
        return [events_pb2.EnrollmentStopped.FromString(payload) for payload in rows]


@pytest.fixture
async def setting(db: Database, kit: SimpleNamespace) -> SimpleNamespace:
    """A lead in two sequences of an org (one of them paused), beside another lead and another org's."""
    org, other_org, lead, other_lead = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    first = await kit.make_sequence(db, org)
    second = await kit.make_sequence(db, org)
    elsewhere = await kit.make_sequence(db, other_org)
    [in_first, neighbour] = await _enroll(db, org, first.id, lead, other_lead)
    [in_second] = await _enroll(db, org, second.id, lead)
    [other_orgs] = await _enroll(db, other_org, elsewhere.id, lead)  # the same lead id in another org
    async with db.transaction() as session:
        await service.transition(session=session, org_id=org, sequence_id=second.id, action="pause")
    return SimpleNamespace(
        org=org, lead=lead, mine=[in_first, in_second], untouched=[neighbour, other_orgs], first=first
    )


STOPS = [
    (
        "inbox.message.received",
        lambda org, lead: inbox_events.MessageReceived(event_id="e-1", org_id=str(org), lead_id=str(lead)),
        ("replied", "the lead replied"),
    ),
    (
        "inbox.message.bounced",
        lambda org, lead: inbox_events.MessageBounced(
            event_id="e-1",
            org_id=str(org),
            message=inbox_events.MessageRef(lead_id=str(lead)),
            status_code="5.1.1",
            diagnostic="550 5.1.1 user unknown",
        ),  # fmt: skip
        ("bounced", "the email bounced: 550 5.1.1 user unknown"),
    ),
    (
        "inbox.message.bounced",
        lambda org, lead: inbox_events.MessageBounced(
            event_id="e-1",
            org_id=str(org),
            message=inbox_events.MessageRef(lead_id=str(lead), channel=delivery_pb2.CHANNEL_SMS),
            status_code="21211",
            diagnostic="sms refused: 21211 The 'To' number +15005550001 is not a valid phone number.",
        ),  # fmt: skip
        (
            "bounced",
            "the text could not be delivered: the 'To' number +15005550001 is not a valid phone number (Twilio 21211)",
        ),
    ),
    (
        "inbox.recipient.unsubscribed",
        lambda org, lead: inbox_events.RecipientUnsubscribed(
            event_id="e-1", org_id=str(org), lead_id=str(lead), reason="unsubscribed"
        ),
        ("unsubscribed", "the lead unsubscribed"),
    ),
    (
        "runs.meeting.booked",
        lambda org, lead: events_pb2.MeetingBooked(event_id="e-1", org_id=str(org), lead_id=str(lead)),
        ("meeting_booked", "a meeting was booked"),
    ),
]


@pytest.mark.parametrize(("subject", "event", "ended"), STOPS, ids=[f"{s[0]}-{s[2][1][:8]}" for s in STOPS])
async def test_an_event_stops_the_leads_enrollments_in_its_org_once(
    db: Database,
    setting: SimpleNamespace,
    subject: str,
    event,
    ended: tuple[str, str],  # type: ignore[no-untyped-def]
) -> None:
    consumer = StopConsumer(db=db, bus=None)  # type: ignore[arg-type]
    data = event(setting.org, setting.lead).SerializeToString()
    assert await consumer.handle(subject, data) == 2
    assert await _states(db, *setting.mine) == [ended, ended]  # the paused one too
    assert [state for state, _ in await _states(db, *setting.untouched)] == ["active", "active"]
    stopped = await _stopped_events(db)
    assert sorted(e.enrollment_id for e in stopped) == sorted(str(e.id) for e in setting.mine)
    assert {(e.cause_event_id, e.lead_id, e.reason) for e in stopped} == {("e-1", str(setting.lead), ended[1])}
    assert await consumer.handle(subject, data) == 0  # delivered again: nothing left to stop
    assert len(await _stopped_events(db)) == 2


BOUNCES = [
    # (channel, status code, the mail room's words, the stop reason): each code said once, in words for the channel.
    (delivery_pb2.CHANNEL_EMAIL, "5.1.1", "bounced: 550 5.1.1 user unknown",
     "the email bounced: 550 5.1.1 user unknown"),
    (delivery_pb2.CHANNEL_EMAIL, "5.7.1", "relay denied", "the email bounced: relay denied (5.7.1)"),
    (delivery_pb2.CHANNEL_EMAIL, "", "", "the email bounced"),
    (delivery_pb2.CHANNEL_SMS, "21614", "sms refused: 21614 The 'To' number is not a mobile number.",
     "the text could not be delivered: the 'To' number is not a mobile number (Twilio 21614)"),
    (delivery_pb2.CHANNEL_SMS, "21211", "", "the text could not be delivered (Twilio 21211)"),
]  # fmt: skip


@pytest.mark.parametrize(("channel", "code", "diagnostic", "reason"), BOUNCES)
def test_a_bounce_is_said_in_words_for_its_channel(channel: int, code: str, diagnostic: str, reason: str) -> None:
    event = inbox_events.MessageBounced(
        message=inbox_events.MessageRef(channel=channel), status_code=code, diagnostic=diagnostic
    )
    assert bounce_reason(event) == reason


async def test_a_stop_remembers_the_channel_that_caused_it(db: Database, setting: SimpleNamespace) -> None:
    consumer = StopConsumer(db=db, bus=None)  # type: ignore[arg-type]
    text_reply = inbox_events.MessageReceived(
        event_id="e-2", org_id=str(setting.org), lead_id=str(setting.lead), channel=delivery_pb2.CHANNEL_SMS
    )
    assert await consumer.handle("inbox.message.received", text_reply.SerializeToString()) == 2
    async with db.transaction() as session:
        channels = await session.scalars(
            select(Enrollment.stop_channel).where(Enrollment.id.in_([e.id for e in setting.mine]))
        )
        assert list(channels) == ["sms", "sms"]


async def test_an_event_older_than_an_enrollment_does_not_stop_it(db: Database, setting: SimpleNamespace) -> None:
    consumer = StopConsumer(db=db, bus=None)  # type: ignore[arg-type]
    reply = inbox_events.MessageReceived(event_id="old", org_id=str(setting.org), lead_id=str(setting.lead))
    last_week = dt.datetime.now(dt.UTC) - dt.timedelta(days=7)
    assert await consumer.handle("inbox.message.received", reply.SerializeToString(), occurred_at=last_week) == 0
    assert [state for state, _ in await _states(db, *setting.mine)] == ["active", "paused"]
    just_now = dt.datetime.now(dt.UTC)
    assert await consumer.handle("inbox.message.received", reply.SerializeToString(), occurred_at=just_now) == 2


async def test_an_unreadable_event_is_refused_and_an_unknown_one_ignored(db: Database) -> None:
    consumer = StopConsumer(db=db, bus=None)  # type: ignore[arg-type]
    with pytest.raises(DecodeError):
        await consumer.handle("inbox.message.received", b"\xff\xff\xff")
    with pytest.raises(ValueError):  # no org: nothing to scope it by
        await consumer.handle("inbox.message.received", inbox_events.MessageReceived(lead_id="x").SerializeToString())
    assert await consumer.handle("inbox.message.sent", b"") == 0
    no_lead = inbox_events.MessageReceived(event_id="e", org_id=str(uuid.uuid4()))  # an inbound mail from a stranger
    assert await consumer.handle("inbox.message.received", no_lead.SerializeToString()) == 0


async def test_a_step_whose_window_closed_is_sent_again_when_it_next_opens(db: Database, kit: SimpleNamespace) -> None:
    org = uuid.uuid4()
    sequence = await kit.make_sequence(db, org, kit.definition(kit.email_step(), kit.email_step()))
    first, second = sequence.live_steps
    [enrollment] = await _enroll(db, org, sequence.id, uuid.uuid4())
    async with db.transaction() as session:  # as the scheduler leaves it after handing step one on
        session.add(
            StepSend(org_id=org, enrollment_id=enrollment.id, step_id=first.id, channel="email", outcome="queued")
        )
        row = await session.get(Enrollment, enrollment.id)
        assert row is not None
        row.current_step_id, row.steps_done = second.id, 1
    failed = inbox_events.MessageFailed(
        event_id="f-1", org_id=str(org), window_closed=True,
        message=inbox_events.MessageRef(idempotency_key=f"sequences:{enrollment.id}:{first.id}"),
    )  # fmt: skip
    clock = dt.datetime(2026, 3, 7, 23, 59, 30, tzinfo=dt.UTC)  # after 23:59: the next opening is at midnight
    consumer = StopConsumer(db=db, bus=None, clock=lambda: clock)  # type: ignore[arg-type]
    not_closed = inbox_events.MessageFailed()
    not_closed.CopyFrom(failed)
    not_closed.window_closed = False
    assert await consumer.handle("inbox.message.failed", not_closed.SerializeToString()) == 0
    assert await consumer.handle("inbox.message.failed", failed.SerializeToString()) == 1
    back = await _states(db, enrollment)
    async with db.transaction() as session:
        row = await session.get(Enrollment, enrollment.id)
        sent = (await session.scalars(select(StepSend.outcome).where(StepSend.enrollment_id == enrollment.id))).all()
    assert row is not None and back == [("active", "")]
    assert (row.current_step_id, row.steps_done, row.waiting_reason) == (first.id, 0, "window")
    assert row.next_due_at == dt.datetime(2026, 3, 8, 0, 0, tzinfo=dt.UTC)
    assert sent == ["window_closed"]
    assert await consumer.handle("inbox.message.failed", failed.SerializeToString()) == 0  # once


async def test_the_consumer_stops_a_lead_within_seconds_of_a_reply_on_the_bus(
    db: Database, stack: Stack, setting: SimpleNamespace, kit: SimpleNamespace
) -> None:
    bus = await Bus.connect(stack.env["sequences"]["NATS_URL"], name="sequences-stops-test")
    durable = f"sequences-stops-test-{uuid.uuid4().hex[:8]}"
    consumer = StopConsumer(db=db, bus=bus, durable=durable)
    stop = asyncio.Event()
    running = asyncio.create_task(consumer.run(stop))
    try:
        reply = inbox_events.MessageReceived(
            event_id=str(uuid.uuid4()), org_id=str(setting.org), lead_id=str(setting.lead)
        )
        await bus.publish("inbox.message.received", reply.SerializeToString(), msg_id=reply.event_id)

        async def stopped() -> bool:
            return [state for state, _ in await _states(db, *setting.mine)] == ["replied", "replied"]

        await kit.until(stopped, timeout_s=10, what="the lead's enrollments to stop as replied")
        assert [state for state, _ in await _states(db, *setting.untouched)] == ["active", "active"]
        # Outstanding deliveries are counted per consumer, across every worker: the fleet's ceiling, not one's.
        assert (await bus.js.consumer_info("EVENTS", durable)).config.max_ack_pending == FLEET_ACK_PENDING
    finally:
        stop.set()
        await asyncio.wait_for(running, 10)
        await bus.js.delete_consumer("EVENTS", durable)
        await bus.close()
