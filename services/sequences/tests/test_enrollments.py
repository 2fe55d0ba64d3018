"""Enrollments against the real schema: a lead is enrolled in a sequence once (whatever became of that
enrollment), unless it is enrolled again on purpose (`reenroll`), and never twice at a time: the unique
indexes hold for enrollments racing too. Its first step is planned in the window, and a user can stop it."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select, text

from leadflood_platform.db import Database
from leadflood_platform.errors import FailedPrecondition, InvalidArgument
from sequences import definitions, service
from sequences.models import Enrollment, platform_tables

# Wednesday 2026-03-04, 06:00 in New York: three hours before its window opens.
NOW = dt.datetime(2026, 3, 4, 11, 0, tzinfo=dt.UTC)
NEW_YORK_9_TO_5 = definitions.WindowSpec(time_zone="America/New_York")


async def _enroll(  # type: ignore[no-untyped-def]
    db: Database, org: uuid.UUID, sequence_id: uuid.UUID, leads: list[uuid.UUID], *, reenroll: bool = False
):
    async with db.transaction() as session:
        return await service.enroll(
            session=session, org_id=org, sequence_id=sequence_id, lead_ids=leads, now=NOW, reenroll=reenroll
        )


async def _end_as(db: Database, enrollment_id: uuid.UUID, state: str) -> None:
    """Ends the enrollment as the scheduler or a stop would (its state; nothing more due)."""
    async with db.transaction() as session:
        enrollment = await session.get_one(Enrollment, enrollment_id)
        service.finish(enrollment, state, f"ended as {state}", NOW)


async def _rounds(db: Database, sequence_id: uuid.UUID, lead: uuid.UUID) -> list[tuple[int, str]]:
    async with db.transaction() as session:
        rows = await session.execute(
            select(Enrollment.round, Enrollment.state)
            .where(Enrollment.sequence_id == sequence_id, Enrollment.lead_id == lead)
            .order_by(Enrollment.round)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


async def test_a_lead_is_enrolled_once_while_its_enrollment_goes_on(db: Database, kit: SimpleNamespace) -> None:
    org = uuid.uuid4()
    sequence = await kit.make_sequence(db, org)
    ada, bob = uuid.uuid4(), uuid.uuid4()
    enrolled, skipped = await _enroll(db, org, sequence.id, [ada, bob, ada])
    assert sorted(e.lead_id for e in enrolled) == sorted([ada, bob])
    assert [(s.lead_id, s.reason) for s in skipped] == [(str(ada), service.LISTED_TWICE)]
    enrolled, skipped = await _enroll(db, org, sequence.id, [ada])
    assert enrolled == [] and [s.reason for s in skipped] == ["already enrolled in this sequence"]
    # Asking to enroll it again changes nothing while it goes on.
    enrolled, skipped = await _enroll(db, org, sequence.id, [ada], reenroll=True)
    assert enrolled == [] and [s.reason for s in skipped] == ["already enrolled in this sequence"]
    assert await _rounds(db, sequence.id, ada) == [(1, "active")]


# Every way an enrollment ends, and the words its lead is skipped with afterwards.
ENDED = [
    ("completed", "already went through this sequence (completed)"),
    ("replied", "already went through this sequence (replied)"),
    ("bounced", "already went through this sequence (bounced)"),
    ("unsubscribed", "already went through this sequence (unsubscribed)"),
    ("meeting_booked", "already went through this sequence (booked a meeting)"),
    ("failed", "already went through this sequence (failed)"),
    ("stopped", "already went through this sequence (stopped)"),
]


@pytest.mark.parametrize(("state", "reason"), ENDED, ids=[state for state, _ in ENDED])
async def test_a_lead_that_went_through_the_sequence_is_skipped_unless_enrolled_again(
    db: Database, kit: SimpleNamespace, state: str, reason: str
) -> None:
    org = uuid.uuid4()
    sequence = await kit.make_sequence(db, org)
    lead = uuid.uuid4()
    [first], _ = await _enroll(db, org, sequence.id, [lead])
    await _end_as(db, first.id, state)

    enrolled, skipped = await _enroll(db, org, sequence.id, [lead])  # pressed again
    assert enrolled == [] and [(s.lead_id, s.reason) for s in skipped] == [(str(lead), reason)]
    assert await _rounds(db, sequence.id, lead) == [(1, state)]

    [again], skipped = await _enroll(db, org, sequence.id, [lead], reenroll=True)  # asked for on purpose
    assert skipped == [] and again.id != first.id
    assert (again.state, again.current_step_id, again.steps_done) == ("active", sequence.live_steps[0].id, 0)
    assert await _rounds(db, sequence.id, lead) == [(1, state), (2, "active")]


async def test_a_paused_enrollment_is_already_enrolled(db: Database, kit: SimpleNamespace) -> None:
    org = uuid.uuid4()
    sequence = await kit.make_sequence(db, org, activate=False)  # a draft: its leads wait, paused
    lead = uuid.uuid4()
    [first], _ = await _enroll(db, org, sequence.id, [lead])
    assert first.state == "paused"
    for reenroll in (False, True):
        enrolled, skipped = await _enroll(db, org, sequence.id, [lead], reenroll=reenroll)
        assert enrolled == [] and [s.reason for s in skipped] == [service.ALREADY_ENROLLED]


async def test_two_enrollments_racing_for_the_same_lead_make_one(db: Database, kit: SimpleNamespace) -> None:
    org = uuid.uuid4()
    sequence = await kit.make_sequence(db, org)
    lead = uuid.uuid4()
    results = await asyncio.gather(*(_enroll(db, org, sequence.id, [lead]) for _ in range(4)))
    assert sum(len(enrolled) for enrolled, _ in results) == 1
    assert sorted(len(skipped) for _, skipped in results) == [0, 1, 1, 1]
    assert await _rounds(db, sequence.id, lead) == [(1, "active")]


async def test_two_enrollments_racing_after_the_first_ended_make_none_or_one_again(
    db: Database, kit: SimpleNamespace
) -> None:
    org = uuid.uuid4()
    sequence = await kit.make_sequence(db, org)
    lead = uuid.uuid4()
    [first], _ = await _enroll(db, org, sequence.id, [lead])
    await _end_as(db, first.id, "completed")
    # A second press while nothing goes on: no enrollment at all, however many race.
    pressed = await asyncio.gather(*(_enroll(db, org, sequence.id, [lead]) for _ in range(4)))
    assert sum(len(enrolled) for enrolled, _ in pressed) == 0
    # Enrolled again on purpose by four calls at once: one new enrollment (the next round is unique).
    again = await asyncio.gather(*(_enroll(db, org, sequence.id, [lead], reenroll=True) for _ in range(4)))
    assert sum(len(enrolled) for enrolled, _ in again) == 1
    assert await _rounds(db, sequence.id, lead) == [(1, "completed"), (2, "active")]


async def test_a_job_run_again_re_enrolls_nobody_twice(db: Database, kit: SimpleNamespace) -> None:
    org = uuid.uuid4()
    sequence = await kit.make_sequence(db, org)
    lead = uuid.uuid4()
    [first], _ = await _enroll(db, org, sequence.id, [lead])
    await _end_as(db, first.id, "completed")
    async with db.transaction() as session:
        asked_at = await session.scalar(select(func.now()))  # when the job was queued, by the database's clock

    async def run_job() -> list[uuid.UUID]:
        async with db.transaction() as session:
            made, _ = await service.enroll_ids(
                session=session, org_id=org, sequence_id=sequence.id, lead_ids=[lead], now=NOW, reenroll=True,
                reenroll_before=asked_at,
            )  # fmt: skip
        return made

    assert len(await run_job()) == 1
    async with db.transaction() as session:  # the new enrollment ends before the job is run again
        [second] = await session.scalars(select(Enrollment.id).where(Enrollment.round == 2))
    await _end_as(db, second, "completed")
    assert await run_job() == []  # redelivered: made since it was asked for, so not a third time
    assert await _rounds(db, sequence.id, lead) == [(1, "completed"), (2, "completed")]


async def test_the_indexes_refuse_a_second_enrollment_in_progress_or_of_the_same_round(
    db: Database, kit: SimpleNamespace
) -> None:
    org = uuid.uuid4()
    sequence = await kit.make_sequence(db, org)
    lead = uuid.uuid4()
    await _enroll(db, org, sequence.id, [lead])
    insert = text(
        "INSERT INTO sequences.enrollments (id, org_id, sequence_id, lead_id, round, state, waiting_detail,"
        " stop_reason, steps_done, thread_id) VALUES (:id, :org, :seq, :lead, :round, :state, '', '', 0, '')"
    )
    values = {"org": org, "seq": sequence.id, "lead": lead}
    async with db.transaction() as session:  # a finished one of another round beside it is fine
        await session.execute(insert, values | {"id": uuid.uuid4(), "round": 0, "state": "completed"})
    with pytest.raises(Exception, match="uq_enrollments_sequence_lead_in_progress"):
        async with db.transaction() as session:
            await session.execute(insert, values | {"id": uuid.uuid4(), "round": 2, "state": "paused"})
    with pytest.raises(Exception, match="uq_enrollments_sequence_lead_round"):
        async with db.transaction() as session:
            await session.execute(insert, values | {"id": uuid.uuid4(), "round": 1, "state": "completed"})


async def test_the_first_step_is_planned_in_the_leads_window(db: Database, kit: SimpleNamespace) -> None:
    org = uuid.uuid4()
    sequence = await kit.make_sequence(db, org, kit.definition(kit.email_step(), window=NEW_YORK_9_TO_5))
    [enrollment], _ = await _enroll(db, org, sequence.id, [uuid.uuid4()])
    assert enrollment.next_due_at == dt.datetime(2026, 3, 4, 14, 0, tzinfo=dt.UTC)  # 09:00 EST
    assert enrollment.waiting_reason == "window" and enrollment.state == "active"
    delayed = kit.definition(kit.email_step(delay_amount=2, delay_unit="hours"), window=kit.ALWAYS)
    sequence = await kit.make_sequence(db, org, delayed)
    [enrollment], _ = await _enroll(db, org, sequence.id, [uuid.uuid4()])
    assert enrollment.next_due_at == NOW + dt.timedelta(hours=2) and enrollment.waiting_reason == "delay"


async def test_no_enrollment_in_an_archived_or_empty_sequence(db: Database, kit: SimpleNamespace) -> None:
    org = uuid.uuid4()
    empty = await kit.make_sequence(db, org, definitions.Definition(name="Empty"), activate=False)
    with pytest.raises(FailedPrecondition, match="no steps"):
        await _enroll(db, org, empty.id, [uuid.uuid4()])
    sequence = await kit.make_sequence(db, org)
    async with db.transaction() as session:
        await service.transition(session=session, org_id=org, sequence_id=sequence.id, action="archive")
    with pytest.raises(FailedPrecondition, match="archived"):
        await _enroll(db, org, sequence.id, [uuid.uuid4()])
    with pytest.raises(InvalidArgument):
        await _enroll(db, org, sequence.id, [uuid.uuid4() for _ in range(service.MAX_ENROLL + 1)])


async def test_enrollments_page_by_cursor_and_filter(db: Database, kit: SimpleNamespace) -> None:
    org = uuid.uuid4()
    sequence = await kit.make_sequence(db, org)
    leads = [uuid.uuid4() for _ in range(7)]
    for lead in leads:  # one transaction each, so creation times differ
        await _enroll(db, org, sequence.id, [lead])
    seen, cursor = [], ""
    while True:
        async with db.transaction() as session:
            _, page, cursor = await service.list_enrollments(
                session=session, org_id=org, sequence_id=sequence.id, filters=service.EnrollmentFilter(), size=3,
                cursor=cursor,
            )  # fmt: skip
        seen += [e.lead_id for e in page]
        if not cursor:
            break
    assert seen == leads
    async with db.transaction() as session:
        _, page, _ = await service.list_enrollments(
            session=session, org_id=org, sequence_id=sequence.id,
            filters=service.EnrollmentFilter(lead_id=leads[3]), size=50, cursor="",
        )  # fmt: skip
    assert [e.lead_id for e in page] == [leads[3]]
    with pytest.raises(InvalidArgument):
        async with db.transaction() as session:
            await service.list_enrollments(
                session=session, org_id=org, sequence_id=sequence.id, filters=service.EnrollmentFilter(), size=3,
                cursor="garbage",
            )  # fmt: skip


async def test_stopping_an_enrollment_says_why_and_tells_the_others(db: Database, kit: SimpleNamespace) -> None:
    org = uuid.uuid4()
    sequence = await kit.make_sequence(db, org)
    [enrollment], _ = await _enroll(db, org, sequence.id, [uuid.uuid4()])
    async with db.transaction() as session:
        stopped = await service.stop_enrollment(
            session=session, org_id=org, sequence_id=sequence.id, enrollment_id=enrollment.id, reason="asked by phone"
        )
    assert (stopped.state, stopped.stop_reason, stopped.next_due_at) == ("stopped", "asked by phone", None)
    async with db.transaction() as session:
        subjects = list(await session.scalars(select(platform_tables.outbox.c.subject)))
        assert subjects == ["sequences.enrollment.stopped"]
    with pytest.raises(FailedPrecondition, match="the enrollment is stopped"):
        async with db.transaction() as session:
            await service.stop_enrollment(
                session=session, org_id=org, sequence_id=sequence.id, enrollment_id=enrollment.id, reason=""
            )
    async with db.transaction() as session:
        count = await session.scalar(select(func.count()).select_from(platform_tables.outbox))
    assert count == 1
