"""Between the sequences service's models and its protobuf messages."""

from __future__ import annotations

import uuid

from leadflood.sequences.v1 import sequences_pb2 as pb
from leadflood_platform import templates
from leadflood_platform.convert import timestamp
from sequences import definitions, schedule, stats
from sequences.models import PAUSED, Enrollment, Sequence, Step, Task

SEQUENCE_STATE = {
    "draft": pb.SEQUENCE_STATE_DRAFT,
    "active": pb.SEQUENCE_STATE_ACTIVE,
    "paused": pb.SEQUENCE_STATE_PAUSED,
    "archived": pb.SEQUENCE_STATE_ARCHIVED,
}
CHANNEL = {"email": pb.CHANNEL_EMAIL, "sms": pb.CHANNEL_SMS, "call_task": pb.CHANNEL_CALL_TASK}
DELAY_UNIT = {schedule.BUSINESS_DAYS: pb.DELAY_UNIT_BUSINESS_DAYS, schedule.HOURS: pb.DELAY_UNIT_HOURS}
ENROLLMENT_STATE = {
    "active": pb.ENROLLMENT_STATE_ACTIVE,
    "completed": pb.ENROLLMENT_STATE_COMPLETED,
    "replied": pb.ENROLLMENT_STATE_REPLIED,
    "bounced": pb.ENROLLMENT_STATE_BOUNCED,
    "unsubscribed": pb.ENROLLMENT_STATE_UNSUBSCRIBED,
    "meeting_booked": pb.ENROLLMENT_STATE_MEETING_BOOKED,
    "paused": pb.ENROLLMENT_STATE_PAUSED,
    "failed": pb.ENROLLMENT_STATE_FAILED,
    "stopped": pb.ENROLLMENT_STATE_STOPPED,
}
WAIT_REASON = {
    "delay": pb.WAIT_REASON_DELAY,
    "window": pb.WAIT_REASON_WINDOW,
    "mailbox": pb.WAIT_REASON_MAILBOX,
    "sequence_paused": pb.WAIT_REASON_SEQUENCE_PAUSED,
    "retry": pb.WAIT_REASON_RETRY,
}
TASK_STATE = {"open": pb.TASK_STATE_OPEN, "done": pb.TASK_STATE_DONE}


def _names(mapping: dict[str, int]) -> dict[int, str]:
    return {number: name for name, number in mapping.items()}


SEQUENCE_STATE_NAME = _names(SEQUENCE_STATE)
CHANNEL_NAME = _names(CHANNEL)
DELAY_UNIT_NAME = _names(DELAY_UNIT)
ENROLLMENT_STATE_NAME = _names(ENROLLMENT_STATE)
TASK_STATE_NAME = _names(TASK_STATE)


def definition_from_proto(message: pb.SequenceDefinition) -> definitions.Definition:
    window = message.window
    return definitions.Definition(
        name=message.name,
        window=definitions.WindowSpec(
            days=list(window.days), start_time=window.start_time, end_time=window.end_time, time_zone=window.time_zone
        ),
        mailbox_id=message.mailbox_id,
        steps=[
            definitions.StepSpec(
                id=step.id,
                channel=CHANNEL_NAME.get(step.channel, ""),
                delay_amount=step.delay_amount,
                # Unspecified: business days (a delay of 0 is "at once" either way); an unknown unit is refused.
                delay_unit=DELAY_UNIT_NAME.get(step.delay_unit, "") if step.delay_unit else schedule.BUSINESS_DAYS,
                subject_template=step.subject_template,
                body_template=step.body_template,
                variants=[
                    definitions.VariantSpec(
                        id=v.id,
                        name=v.name,
                        weight=v.weight,
                        subject_template=v.subject_template,
                        body_template=v.body_template,
                    )
                    for v in step.variants
                ],
            )
            for step in message.steps
        ],
    )


def step_to_proto(step: Step, ordinal: int) -> pb.Step:
    return pb.Step(
        id=str(step.id),
        ordinal=ordinal,
        channel=CHANNEL[step.channel],
        delay_amount=step.delay_amount,
        delay_unit=DELAY_UNIT[step.delay_unit],
        subject_template=step.subject_template,
        body_template=step.body_template,
        variants=[
            pb.StepVariant(
                id=str(v["id"]),
                name=str(v["name"]),
                weight=int(v["weight"]),  # type: ignore[call-overload]
                subject_template=str(v["subject_template"]),
                body_template=str(v["body_template"]),
            )
            for v in step.variants
        ],
    )


def sequence_to_proto(sequence: Sequence) -> pb.Sequence:
    return pb.Sequence(
        id=str(sequence.id),
        name=sequence.name,
        state=SEQUENCE_STATE[sequence.state],
        window=pb.SendingWindow(
            days=sequence.window_days,
            start_time=sequence.window_start.strftime("%H:%M"),
            end_time=sequence.window_end.strftime("%H:%M"),
            time_zone=sequence.time_zone,
        ),
        mailbox_id=sequence.mailbox_id,
        steps=[step_to_proto(step, number) for number, step in enumerate(sequence.live_steps, start=1)],
        created_at=timestamp(sequence.created_at),
        updated_at=timestamp(sequence.updated_at),
    )


def enrollment_to_proto(enrollment: Enrollment, ordinals: dict[uuid.UUID, int]) -> pb.Enrollment:
    """`ordinals`: the sequence's live steps' 1-based positions, by id."""
    step_id = enrollment.current_step_id
    # A paused enrollment keeps the reason it had (its due time still stands), but waits for its sequence.
    reason = "sequence_paused" if enrollment.state == PAUSED else enrollment.waiting_reason
    return pb.Enrollment(
        id=str(enrollment.id),
        sequence_id=str(enrollment.sequence_id),
        lead_id=str(enrollment.lead_id),
        state=ENROLLMENT_STATE[enrollment.state],
        current_step_id=str(step_id) if step_id else "",
        current_step_ordinal=ordinals.get(step_id, 0) if step_id else 0,
        next_due_at=timestamp(enrollment.next_due_at),
        waiting_reason=WAIT_REASON.get(reason or "", pb.WAIT_REASON_UNSPECIFIED),
        waiting_detail=enrollment.waiting_detail,
        stop_reason=enrollment.stop_reason,
        steps_done=enrollment.steps_done,
        last_sent_at=timestamp(enrollment.last_sent_at),
        created_at=timestamp(enrollment.created_at),
        finished_at=timestamp(enrollment.finished_at),
    )


def ordinals(sequence: Sequence) -> dict[uuid.UUID, int]:
    return {step.id: number for number, step in enumerate(sequence.live_steps, start=1)}


def task_to_proto(task: Task) -> pb.Task:
    def text(value: uuid.UUID | None) -> str:  # a lead run's task has no sequence, enrollment or step
        return str(value) if value else ""

    return pb.Task(
        id=str(task.id),
        sequence_id=text(task.sequence_id),
        enrollment_id=text(task.enrollment_id),
        step_id=text(task.step_id),
        run_id=text(task.run_id),
        lead_id=str(task.lead_id),
        title=task.title,
        notes=task.notes,
        state=TASK_STATE[task.state],
        created_at=timestamp(task.created_at),
        completed_at=timestamp(task.completed_at),
    )


def lead_fields_from_proto(message: pb.LeadFields) -> templates.LeadFields:
    given = message.DESCRIPTOR.fields_by_name  # a preview's fields: the template variables, no time zone
    return templates.LeadFields(
        **{name: getattr(message, name) for name in templates.LeadFields.__dataclass_fields__ if name in given}
    )


def _counts_to_proto(counts: stats.Counts) -> pb.StepCounts:
    return pb.StepCounts(**vars(counts))


def stats_to_proto(results: stats.SequenceStats) -> pb.SequenceStats:
    by_state = results.enrollments
    return pb.SequenceStats(
        sequence_id=str(results.sequence_id),
        enrollments=pb.EnrollmentCounts(total=sum(by_state.values()), **by_state),
        steps=[
            pb.StepStats(
                step_id=str(step.step.id),
                ordinal=step.ordinal,
                channel=CHANNEL[step.step.channel],
                removed=step.step.removed,
                counts=_counts_to_proto(step.counts),
                variants=[
                    pb.VariantStats(
                        variant_id=v.variant_id, name=v.name, weight=v.weight, counts=_counts_to_proto(v.counts)
                    )
                    for v in step.variants
                ],
            )
            for step in results.steps
        ],
        before_first_step=_counts_to_proto(results.before_first_step),
    )
