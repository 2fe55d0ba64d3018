"""The sequences service's domain events, written to the outbox in the transaction that made the change."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.sequences.v1 import events_pb2
from leadflood_platform import outbox
from leadflood_platform.convert import timestamp
from sequences import convert
from sequences.models import Enrollment, Step, platform_tables

STEP_SENT, ENROLLMENT_STOPPED = "sequences.step.sent", "sequences.enrollment.stopped"
OUTCOME = {
    "queued": events_pb2.STEP_OUTCOME_QUEUED,
    "suppressed": events_pb2.STEP_OUTCOME_SUPPRESSED,
    "simulated": events_pb2.STEP_OUTCOME_SIMULATED,
    "task_created": events_pb2.STEP_OUTCOME_TASK_CREATED,
}


def step_sent_event(
    enrollment: Enrollment,
    step: Step,
    *,
    outcome: str,
    variant_id: str = "",
    message_id: str = "",
    thread_id: str = "",
    task_id: str = "",
    at: dt.datetime,
) -> events_pb2.StepSent:
    return events_pb2.StepSent(
        event_id=str(uuid.uuid4()),
        org_id=str(enrollment.org_id),
        sequence_id=str(enrollment.sequence_id),
        enrollment_id=str(enrollment.id),
        step_id=str(step.id),
        variant_id=variant_id,
        lead_id=str(enrollment.lead_id),
        channel=convert.CHANNEL[step.channel],
        outcome=OUTCOME[outcome],
        message_id=message_id,
        thread_id=thread_id,
        task_id=task_id,
        sent_at=timestamp(at),
    )


def enrollment_stopped_event(enrollment: Enrollment, *, cause_event_id: str = "") -> events_pb2.EnrollmentStopped:
    """The enrollment as it stands now (its state and stop reason set)."""
    return events_pb2.EnrollmentStopped(
        event_id=str(uuid.uuid4()),
        org_id=str(enrollment.org_id),
        sequence_id=str(enrollment.sequence_id),
        enrollment_id=str(enrollment.id),
        lead_id=str(enrollment.lead_id),
        state=convert.ENROLLMENT_STATE[enrollment.state],
        reason=enrollment.stop_reason,
        cause_event_id=cause_event_id,
    )


SUBJECTS = {
    events_pb2.StepSent.DESCRIPTOR.full_name: STEP_SENT,
    events_pb2.EnrollmentStopped.DESCRIPTOR.full_name: ENROLLMENT_STOPPED,
}
Event = events_pb2.StepSent | events_pb2.EnrollmentStopped


async def step_sent(session: AsyncSession, enrollment: Enrollment, step: Step, **fields: Any) -> None:
    await write(session, [step_sent_event(enrollment, step, **fields)])


async def enrollment_stopped(session: AsyncSession, enrollment: Enrollment, *, cause_event_id: str = "") -> None:
    await write(session, [enrollment_stopped_event(enrollment, cause_event_id=cause_event_id)])


async def write(session: AsyncSession, events: list[Event]) -> None:
    """The events to the outbox in the session's transaction: one statement however many."""
    await outbox.enqueue_many(
        session, platform_tables, [(SUBJECTS[event.DESCRIPTOR.full_name], event.event_id, event) for event in events]
    )
