"""A sequence's lifecycle and edits, against its real schema: the transitions a user may make, the ones
refused naming the state, and what they do to the sequence's enrollments."""

from __future__ import annotations

import datetime as dt
import uuid
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from leadflood_platform.db import Database
from leadflood_platform.errors import FailedPrecondition, InvalidArgument, NotFound
from sequences import definitions, service
from sequences.models import Enrollment, Step, StepSend

NOW = dt.datetime(2026, 3, 4, 10, 0, tzinfo=dt.UTC)


async def _transition(db: Database, org: uuid.UUID, sequence_id: uuid.UUID, action: str) -> str:
    async with db.transaction() as session:
        sequence = await service.transition(session=session, org_id=org, sequence_id=sequence_id, action=action)
        return sequence.state


async def _enrollment_states(db: Database, sequence_id: uuid.UUID) -> list[str]:
    async with db.transaction() as session:
        rows = await session.execute(select(Enrollment.state).where(Enrollment.sequence_id == sequence_id))
        return sorted(rows.scalars())


async def _enroll(db: Database, org: uuid.UUID, sequence_id: uuid.UUID, *leads: uuid.UUID):  # type: ignore[no-untyped-def]
    async with db.transaction() as session:
        return await service.enroll(session=session, org_id=org, sequence_id=sequence_id, lead_ids=list(leads), now=NOW)


async def test_draft_active_paused_active_archived(db: Database, kit: SimpleNamespace) -> None:
    org = uuid.uuid4()
    sequence = await kit.make_sequence(db, org, activate=False)
    assert sequence.state == "draft"
    await _enroll(db, org, sequence.id, uuid.uuid4(), uuid.uuid4())
    assert await _enrollment_states(db, sequence.id) == ["paused", "paused"]  # a draft sends nothing
    assert await _transition(db, org, sequence.id, "activate") == "active"
    assert await _enrollment_states(db, sequence.id) == ["active", "active"]
    assert await _transition(db, org, sequence.id, "pause") == "paused"
    assert await _enrollment_states(db, sequence.id) == ["paused", "paused"]
    assert await _transition(db, org, sequence.id, "resume") == "active"
    assert await _enrollment_states(db, sequence.id) == ["active", "active"]
    assert await _transition(db, org, sequence.id, "archive") == "archived"
    assert await _enrollment_states(db, sequence.id) == ["stopped", "stopped"]


@pytest.mark.parametrize(
    ("path", "action", "message"),
    [
        ([], "pause", "the sequence is draft: only a active sequence can be paused"),
        ([], "resume", "the sequence is draft: only a paused sequence can be resumed"),
        (["activate"], "activate", "the sequence is active: only a draft sequence can be activated"),
        (["activate"], "resume", "the sequence is active"),
        (["activate", "pause"], "pause", "the sequence is paused"),
        (["activate", "pause"], "activate", "the sequence is paused: only a draft sequence can be activated"),
        (["archive"], "activate", "the sequence is archived"),
        (["activate", "archive"], "resume", "the sequence is archived"),
        (["activate", "archive"], "archive", "the sequence is archived"),
    ],
)
async def test_an_invalid_transition_names_the_current_state(
    db: Database, kit: SimpleNamespace, path: list[str], action: str, message: str
) -> None:
    org = uuid.uuid4()
    sequence = await kit.make_sequence(db, org, activate=False)
    for step in path:
        await _transition(db, org, sequence.id, step)
    with pytest.raises(FailedPrecondition) as caught:
        await _transition(db, org, sequence.id, action)
    assert str(caught.value).startswith(message)


async def test_draft_may_be_archived_and_activating_needs_a_step(db: Database, kit: SimpleNamespace) -> None:
    org = uuid.uuid4()
    empty = await kit.make_sequence(db, org, definitions.Definition(name="Empty"), activate=False)
    with pytest.raises(FailedPrecondition, match="no steps"):
        await _transition(db, org, empty.id, "activate")
    assert await _transition(db, org, empty.id, "archive") == "archived"
    with pytest.raises(FailedPrecondition, match="archived"):
        async with db.transaction() as session:
            await service.update(session=session, org_id=org, sequence_id=empty.id, definition=kit.definition())


async def test_another_orgs_sequence_is_not_found(db: Database, kit: SimpleNamespace) -> None:
    sequence = await kit.make_sequence(db, uuid.uuid4())
    with pytest.raises(NotFound):
        await _transition(db, uuid.uuid4(), sequence.id, "pause")


async def test_an_update_keeps_named_steps_and_moves_leads_off_removed_ones(db: Database, kit: SimpleNamespace) -> None:
    org = uuid.uuid4()
    first, second, third = (kit.email_step(subject=f"step {n}") for n in (1, 2, 3))
    sequence = await kit.make_sequence(db, org, kit.definition(first, second, third))
    one, two, three = (step.id for step in sequence.live_steps)
    lead_at_two, lead_at_three = uuid.uuid4(), uuid.uuid4()
    await _enroll(db, org, sequence.id, lead_at_two, lead_at_three)
    async with db.transaction() as session:
        enrollments = (await session.execute(select(Enrollment).where(Enrollment.sequence_id == sequence.id))).scalars()
        for enrollment in enrollments:
            enrollment.current_step_id = two if enrollment.lead_id == lead_at_two else three
        # Step one was sent once, so it stays in the table (for its history) when removed.
        session.add(StepSend(org_id=org, enrollment_id=enrollment.id, step_id=one, channel="email", outcome="queued"))

    # Keep step three (edited), drop one and two, add a new step after three.
    edited = kit.definition(
        kit.email_step(id=str(three), subject="step 3, edited"), kit.email_step(subject="step 4, new")
    )
    async with db.transaction() as session:
        updated = await service.update(session=session, org_id=org, sequence_id=sequence.id, definition=edited)
    assert [s.subject_template for s in updated.live_steps] == ["step 3, edited", "step 4, new"]
    assert updated.live_steps[0].id == three
    async with db.transaction() as session:
        query = select(Enrollment.lead_id, Enrollment.current_step_id).where(Enrollment.sequence_id == sequence.id)
        where = {lead: step for lead, step in (await session.execute(query)).all()}
        kept = set(await session.scalars(select(Step.id).where(Step.sequence_id == sequence.id)))
    assert where == {lead_at_two: three, lead_at_three: three}  # step two's lead goes on to the step after it
    assert kept == {one, three, updated.live_steps[1].id}  # two had no sends: gone; one is kept, removed


async def test_an_active_sequence_keeps_at_least_one_step(db: Database, kit: SimpleNamespace) -> None:
    org = uuid.uuid4()
    sequence = await kit.make_sequence(db, org)
    with pytest.raises(FailedPrecondition, match="at least one step"):
        async with db.transaction() as session:
            await service.update(
                session=session, org_id=org, sequence_id=sequence.id, definition=definitions.Definition(name="x")
            )


async def test_an_update_may_not_name_another_sequences_step(db: Database, kit: SimpleNamespace) -> None:
    org = uuid.uuid4()
    other = await kit.make_sequence(db, org)
    sequence = await kit.make_sequence(db, org)
    stolen = kit.definition(kit.email_step(id=str(other.live_steps[0].id)))
    with pytest.raises(InvalidArgument) as caught:
        async with db.transaction() as session:
            await service.update(session=session, org_id=org, sequence_id=sequence.id, definition=stolen)
    assert [v.field for v in caught.value.violations] == ["steps[0].id"]


async def test_a_refused_edit_changes_nothing(db: Database, kit: SimpleNamespace) -> None:
    org = uuid.uuid4()
    sequence = await kit.make_sequence(db, org)
    broken = kit.definition(kit.email_step(subject="{{ lead.nope }}"))
    with pytest.raises(InvalidArgument):
        async with db.transaction() as session:
            await service.update(session=session, org_id=org, sequence_id=sequence.id, definition=broken)
    async with db.transaction() as session:
        again = await service.get(session=session, org_id=org, sequence_id=sequence.id)
        count = await session.scalar(select(func.count()).select_from(Step).where(Step.sequence_id == sequence.id))
    assert [s.subject_template for s in again.live_steps] == [sequence.live_steps[0].subject_template]
    assert count == 1
