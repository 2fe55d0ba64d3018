"""The scheduler against its real schema and a gRPC DeliveryService.

Most tests talk to a STAND-IN DeliveryService, in this test folder only: the inbox's implementation
of protos/leadflood/inbox/v1/delivery.proto was being built at the same time, and the stand-in drives
the answers the scheduler must handle (queued, deferred, suppressed, refused, unreachable) on demand,
keeping the contract's one promise the scheduler relies on: the same idempotency key is the same
message. The last test sends through the real inbox of the test stack.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Callable
from types import SimpleNamespace

import asyncpg
import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from sqlalchemy import select

from devstack.stack import Stack
from leadflood.inbox.v1 import delivery_pb2, delivery_pb2_grpc
from leadflood_platform import context, grpc_client
from leadflood_platform.db import Database
from sequences import definitions, service
from sequences.models import Enrollment, Sequence, StepSend, Task, platform_tables
from sequences.scheduler import Scheduler, idempotency_key

# Wednesday 2026-03-04, 10:00 in New York (EST).
WEDNESDAY_10AM = dt.datetime(2026, 3, 4, 15, 0, tzinfo=dt.UTC)
NEW_YORK_9_TO_5 = definitions.WindowSpec(time_zone="America/New_York")
Answer = Callable[[delivery_pb2.SendMessageRequest], delivery_pb2.SendMessageResponse | grpc.StatusCode]


def _ts(value: dt.datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


def kit_dsn(db: Database) -> str:
    """The plain postgresql:// address of the test's database, for a connection of its own."""
    return db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


async def _start(
    db: Database, world: SimpleNamespace, kit: SimpleNamespace, *steps: definitions.StepSpec, window=NEW_YORK_9_TO_5
) -> tuple[Sequence, list[Enrollment]]:  # type: ignore[no-untyped-def]
    """An active sequence of `steps` with world.ada enrolled at world.clock."""
    sequence = await kit.make_sequence(db, world.org, kit.definition(*steps, window=window))
    return sequence, await _enroll(db, world, sequence, world.ada)


async def _enroll(db: Database, world: SimpleNamespace, sequence: Sequence, *leads: uuid.UUID) -> list[Enrollment]:
    async with db.transaction() as session:
        enrolled, _ = await service.enroll(
            session=session, org_id=world.org, sequence_id=sequence.id, lead_ids=list(leads), now=world.clock()
        )
    return enrolled


async def _reload(db: Database, enrollment_id: uuid.UUID) -> Enrollment:
    async with db.transaction() as session:
        return (await session.execute(select(Enrollment).where(Enrollment.id == enrollment_id))).scalar_one()


async def _sends(db: Database, enrollment_id: uuid.UUID) -> list[StepSend]:
    async with db.transaction() as session:
        query = select(StepSend).where(StepSend.enrollment_id == enrollment_id).order_by(StepSend.created_at)
        return list(await session.scalars(query))


async def _events(db: Database) -> list[str]:
    async with db.transaction() as session:
        return list(
            await session.scalars(select(platform_tables.outbox.c.subject).order_by(platform_tables.outbox.c.id))
        )


async def test_a_due_step_is_sent_once_in_its_window_and_the_next_one_planned(
    db: Database, world: SimpleNamespace, kit: SimpleNamespace
) -> None:
    first = kit.email_step(subject="Hello {{ lead.firstName }}")
    second = kit.email_step(subject="Following up, {{ lead.firstName }}", delay_amount=2)
    sequence, [enrollment] = await _start(db, world, kit, first, second)
    step_one, step_two = (step.id for step in sequence.live_steps)

    assert await world.scheduler.run_once() == 1
    [request] = world.inbox.servicer.requests
    assert (
        request.idempotency_key == idempotency_key(enrollment.id, step_one) == f"sequences:{enrollment.id}:{step_one}"
    )
    assert (request.to.email, request.to.name, request.to.lead_id) == (
        "ada@acme.example",
        "Ada Lovelace",
        str(world.ada),
    )
    assert (request.subject, request.text_body, request.origin) == ("Hello Ada", "Hi Ada at Acme", "sequences")
    assert request.not_after.ToDatetime(dt.UTC) == dt.datetime(2026, 3, 4, 22, 0, tzinfo=dt.UTC)  # 17:00 EST
    assert request.thread_id == "" and world.inbox.servicer.orgs == [str(world.org)]
    assert world.leads.orgs_asked == [str(world.org)]  # the lead was read in the enrollment's org

    after = await _reload(db, enrollment.id)
    assert (after.state, after.current_step_id, after.steps_done, after.waiting_reason) == (
        "active", step_two, 1, "delay"
    )  # fmt: skip
    assert after.next_due_at == dt.datetime(2026, 3, 6, 15, 0, tzinfo=dt.UTC)  # two business days later, 10:00 EST
    [sent] = await _sends(db, enrollment.id)
    first_message = world.inbox.servicer.messages[request.idempotency_key]
    assert (sent.step_id, sent.outcome, sent.message_id) == (step_one, "queued", first_message.message_id)
    assert await _events(db) == ["sequences.step.sent"]

    assert await world.scheduler.run_once() == 0  # nothing else is due
    world.clock.now = dt.datetime(2026, 3, 6, 15, 0, tzinfo=dt.UTC)
    assert await world.scheduler.run_once() == 1
    follow_up = world.inbox.servicer.requests[-1]
    assert follow_up.thread_id == first_message.thread_id  # threaded under the first email
    assert follow_up.idempotency_key == idempotency_key(enrollment.id, step_two)
    done = await _reload(db, enrollment.id)
    assert (done.state, done.current_step_id, done.next_due_at, done.steps_done) == ("completed", None, None, 2)
    assert len(world.inbox.servicer.requests) == 2


async def test_enrolled_again_on_purpose_the_lead_is_sent_the_step_again_under_a_key_of_its_own(
    db: Database, world: SimpleNamespace, kit: SimpleNamespace
) -> None:
    sequence, [first] = await _start(db, world, kit, kit.email_step(subject="Hello {{ lead.firstName }}"))
    [step] = sequence.live_steps
    assert await world.scheduler.run_once() == 1
    assert (await _reload(db, first.id)).state == "completed"

    # Pressed again: skipped, nothing more sent.
    assert await _enroll(db, world, sequence, world.ada) == []
    assert await world.scheduler.run_once() == 0
    assert len(world.inbox.servicer.messages) == 1

    async with db.transaction() as session:
        [second], skipped = await service.enroll(
            session=session, org_id=world.org, sequence_id=sequence.id, lead_ids=[world.ada], now=world.clock(),
            reenroll=True,
        )  # fmt: skip
    assert skipped == [] and second.round == 2
    assert await world.scheduler.run_once() == 1
    keys = world.inbox.servicer.keys()
    assert keys == [idempotency_key(first.id, step.id), idempotency_key(second.id, step.id)]
    assert len(set(keys)) == 2 and len(world.inbox.servicer.messages) == 2  # the mail room has a second message
    assert (await _reload(db, second.id)).state == "completed"


async def test_a_simulated_send_counts_as_done(db: Database, world: SimpleNamespace, kit: SimpleNamespace) -> None:
    world.inbox.servicer.answer = lambda request: delivery_pb2.SendMessageResponse(
        outcome=delivery_pb2.SEND_OUTCOME_SIMULATED, message_id=str(uuid.uuid4()), thread_id="t"
    )
    _, [enrollment] = await _start(db, world, kit, kit.email_step())
    await world.scheduler.run_once()
    assert [s.outcome for s in await _sends(db, enrollment.id)] == ["simulated"]
    assert (await _reload(db, enrollment.id)).state == "completed"


@pytest.mark.parametrize(
    ("reason", "state"),
    [
        ("ada@acme.example is suppressed: unsubscribed", "unsubscribed"),
        ("ada@acme.example is suppressed: hard-bounced", "bounced"),
        ("ada@acme.example is suppressed: by-hand", "stopped"),
    ],
)
async def test_a_suppressed_address_ends_the_enrollment_saying_why(
    db: Database, world: SimpleNamespace, kit: SimpleNamespace, reason: str, state: str
) -> None:
    world.inbox.servicer.answer = lambda request: delivery_pb2.SendMessageResponse(
        outcome=delivery_pb2.SEND_OUTCOME_SUPPRESSED, message_id=str(uuid.uuid4()), thread_id="t", reason=reason
    )
    _, [enrollment] = await _start(db, world, kit, kit.email_step(), kit.email_step())
    await world.scheduler.run_once()
    assert [s.outcome for s in await _sends(db, enrollment.id)] == ["suppressed"]
    ended = await _reload(db, enrollment.id)
    assert (ended.state, ended.stop_reason) == (state, reason)  # the second step is never tried


async def test_a_deferred_send_is_due_again_when_the_mail_room_says_inside_the_window(
    db: Database, world: SimpleNamespace, kit: SimpleNamespace
) -> None:
    retry = {"at": WEDNESDAY_10AM + dt.timedelta(hours=3)}  # 13:00 EST: in the window
    world.inbox.servicer.answer = lambda request: delivery_pb2.SendMessageResponse(
        outcome=delivery_pb2.SEND_OUTCOME_DEFERRED, retry_at=_ts(retry["at"]), reason="daily cap of 200 reached"
    )
    _, [enrollment] = await _start(db, world, kit, kit.email_step(), kit.email_step())
    await world.scheduler.run_once()
    waiting = await _reload(db, enrollment.id)
    assert (waiting.state, waiting.steps_done, waiting.next_due_at) == ("active", 0, retry["at"])
    assert (waiting.waiting_reason, waiting.waiting_detail) == ("mailbox", "daily cap of 200 reached")
    assert await _sends(db, enrollment.id) == [] and await _events(db) == []

    # Deferred past the window's close (18:00 EST): due when the window opens the next day.
    retry["at"] = dt.datetime(2026, 3, 4, 23, 0, tzinfo=dt.UTC)
    world.clock.now = waiting.next_due_at
    await world.scheduler.run_once()
    assert (await _reload(db, enrollment.id)).next_due_at == dt.datetime(2026, 3, 5, 14, 0, tzinfo=dt.UTC)

    world.inbox.servicer.answer = world.queued
    world.clock.now = dt.datetime(2026, 3, 5, 14, 0, tzinfo=dt.UTC)
    await world.scheduler.run_once()
    assert [s.outcome for s in await _sends(db, enrollment.id)] == ["queued"]
    assert len(set(world.inbox.servicer.keys())) == 1  # three asks, one key: one message


async def test_the_mail_room_out_of_reach_leaves_the_step_due_and_unsent(
    db: Database, world: SimpleNamespace, kit: SimpleNamespace
) -> None:
    _, [enrollment] = await _start(db, world, kit, kit.email_step())
    nowhere = grpc_client.channel("127.0.0.1:1", timeout_s=2)  # nothing listens there
    try:
        away = Scheduler(
            db=db, delivery=delivery_pb2_grpc.DeliveryServiceStub(nowhere), leads=world.leads, retry_s=30,
            clock=world.clock,
        )  # fmt: skip
        assert await away.run_once() == 1
    finally:
        await nowhere.close()
    waiting = await _reload(db, enrollment.id)
    assert (waiting.state, waiting.steps_done, waiting.waiting_reason) == ("active", 0, "retry")
    assert waiting.next_due_at == WEDNESDAY_10AM + dt.timedelta(seconds=30)
    assert "could not be reached (UNAVAILABLE)" in waiting.waiting_detail
    assert await _sends(db, enrollment.id) == [] and await _events(db) == []

    world.clock.now += dt.timedelta(seconds=30)  # and once it is back, the step goes, once
    await world.scheduler.run_once()
    assert [s.outcome for s in await _sends(db, enrollment.id)] == ["queued"]


async def test_the_leads_service_out_of_reach_leaves_the_step_due(
    db: Database, world: SimpleNamespace, kit: SimpleNamespace
) -> None:
    _, [enrollment] = await _start(db, world, kit, kit.email_step())
    world.leads.down = True
    await world.scheduler.run_once()
    waiting = await _reload(db, enrollment.id)
    assert (waiting.state, waiting.waiting_reason) == ("active", "retry") and "leads service" in waiting.waiting_detail
    assert world.inbox.servicer.requests == []


async def test_a_paused_sequence_sends_nothing(db: Database, world: SimpleNamespace, kit: SimpleNamespace) -> None:
    sequence, [enrollment] = await _start(db, world, kit, kit.email_step())
    async with db.transaction() as session:
        await service.transition(session=session, org_id=world.org, sequence_id=sequence.id, action="pause")
    assert await world.scheduler.run_once() == 0
    assert world.inbox.servicer.requests == []
    async with db.transaction() as session:
        await service.transition(session=session, org_id=world.org, sequence_id=sequence.id, action="resume")
    assert await world.scheduler.run_once() == 1
    assert world.inbox.servicer.keys() == [idempotency_key(enrollment.id, sequence.live_steps[0].id)]


async def test_a_pause_waits_for_the_batch_in_flight_and_then_nothing_more_is_sent(
    db: Database, world: SimpleNamespace, kit: SimpleNamespace
) -> None:
    sequence = await kit.make_sequence(db, world.org, kit.definition(kit.email_step(), kit.email_step()))
    [enrollment] = await _enroll(db, world, sequence, world.ada)
    world.inbox.servicer.gate = asyncio.Event()
    batch = asyncio.create_task(world.scheduler.run_once())
    await asyncio.wait_for(world.inbox.servicer.arrived.wait(), 10)  # the first step is being handed on

    async def pause() -> None:
        async with db.transaction() as session:
            await service.transition(session=session, org_id=world.org, sequence_id=sequence.id, action="pause")

    pausing = asyncio.create_task(pause())
    watcher = await asyncpg.connect(kit_dsn(db))
    try:

        async def pause_waits() -> bool:
            return bool(
                await watcher.fetchval(
                    "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid)"
                    " WHERE NOT l.granted AND a.datname = current_database()"
                )
            )

        await kit.until(pause_waits, what="the pause to wait for the batch's lock on the sequence")
        assert not pausing.done()
    finally:
        await watcher.close()
    world.inbox.servicer.gate.set()
    assert await asyncio.wait_for(batch, 10) == 1
    await asyncio.wait_for(pausing, 10)
    paused = await _reload(db, enrollment.id)
    assert (paused.state, paused.steps_done) == ("paused", 1)  # the step in flight went, and was recorded
    world.clock.now += dt.timedelta(days=30)  # long past the second step's due time
    assert await world.scheduler.run_once() == 0
    assert len(world.inbox.servicer.requests) == 1


async def test_the_sequence_state_is_checked_when_claimed(
    db: Database, world: SimpleNamespace, kit: SimpleNamespace
) -> None:
    sequence, [enrollment] = await _start(db, world, kit, kit.email_step())
    async with db.transaction() as session:  # paused behind the enrollments' back: the claim still refuses to send
        (await session.get(Sequence, sequence.id)).state = "paused"  # type: ignore[union-attr]
    assert await world.scheduler.run_once() == 1
    assert world.inbox.servicer.requests == []
    assert (await _reload(db, enrollment.id)).state == "paused"


async def test_a_sequence_being_changed_is_left_until_the_change_commits(
    db: Database, world: SimpleNamespace, kit: SimpleNamespace
) -> None:
    sequence, [enrollment] = await _start(db, world, kit, kit.email_step(), kit.email_step())
    async with db.transaction() as editing:  # an edit or a pause holds the sequence's row meanwhile
        await service.get(session=editing, org_id=world.org, sequence_id=sequence.id, lock="update")
        assert await world.scheduler.run_once() == 0
        assert world.inbox.servicer.requests == []
    untouched = await _reload(db, enrollment.id)
    assert (untouched.state, untouched.next_due_at, untouched.steps_done) == ("active", WEDNESDAY_10AM, 0)
    assert await world.scheduler.run_once() == 1
    assert len(world.inbox.servicer.requests) == 1


async def test_a_step_due_outside_the_window_waits_for_it(
    db: Database, world: SimpleNamespace, kit: SimpleNamespace
) -> None:
    _, [enrollment] = await _start(db, world, kit, kit.email_step())
    world.clock.now = dt.datetime(2026, 3, 4, 23, 30, tzinfo=dt.UTC)  # 18:30 EST: the window has closed
    assert await world.scheduler.run_once() == 1
    waiting = await _reload(db, enrollment.id)
    assert (waiting.next_due_at, waiting.waiting_reason) == (dt.datetime(2026, 3, 5, 14, 0, tzinfo=dt.UTC), "window")
    assert world.inbox.servicer.requests == []


async def test_leads_without_email_or_phone_skip_those_steps_and_calls_make_tasks_for_a_phone(
    db: Database, world: SimpleNamespace, kit: SimpleNamespace
) -> None:
    call = definitions.StepSpec(channel="call_task", subject_template="Call {{ lead.firstName | default('them') }}")
    sms = definitions.StepSpec(channel="sms", body_template="Hi {{ lead.firstName }}")
    sequence = await kit.make_sequence(db, world.org, kit.definition(kit.email_step(), sms, call, window=kit.ALWAYS))
    no_email = world.leads.add(first_name="Grace")
    [enrollment] = await _enroll(db, world, sequence, no_email)
    for _ in range(3):
        await world.scheduler.run_once()
    sends = await _sends(db, enrollment.id)
    # No phone either: no text, and no call task nobody could dial.
    assert [(s.outcome, s.detail) for s in sends] == [
        ("skipped", "the lead has no email address"),
        ("skipped", "the lead has no phone number"),
        ("skipped", "the lead has no phone number to call"),
    ]
    assert world.inbox.servicer.requests == []
    async with db.transaction() as session:
        assert list(await session.scalars(select(Task).where(Task.enrollment_id == enrollment.id))) == []
    assert (await _reload(db, enrollment.id)).state == "completed"

    called = world.leads.add(first_name="Hana", phone="+14155550199")
    only_call = await kit.make_sequence(db, world.org, kit.definition(call, window=kit.ALWAYS))
    [enrollment] = await _enroll(db, world, only_call, called)
    await world.scheduler.run_once()
    async with db.transaction() as session:
        [task] = list(await session.scalars(select(Task).where(Task.enrollment_id == enrollment.id)))
    assert (task.title, task.state, task.lead_id) == ("Call Hana", "open", called)
    assert await _events(db) == ["sequences.step.sent"]  # the task; skipped steps send nothing


async def test_a_deleted_lead_or_a_refused_message_fails_the_enrollment(
    db: Database, world: SimpleNamespace, kit: SimpleNamespace
) -> None:
    sequence = await kit.make_sequence(db, world.org, kit.definition(kit.email_step(), window=kit.ALWAYS))
    gone = uuid.uuid4()
    [deleted, refused] = await _enroll(db, world, sequence, gone, world.ada)
    world.inbox.servicer.answer = lambda request: grpc.StatusCode.INVALID_ARGUMENT
    await world.scheduler.run_once()
    failed = {e.id: e for e in [await _reload(db, deleted.id), await _reload(db, refused.id)]}
    assert (failed[deleted.id].state, failed[deleted.id].stop_reason) == ("failed", "the lead was deleted")
    assert failed[refused.id].state == "failed"
    assert failed[refused.id].stop_reason.startswith("the mail room refused the message")
    assert await _events(db) == ["sequences.enrollment.stopped"] * 2


async def test_a_batch_reads_its_leads_in_one_call_and_sends_in_one(
    db: Database, world: SimpleNamespace, kit: SimpleNamespace
) -> None:
    sequence = await kit.make_sequence(db, world.org, kit.definition(kit.email_step(), window=kit.ALWAYS))
    leads = [world.leads.add(email=f"lead{n}@acme.example", first_name=f"L{n}") for n in range(8)]
    no_email = world.leads.add(first_name="Grace")
    enrolled = await _enroll(db, world, sequence, *leads, no_email)
    assert await world.scheduler.run_once() == 9
    assert [sorted(call) for call in world.leads.calls] == [sorted([*leads, no_email])]
    assert world.inbox.servicer.batches == [8]  # the lead without an email skips the step, unsent
    step = sequence.live_steps[0]
    assert sorted(world.inbox.servicer.keys()) == sorted(idempotency_key(e.id, step.id) for e in enrolled[:8])
    for enrollment in enrolled:
        assert (await _reload(db, enrollment.id)).state == "completed"
    outcomes = [s.outcome for e in enrolled for s in await _sends(db, e.id)]
    assert outcomes == ["queued"] * 8 + ["skipped"]
    assert await _events(db) == ["sequences.step.sent"] * 8


async def test_a_message_the_mail_room_refuses_fails_its_own_enrollment_only(
    db: Database, world: SimpleNamespace, kit: SimpleNamespace
) -> None:
    """The mail room refuses a whole batch for one request it would refuse: each is then sent alone."""
    sequence = await kit.make_sequence(db, world.org, kit.definition(kit.email_step(), window=kit.ALWAYS))
    bad = world.leads.add(email="bad@acme.example")
    fine = [world.leads.add(email=f"fine{n}@acme.example") for n in range(3)]
    enrolled = {e.lead_id: e for e in await _enroll(db, world, sequence, bad, *fine)}
    world.inbox.servicer.answer = lambda request: (
        grpc.StatusCode.INVALID_ARGUMENT if request.to.email == "bad@acme.example" else world.queued(request)
    )
    assert await world.scheduler.run_once() == 4
    assert world.inbox.servicer.batches == [4]  # refused whole, then each alone
    refused = await _reload(db, enrolled[bad].id)
    assert refused.state == "failed" and refused.stop_reason.startswith("the mail room refused the message")
    for lead in fine:
        assert (await _reload(db, enrolled[lead].id)).state == "completed"
    assert len(world.inbox.servicer.messages) == 3


@pytest.mark.parametrize("code", [grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.NOT_FOUND])
async def test_no_mailbox_to_send_from_waits_and_says_so(
    db: Database, world: SimpleNamespace, kit: SimpleNamespace, code: grpc.StatusCode
) -> None:
    world.inbox.servicer.answer = lambda request: code
    _, [enrollment] = await _start(db, world, kit, kit.email_step())
    await world.scheduler.run_once()
    waiting = await _reload(db, enrollment.id)
    assert (waiting.state, waiting.waiting_reason) == ("active", "mailbox")
    assert waiting.next_due_at == WEDNESDAY_10AM + dt.timedelta(seconds=300)
    assert waiting.waiting_detail.startswith("the mail room cannot send it yet: the stand-in refuses")


class Killed(BaseException):
    """The worker process dying: nothing of the batch's transaction commits."""


async def test_a_crash_after_the_send_and_before_the_commit_sends_one_email(
    db: Database, world: SimpleNamespace, kit: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, [enrollment] = await _start(db, world, kit, kit.email_step())
    record = Scheduler._record

    async def die(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise Killed

    monkeypatch.setattr(Scheduler, "_record", die)
    with pytest.raises(Killed):
        await world.scheduler.run_once()
    assert await _sends(db, enrollment.id) == []  # rolled back: still due
    monkeypatch.setattr(Scheduler, "_record", record)
    await world.scheduler.run_once()
    requests = world.inbox.servicer.requests
    assert len(requests) == 2 and len(set(world.inbox.servicer.keys())) == 1  # sent again, under the same key
    assert len(world.inbox.servicer.messages) == 1
    [sent] = await _sends(db, enrollment.id)
    assert sent.message_id == world.inbox.servicer.messages[requests[0].idempotency_key].message_id


async def test_one_enrollment_that_cannot_be_recorded_does_not_hold_up_the_others(
    db: Database, world: SimpleNamespace, kit: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    sequence = await kit.make_sequence(db, world.org, kit.definition(kit.email_step(), window=kit.ALWAYS))
    broken = world.leads.add(email="broken@acme.example")
    fine = [world.leads.add(email=f"fine{n}@acme.example") for n in range(3)]
    enrolled = {e.lead_id: e for e in await _enroll(db, world, sequence, broken, *fine)}
    record = Scheduler._record

    async def fails_for_one(self, session, item, outcome, now):  # type: ignore[no-untyped-def]
        await record(self, session, item, outcome, now)
        if item.enrollment.lead_id == broken:
            await session.flush()
            raise RuntimeError("a fault of ours, after some of its writes")

    monkeypatch.setattr(Scheduler, "_record", fails_for_one)
    assert await world.scheduler.run_once() == 4
    set_aside = await _reload(db, enrolled[broken].id)
    assert (set_aside.state, set_aside.steps_done, set_aside.waiting_reason) == ("active", 0, "retry")
    assert set_aside.next_due_at == WEDNESDAY_10AM + dt.timedelta(seconds=30)
    assert await _sends(db, set_aside.id) == []  # its writes were undone with its savepoint
    for lead in fine:
        assert (await _reload(db, enrolled[lead].id)).state == "completed"
    assert await world.scheduler.run_once() == 0  # not claimed again before its retry


async def test_several_schedulers_at_once_never_double_a_step(
    db: Database, world: SimpleNamespace, kit: SimpleNamespace
) -> None:
    sequence = await kit.make_sequence(db, world.org, kit.definition(kit.email_step(), window=kit.ALWAYS))
    leads = [world.leads.add(email=f"lead{n}@acme.example", first_name=f"L{n}") for n in range(40)]
    await _enroll(db, world, sequence, *leads)
    schedulers = [
        Scheduler(db=db, delivery=world.inbox.stub, leads=world.leads, batch_size=6, clock=world.clock)
        for _ in range(4)
    ]

    async def drain(scheduler: Scheduler) -> None:
        while await scheduler.run_once():
            pass

    await asyncio.gather(*(drain(scheduler) for scheduler in schedulers))
    keys = world.inbox.servicer.keys()
    assert len(keys) == len(set(keys)) == 40
    async with db.transaction() as session:
        states = list(await session.scalars(select(Enrollment.state).where(Enrollment.sequence_id == sequence.id)))
    assert states == ["completed"] * 40


async def test_an_sms_step_texts_the_lead_s_number_and_a_follow_up_email_threads_under_the_first_email(
    db: Database, world: SimpleNamespace, kit: SimpleNamespace
) -> None:
    sms = definitions.StepSpec(channel="sms", body_template="Hi {{ lead.firstName }}, texting you")
    sequence = await kit.make_sequence(
        db, world.org, kit.definition(kit.email_step(), sms, kit.email_step(subject="Again"), window=kit.ALWAYS)
    )
    texted = world.leads.add(email="sam@acme.example", first_name="Sam", phone="+14155550123")
    [enrollment] = await _enroll(db, world, sequence, texted)
    for _ in range(3):
        await world.scheduler.run_once()
    first, text, again = world.inbox.servicer.requests
    _, sms_step, _ = sequence.live_steps
    assert (text.channel, text.to.phone, text.to.email, text.text_body) == (
        delivery_pb2.CHANNEL_SMS, "+14155550123", "", "Hi Sam, texting you"
    )  # fmt: skip
    assert text.idempotency_key == idempotency_key(enrollment.id, sms_step.id) and text.continue_lead_thread
    assert (text.subject, text.thread_id, text.mailbox_id) == ("", "", "")
    email_thread = world.inbox.servicer.messages[first.idempotency_key].thread_id
    assert (again.channel, again.thread_id) == (delivery_pb2.CHANNEL_EMAIL, email_thread)  # not the text's thread
    assert [s.outcome for s in await _sends(db, enrollment.id)] == ["queued"] * 3
    assert (await _reload(db, enrollment.id)).state == "completed"


async def test_a_variant_is_chosen_once_per_enrollment_and_recorded(
    db: Database, world: SimpleNamespace, kit: SimpleNamespace
) -> None:
    variants = [
        definitions.VariantSpec(name="short", weight=1, subject_template="A: hi", body_template="a"),
        definitions.VariantSpec(name="long", weight=1, subject_template="B: hello there", body_template="b"),
    ]
    step = definitions.StepSpec(channel="email", variants=variants)
    sequence = await kit.make_sequence(db, world.org, kit.definition(step, window=kit.ALWAYS))
    leads = [world.leads.add(email=f"v{n}@acme.example") for n in range(30)]
    enrolled = await _enroll(db, world, sequence, *leads)
    while await world.scheduler.run_once():
        pass
    saved = sequence.live_steps[0]
    by_key = {request.idempotency_key: request.subject for request in world.inbox.servicer.requests}
    names = {str(v["id"]): str(v["name"]) for v in saved.variants}
    for enrollment in enrolled:
        chosen = definitions.choose_variant(saved.variants, enrollment.id, saved.id)
        assert chosen is not None
        assert by_key[idempotency_key(enrollment.id, saved.id)] == str(chosen["subject_template"])
        [sent] = await _sends(db, enrollment.id)
        assert names[sent.variant_id] == chosen["name"]
    assert {request.subject for request in world.inbox.servicer.requests} == {"A: hi", "B: hello there"}


class Recorded:
    """A DeliveryService stub that keeps the replies it got."""

    def __init__(self, stub: delivery_pb2_grpc.DeliveryServiceStub) -> None:
        self.stub, self.replies = stub, []  # type: ignore[var-annotated]

    async def SendMessage(self, request, **kwargs):  # type: ignore[no-untyped-def]
        reply = await self.stub.SendMessage(request, **kwargs)
        self.replies.append(reply)
        return reply

    async def GetMessage(self, request, **kwargs):  # type: ignore[no-untyped-def]
        return await self.stub.GetMessage(request, **kwargs)


async def test_the_real_mail_room_takes_a_step_once(
    db: Database, world: SimpleNamespace, kit: SimpleNamespace, stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the test stack's inbox (its local default mailbox, captured mail): sent, killed before the
    commit, sent again under the same key: one message."""
    channel = grpc_client.channel(stack.env["sequences"]["INBOX_GRPC_TARGET"], timeout_s=10)
    delivery = Recorded(delivery_pb2_grpc.DeliveryServiceStub(channel))
    world.clock.now = dt.datetime.now(dt.UTC)  # the inbox checks not_after against its own clock
    scheduler = Scheduler(db=db, delivery=delivery, leads=world.leads, clock=world.clock)  # type: ignore[arg-type]
    try:
        _, [enrollment] = await _start(db, world, kit, kit.email_step(subject="Hello {{ lead.firstName }}"),
                                       window=kit.ALWAYS)  # fmt: skip
        record = Scheduler._record

        async def die(*args, **kwargs):  # type: ignore[no-untyped-def]
            raise Killed

        monkeypatch.setattr(Scheduler, "_record", die)
        with pytest.raises(Killed):
            await scheduler.run_once()
        monkeypatch.setattr(Scheduler, "_record", record)
        assert await scheduler.run_once() == 1
        first, again = delivery.replies
        assert (first.outcome, first.existing, again.existing) == (delivery_pb2.SEND_OUTCOME_QUEUED, False, True)
        assert again.message_id == first.message_id
        [sent] = await _sends(db, enrollment.id)
        assert (sent.outcome, sent.message_id) == ("queued", first.message_id)
        with context.bound(org_id=str(world.org)):
            stored = (await delivery.GetMessage(delivery_pb2.GetMessageRequest(message_id=sent.message_id))).message
        assert stored.idempotency_key == idempotency_key(enrollment.id, sent.step_id)
        assert (stored.subject, stored.to_address, stored.origin) == ("Hello Ada", "ada@acme.example", "sequences")
        assert (await _reload(db, enrollment.id)).state == "completed"
    finally:
        await channel.close()
