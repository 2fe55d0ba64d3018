"""A sequence's results per step and per A/B variant, after the scheduler sent through the stand-in mail room and
leads stopped: the numbers a user reads, and that they add up to the enrollment list."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from types import SimpleNamespace

from sqlalchemy import select

from leadflood.inbox.v1 import delivery_pb2
from leadflood.inbox.v1 import events_pb2 as inbox_events
from leadflood.sequences.v1 import sequences_pb2 as pb
from leadflood_platform.db import Database
from sequences import convert, definitions, service, stats
from sequences.models import BOUNCED, REPLIED, UNSUBSCRIBED, Enrollment, Sequence
from sequences.stops import StopConsumer


async def _enroll(db: Database, world: SimpleNamespace, sequence: Sequence, leads: list[uuid.UUID]) -> None:
    async with db.transaction() as session:
        await service.enroll(session=session, org_id=world.org, sequence_id=sequence.id, lead_ids=leads,
                             now=world.clock())  # fmt: skip


async def _drain(world: SimpleNamespace) -> None:
    while await world.scheduler.run_once():
        pass


async def _stop(db: Database, world: SimpleNamespace, lead: uuid.UUID, state: str) -> None:
    async with db.transaction() as session:
        stopped = await service.stop_lead(session=session, org_id=world.org, lead_id=lead, state=state, reason=state)
    assert stopped


async def _stats(db: Database, world: SimpleNamespace, sequence: Sequence) -> pb.SequenceStats:
    async with db.transaction() as session:
        loaded = await service.get(session=session, org_id=world.org, sequence_id=sequence.id)
        return convert.stats_to_proto(await stats.of_sequence(session=session, sequence=loaded))


async def _listed(db: Database, world: SimpleNamespace, sequence: Sequence) -> Counter[str]:
    async with db.transaction() as session:
        _, enrollments, _ = await service.list_enrollments(
            session=session, org_id=world.org, sequence_id=sequence.id, filters=service.EnrollmentFilter(),
            size=200, cursor="",
        )  # fmt: skip
    return Counter(enrollment.state for enrollment in enrollments)


async def test_counts_per_step_and_variant_add_up_to_the_enrollment_list(
    db: Database, world: SimpleNamespace, kit: SimpleNamespace
) -> None:
    variants = [
        definitions.VariantSpec(name="short", weight=1, subject_template="A", body_template="a"),
        definitions.VariantSpec(name="long", weight=1, subject_template="B", body_template="b"),
    ]
    first = definitions.StepSpec(channel="email", variants=variants)
    second = kit.email_step(delay_amount=1, delay_unit="hours")
    sequence = await kit.make_sequence(db, world.org, kit.definition(first, second, window=kit.ALWAYS))
    emailed = [world.leads.add(email=f"lead{n}@acme.example") for n in range(12)]
    no_email = world.leads.add(first_name="Grace")
    await _enroll(db, world, sequence, [*emailed, no_email])
    await _drain(world)

    for lead, state in zip(emailed, [REPLIED, REPLIED, BOUNCED, UNSUBSCRIBED], strict=False):
        await _stop(db, world, lead, state)
    late = world.leads.add(email="late@acme.example")  # replies (to something else) before its first step
    await _enroll(db, world, sequence, [late])
    await _stop(db, world, late, REPLIED)

    world.clock.now += dt.timedelta(hours=1)
    await _drain(world)

    # A reply to the last email, after the enrollment completed: found by its thread, it counts there.
    async def thread_of(lead: uuid.UUID) -> str:
        async with db.transaction() as session:
            return await session.scalar(
                select(Enrollment.thread_id).where(Enrollment.sequence_id == sequence.id, Enrollment.lead_id == lead)
            )

    reply = inbox_events.MessageReceived(event_id="r1", org_id=str(world.org), lead_id=str(emailed[4]),
                                         thread_id=await thread_of(emailed[4]))  # fmt: skip
    consumer = StopConsumer(db=db, bus=None)  # type: ignore[arg-type]
    assert await consumer.handle("inbox.message.received", reply.SerializeToString()) == 1
    assert await consumer.handle("inbox.message.received", reply.SerializeToString()) == 0  # once
    # So does an unsubscribe from the last email (the mail room names the thread it answers).
    gone = inbox_events.RecipientUnsubscribed(event_id="u1", org_id=str(world.org), lead_id=str(emailed[5]),
                                              reason="unsubscribed", thread_id=await thread_of(emailed[5]))  # fmt: skip
    assert await consumer.handle("inbox.recipient.unsubscribed", gone.SerializeToString()) == 1

    counted = await _stats(db, world, sequence)
    step_one, step_two = counted.steps
    assert (step_one.ordinal, step_one.channel, step_two.ordinal) == (1, pb.CHANNEL_EMAIL, 2)
    one, two = step_one.counts, step_two.counts
    assert (one.sent, one.skipped, one.replied, one.bounced, one.unsubscribed) == (12, 1, 2, 1, 1)
    assert (two.sent, two.skipped, two.replied, two.bounced, two.unsubscribed) == (8, 1, 1, 0, 1)
    assert (counted.before_first_step.replied, counted.before_first_step.sent) == (1, 0)

    # Each variant's sends are the enrollments it was chosen for; the variants add up to the step.
    saved = sequence.live_steps[0]
    async with db.transaction() as session:
        _, enrollments, _ = await service.list_enrollments(
            session=session, org_id=world.org, sequence_id=sequence.id, filters=service.EnrollmentFilter(),
            size=200, cursor="",
        )  # fmt: skip
    chosen = Counter(
        str(definitions.choose_variant(saved.variants, e.id, saved.id)["name"])  # type: ignore[index]
        for e in enrollments
        if e.lead_id in emailed
    )
    assert {v.name: v.counts.sent for v in step_one.variants} == dict(chosen)
    assert sum(v.counts.sent for v in step_one.variants) == one.sent
    for field in ("replied", "bounced", "unsubscribed"):
        assert sum(getattr(v.counts, field) for v in step_one.variants) == getattr(one, field)

    # The enrollment counts are the list's, and each stop state is the steps' plus before_first_step's.
    listed = await _listed(db, world, sequence)
    by_state = {state: getattr(counted.enrollments, state) for state in listed}
    assert by_state == dict(listed) and counted.enrollments.total == 14 == sum(listed.values())
    assert dict(listed) == {"completed": 7, "replied": 4, "bounced": 1, "unsubscribed": 2}
    for field in ("replied", "bounced", "unsubscribed"):
        steps_and_before = sum(getattr(s.counts, field) for s in counted.steps)
        steps_and_before += getattr(counted.before_first_step, field)
        assert steps_and_before == getattr(counted.enrollments, field)


async def test_a_removed_step_keeps_its_results(db: Database, world: SimpleNamespace, kit: SimpleNamespace) -> None:
    first, second = kit.email_step(subject="one"), kit.email_step(subject="two", delay_amount=1, delay_unit="hours")
    sequence = await kit.make_sequence(db, world.org, kit.definition(first, second, window=kit.ALWAYS))
    await _enroll(db, world, sequence, [world.ada])
    await _drain(world)
    await _stop(db, world, world.ada, REPLIED)
    kept = sequence.live_steps[1]
    async with db.transaction() as session:
        edited = kit.definition(
            kit.email_step(subject="two", delay_amount=1, delay_unit="hours", id=str(kept.id)), window=kit.ALWAYS
        )
        await service.update(session=session, org_id=world.org, sequence_id=sequence.id, definition=edited)

    counted = await _stats(db, world, sequence)
    live, removed = counted.steps
    assert (live.step_id, live.ordinal, live.removed, live.counts.sent) == (str(kept.id), 1, False, 0)
    assert (removed.ordinal, removed.removed, removed.counts.sent, removed.counts.replied) == (0, True, 1, 1)
    assert counted.enrollments.replied == 1


async def test_a_text_that_could_not_be_delivered_counts_at_the_text_step(
    db: Database, world: SimpleNamespace, kit: SimpleNamespace
) -> None:
    text = definitions.StepSpec(channel="sms", body_template="Hi {{ lead.firstName }}")
    later = kit.email_step(delay_amount=1, delay_unit="hours")
    sequence = await kit.make_sequence(db, world.org, kit.definition(text, kit.email_step(), later, window=kit.ALWAYS))
    lead = world.leads.add(email="sam@acme.example", phone="+14155550123", first_name="Sam")
    await _enroll(db, world, sequence, [lead])
    await _drain(world)  # the text, then the email at once; the last email waits an hour

    # The text's refusal arrives after the email went: the lead is stopped, counted at the text step.
    refused = inbox_events.MessageBounced(
        event_id="b1", org_id=str(world.org), status_code="21211", diagnostic="sms refused: 21211 The 'To' number ...",
        message=inbox_events.MessageRef(lead_id=str(lead), channel=delivery_pb2.CHANNEL_SMS),
    )  # fmt: skip
    consumer = StopConsumer(db=db, bus=None)  # type: ignore[arg-type]
    assert await consumer.handle("inbox.message.bounced", refused.SerializeToString()) == 1
    texted, emailed, waiting = (await _stats(db, world, sequence)).steps
    assert (texted.channel, texted.counts.sent, texted.counts.bounced) == (pb.CHANNEL_SMS, 1, 1)
    assert (emailed.channel, emailed.counts.sent, emailed.counts.bounced) == (pb.CHANNEL_EMAIL, 1, 0)
    assert (waiting.counts.sent, waiting.counts.bounced) == (0, 0)
