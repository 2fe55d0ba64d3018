"""Enrollments against the real schema: a lead is in a sequence once at a time (the partial unique index
holds even for two enrollments racing), its first step is planned in the window, and a user can stop it."""

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


async def _enroll(db: Database, org: uuid.UUID, sequence_id: uuid.UUID, leads: list[uuid.UUID]):  # type: ignore[no-untyped-def]
    async with db.transaction() as session:
        return await service.enroll(session=session, org_id=org, sequence_id=sequence_id, lead_ids=leads, now=NOW)


async def test_a_lead_is_enrolled_once_while_its_enrollment_goes_on(db: Database, kit: SimpleNamespace) -> None:
    org = uuid.uuid4()
    sequence = await kit.make_sequence(db, org)
    ada, bob = uuid.uuid4(), uuid.uuid4()
    enrolled, skipped = await _enroll(db, org, sequence.id, [ada, bob, ada])
    assert sorted(e.lead_id for e in enrolled) == sorted([ada, bob])
    assert [(s.lead_id, s.reason) for s in skipped] == [(str(ada), service.LISTED_TWICE)]
    enrolled, skipped = await _enroll(db, org, sequence.id, [ada])
    assert enrolled == [] and [s.reason for s in skipped] == [service.ALREADY_ENROLLED]

    # Once it has ended, the lead may be enrolled again.
    async with db.transaction() as session:
        [first] = [e for e in (await session.scalars(select(Enrollment).where(Enrollment.lead_id == ada)))]
        await service.stop_enrollment(
            session=session, org_id=org, sequence_id=sequence.id, enrollment_id=first.id, reason=""
        )
    enrolled, skipped = await _enroll(db, org, sequence.id, [ada])
    assert [e.lead_id for e in enrolled] == [ada] and skipped == []


async def test_two_enrollments_racing_for_the_same_lead_make_one(db: Database, kit: SimpleNamespace) -> None:
    org = uuid.uuid4()
    sequence = await kit.make_sequence(db, org)
    lead = uuid.uuid4()
    results = await asyncio.gather(*(_enroll(db, org, sequence.id, [lead]) for _ in range(4)))
    assert sum(len(enrolled) for enrolled, _ in results) == 1
    assert sorted(len(skipped) for _, skipped in results) == [0, 1, 1, 1]


async def test_the_index_refuses_a_second_enrollment_in_progress(db: Database, kit: SimpleNamespace) -> None:
    org = uuid.uuid4()
    sequence = await kit.make_sequence(db, org)
    lead = uuid.uuid4()
    await _enroll(db, org, sequence.id, [lead])
    insert = text(
        "INSERT INTO sequences.enrollments (id, org_id, sequence_id, lead_id, state, waiting_detail, stop_reason,"
        " steps_done, thread_id) VALUES (:id, :org, :seq, :lead, :state, '', '', 0, '')"
    )
    values = {"org": org, "seq": sequence.id, "lead": lead}
    async with db.transaction() as session:  # a finished one beside it is fine
        await session.execute(insert, values | {"id": uuid.uuid4(), "state": "completed"})
    with pytest.raises(Exception, match="uq_enrollments_sequence_lead_in_progress"):
        async with db.transaction() as session:
            await session.execute(insert, values | {"id": uuid.uuid4(), "state": "paused"})


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
