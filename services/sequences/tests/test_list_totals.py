"""The sequence, enrollment and task lists count what they list: by the list's own filters (state, lead, sequence),
exact up to the cap and then capped; sequences and tasks come a page at a time, newest first, each once."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

import pytest

from leadflood_platform.db import Database
from leadflood_platform.errors import InvalidArgument
from sequences import service
from sequences.models import ACTIVE, ARCHIVED, DONE, DRAFT, OPEN, REPLIED, Enrollment, Task


async def _world(db: Database, kit: SimpleNamespace) -> SimpleNamespace:
    """Two sequences of an org: the first with 6 active and 4 replied enrollments, each with a call task (the
    replied ones' done), the second with 2 active; another org's sequence with 3."""
    org, other = uuid.uuid4(), uuid.uuid4()
    first, second = await kit.make_sequence(db, org), await kit.make_sequence(db, org)
    elsewhere = await kit.make_sequence(db, other)
    lead = uuid.uuid4()
    async with db.transaction() as session:
        for sequence, owner, states in (
            (first, org, [ACTIVE] * 6 + [REPLIED] * 4),
            (second, org, [ACTIVE] * 2),
            (elsewhere, other, [ACTIVE] * 3),
        ):
            step = sequence.steps[0].id
            for n, state in enumerate(states):
                enrollment = Enrollment(
                    org_id=owner, sequence_id=sequence.id, lead_id=lead if n == 0 else uuid.uuid4(), state=state
                )
                session.add(enrollment)
                await session.flush()
                task_state = DONE if state == REPLIED else OPEN
                session.add(
                    Task(
                        org_id=owner,
                        sequence_id=sequence.id,
                        enrollment_id=enrollment.id,
                        step_id=step,
                        lead_id=enrollment.lead_id,
                        title="Call",
                        state=task_state,
                    )  # fmt: skip
                )
    return SimpleNamespace(org=org, other=other, first=first, second=second, lead=lead)


async def test_enrollments_are_counted_by_the_list_s_filters(db: Database, kit: SimpleNamespace) -> None:
    w = await _world(db, kit)
    async with db.transaction() as session:

        async def total(sequence_id: uuid.UUID, cap: int = 10_000, **filters: object) -> tuple[int, bool]:
            return await service.enrollments_total(
                session=session, org_id=w.org, sequence_id=sequence_id,
                filters=service.EnrollmentFilter(**filters), cap=cap,  # type: ignore[arg-type]
            )  # fmt: skip

        assert await total(w.first.id) == (10, False)
        assert await total(w.first.id, state=ACTIVE) == (6, False)
        assert await total(w.first.id, state=REPLIED) == (4, False)
        assert await total(w.first.id, lead_id=w.lead) == (1, False)
        assert await total(w.second.id) == (2, False)
        assert await total(w.first.id, cap=8) == (8, True)
        assert await service.enrollments_total(  # the same sequence asked for by another org: nothing
            session=session, org_id=w.other, sequence_id=w.first.id, filters=service.EnrollmentFilter()
        ) == (0, False)


async def test_tasks_come_a_page_at_a_time_each_once_and_are_counted(db: Database, kit: SimpleNamespace) -> None:
    w = await _world(db, kit)
    async with db.transaction() as session:
        listed, cursor = [], ""
        while True:  # made in one transaction: one created_at, the id keeps the order
            page, cursor = await service.list_tasks(
                session=session, org_id=w.org, state=OPEN, sequence_id=None, size=3, cursor=cursor
            )
            listed += page
            if not cursor:
                break
        assert len(listed) == len({t.id for t in listed}) == 8  # 6 + 2 open, none of the other org's
        assert await service.tasks_total(session=session, org_id=w.org, state=OPEN, sequence_id=None) == (8, False)
        assert await service.tasks_total(session=session, org_id=w.org, state=DONE, sequence_id=None) == (4, False)
        of_second = await service.tasks_total(session=session, org_id=w.org, state=OPEN, sequence_id=w.second.id)
        assert of_second == (2, False)
        capped = await service.tasks_total(session=session, org_id=w.org, state=OPEN, sequence_id=None, cap=5)
        assert capped == (5, True)
        assert await service.tasks_total(session=session, org_id=w.other, state=OPEN, sequence_id=None) == (3, False)
        with pytest.raises(InvalidArgument):
            await service.list_tasks(session=session, org_id=w.org, state=OPEN, sequence_id=None, size=3, cursor="x")


async def test_sequences_come_a_page_at_a_time_each_once_and_are_counted(db: Database, kit: SimpleNamespace) -> None:
    """Past the 500 the list once stopped at, silently: 503 sequences, 500 of them made in one transaction (one
    created_at, the id keeps the order), page after page, each once; counted by the list's state."""
    org, other = uuid.uuid4(), uuid.uuid4()
    older = [await kit.make_sequence(db, org) for _ in range(2)]  # active, each in a transaction of its own
    archived = await kit.make_sequence(db, org)
    async with db.transaction() as session:
        await service.transition(session=session, org_id=org, sequence_id=archived.id, action="archive")
        together = [await service.create(session=session, org_id=org, definition=kit.definition()) for _ in range(500)]
    await kit.make_sequence(db, other)
    async with db.transaction() as session:

        async def every_page(state: str | None, size: int) -> list[uuid.UUID]:
            listed, cursor = [], ""
            while True:
                page, cursor = await service.list_page(
                    session=session, org_id=org, state=state, size=size, cursor=cursor
                )
                assert len(page) == size or not cursor  # a full page, or the last
                listed += [s.id for s in page]
                if not cursor:
                    return listed

        current = await every_page(None, 200)
        assert len(current) == len(set(current)) == 502  # every one not archived, none of the other org's
        assert current[:500] == sorted((s.id for s in together), reverse=True)  # the newest, in one moment
        assert current[500:] == [s.id for s in reversed(older)]
        assert await every_page(None, 7) == current
        assert await every_page(DRAFT, 200) == current[:500]  # made, not activated
        assert await every_page(ARCHIVED, 50) == [archived.id]

        async def total(state: str | None, cap: int = 10_000) -> tuple[int, bool]:
            return await service.sequences_total(session=session, org_id=org, state=state, cap=cap)

        assert await total(None) == (502, False)
        assert await total(DRAFT) == (500, False)
        assert await total(ACTIVE) == (2, False)
        assert await total(ARCHIVED) == (1, False)
        assert await total(None, cap=500) == (500, True)
        assert await service.sequences_total(session=session, org_id=other, state=None) == (1, False)
        with pytest.raises(InvalidArgument):
            await service.list_page(session=session, org_id=org, state=None, size=50, cursor="x")
        with pytest.raises(InvalidArgument):
            await service.list_page(session=session, org_id=org, state=None, size=201, cursor="")
