"""The sequences service's tables, in its own `sequences` schema."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    ARRAY,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    Text,
    Time,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column, relationship

from leadflood_platform.db import CreatedAt, UpdatedAt, declarative_base
from leadflood_platform.tables import PlatformTables

Base = declarative_base("sequences")
platform_tables = PlatformTables(Base.metadata, version=2)

DRAFT, ACTIVE, PAUSED, ARCHIVED = "draft", "active", "paused", "archived"
SEQUENCE_STATES = (DRAFT, ACTIVE, PAUSED, ARCHIVED)
EMAIL, SMS, CALL_TASK = "email", "sms", "call_task"
CHANNELS = (EMAIL, SMS, CALL_TASK)

# An enrollment is `paused` exactly while its sequence is a draft or paused (no per-lead pause yet):
# so only enrollments of active sequences are `active`, and the scheduler's index holds nothing else.
COMPLETED, REPLIED, BOUNCED, UNSUBSCRIBED, MEETING_BOOKED, FAILED, STOPPED = (
    "completed",
    "replied",
    "bounced",
    "unsubscribed",
    "meeting_booked",
    "failed",
    "stopped",
)
ENROLLMENT_STATES = (ACTIVE, COMPLETED, REPLIED, BOUNCED, UNSUBSCRIBED, MEETING_BOOKED, PAUSED, FAILED, STOPPED)
IN_PROGRESS = (ACTIVE, PAUSED)
WAIT_DELAY, WAIT_WINDOW, WAIT_MAILBOX, WAIT_SEQUENCE_PAUSED, WAIT_RETRY = (
    "delay",
    "window",
    "mailbox",
    "sequence_paused",
    "retry",
)

# What became of a step for an enrollment (a step_sends row).
QUEUED, SUPPRESSED, SIMULATED, TASK_CREATED, SKIPPED, WINDOW_CLOSED = (
    "queued",
    "suppressed",
    "simulated",
    "task_created",
    "skipped",
    "window_closed",
)
SEND_OUTCOMES = (QUEUED, SUPPRESSED, SIMULATED, TASK_CREATED, SKIPPED, WINDOW_CLOSED)
OPEN, DONE = "open", "done"


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Sequence(Base):
    __tablename__ = "sequences"
    __table_args__ = (
        CheckConstraint(_one_of("state", SEQUENCE_STATES), name="state"),
        Index(None, "org_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    org_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    name: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(Text, default=DRAFT)
    # The sending window, in the lead's local time: ISO weekdays (Monday is 1) and [start, end).
    window_days: Mapped[list[int]] = mapped_column(ARRAY(SmallInteger))
    window_start: Mapped[dt.time] = mapped_column(Time)
    window_end: Mapped[dt.time] = mapped_column(Time)
    # IANA zone: the org's default, every lead's zone until leads carry their own.
    time_zone: Mapped[str] = mapped_column(Text)
    # The inbox mailbox to send from; empty: the org's default.
    mailbox_id: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[UpdatedAt]

    steps: Mapped[list[Step]] = relationship(order_by="Step.ordinal", lazy="raise")

    @property
    def live_steps(self) -> list[Step]:
        """The steps as the user sees them, in order (a removed step with history stays in the table)."""
        return [step for step in self.steps if not step.removed]


class Step(Base):
    __tablename__ = "steps"
    __table_args__ = (
        CheckConstraint(_one_of("channel", CHANNELS), name="channel"),
        CheckConstraint(_one_of("delay_unit", ("business_days", "hours")), name="delay_unit"),
        Index(None, "sequence_id", "ordinal"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    org_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    sequence_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(Sequence.id, ondelete="CASCADE"))
    ordinal: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(Text)
    delay_amount: Mapped[int] = mapped_column(Integer)
    delay_unit: Mapped[str] = mapped_column(Text)
    subject_template: Mapped[str] = mapped_column(Text, default="")
    body_template: Mapped[str] = mapped_column(Text, default="")
    # [{id, name, weight, subject_template, body_template}]; empty: no A/B test.
    variants: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    # Taken out of the sequence after something was sent for it: kept for its sends' history.
    removed: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[UpdatedAt]


class Enrollment(Base):
    __tablename__ = "enrollments"
    __table_args__ = (
        CheckConstraint(_one_of("state", ENROLLMENT_STATES), name="state"),
        # The scheduler's claim reads only due, active enrollments: its cost grows with the due work,
        # never with the enrollments waiting, finished or paused.
        Index("ix_enrollments_due", "next_due_at", postgresql_where=text("state = 'active'")),
        # The same, per org: the fair claim takes each org's oldest due enrollments in turn.
        Index("ix_enrollments_org_due", "org_id", "next_due_at", postgresql_where=text("state = 'active'")),
        # A lead is enrolled in a sequence once (round 1), however often or concurrently it is asked; enrolled
        # again on purpose (`reenroll`), it is the next round.
        Index("uq_enrollments_sequence_lead_round", "sequence_id", "lead_id", "round", unique=True),
        # And in it at most once at a time, whatever its round.
        Index(
            "uq_enrollments_sequence_lead_in_progress",
            "sequence_id",
            "lead_id",
            unique=True,
            postgresql_where=text("state IN ('active', 'paused')"),
        ),
        # A reply or a bounce stops the lead's enrollments: found by lead.
        Index(
            "ix_enrollments_org_lead_in_progress",
            "org_id",
            "lead_id",
            postgresql_where=text("state IN ('active', 'paused')"),
        ),
        Index(None, "sequence_id", "created_at", "id"),
        # A reply or a bounce after the last step finds the completed enrollment by its thread.
        Index("ix_enrollments_org_thread", "org_id", "thread_id", postgresql_where=text("thread_id <> ''")),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    org_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    sequence_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(Sequence.id, ondelete="CASCADE"))
    lead_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    # 1 for the lead's first enrollment in the sequence, 2 when it was enrolled again, and so on.
    round: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    state: Mapped[str] = mapped_column(Text)
    # The lead's time zone when it was last looked up (enrolled, or at its last send); None: the sequence's.
    time_zone: Mapped[str | None] = mapped_column(Text)
    # The step it waits for; None once finished.
    current_step_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey(Step.id))
    next_due_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    waiting_reason: Mapped[str | None] = mapped_column(Text)
    waiting_detail: Mapped[str] = mapped_column(Text, default="")
    stop_reason: Mapped[str] = mapped_column(Text, default="")
    # The channel ("email", "sms") of the message whose answer stopped it (a reply, a bounce); empty otherwise.
    # The sequence's results count the stop at the last step of that channel that reached the lead.
    stop_channel: Mapped[str] = mapped_column(Text, server_default=text("''"))
    steps_done: Mapped[int] = mapped_column(Integer, default=0)
    # The inbox thread of its first message: follow-ups continue it.
    thread_id: Mapped[str] = mapped_column(Text, default="")
    last_sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[UpdatedAt]
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class StepSend(Base):
    """What became of one step for one enrollment: at most one row per (enrollment, step)."""

    __tablename__ = "step_sends"
    __table_args__ = (
        UniqueConstraint("enrollment_id", "step_id"),
        CheckConstraint(_one_of("outcome", SEND_OUTCOMES), name="outcome"),
        Index(None, "step_id", "variant_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    org_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    enrollment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(Enrollment.id, ondelete="CASCADE"))
    step_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(Step.id))
    variant_id: Mapped[str] = mapped_column(Text, default="")
    channel: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(Text)
    # The inbox's message and thread (empty for a skipped step or a call task).
    message_id: Mapped[str] = mapped_column(Text, default="")
    thread_id: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[UpdatedAt]


class Task(Base):
    """A call for the user to make: made by a sequence's call step (sequence, enrollment, step), or asked for by
    another service's work through CreateTask (a lead run's call-task action: `run_id`, under the caller's `key`).
    Both are one list, so a user finds every call to make in one place."""

    __tablename__ = "tasks"
    __table_args__ = (
        UniqueConstraint("enrollment_id", "step_id"),
        # CreateTask's idempotency: one task per key in the org, however often it is asked.
        UniqueConstraint("org_id", "key"),
        CheckConstraint(_one_of("state", (OPEN, DONE)), name="state"),
        CheckConstraint("enrollment_id IS NOT NULL OR key IS NOT NULL", name="made_by"),
        Index(None, "org_id", "state", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    org_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    sequence_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey(Sequence.id, ondelete="CASCADE"))
    enrollment_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey(Enrollment.id, ondelete="CASCADE"))
    step_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey(Step.id))
    run_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    key: Mapped[str | None] = mapped_column(Text)
    lead_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    title: Mapped[str] = mapped_column(Text)
    notes: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(Text, default=OPEN)
    created_at: Mapped[CreatedAt]
    completed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class OrgTurn(Base):
    """When the scheduler last served each org that has enrollments: the org served longest ago goes first,
    so one org's campaign of a hundred thousand never holds another org's sends back."""

    __tablename__ = "org_turns"

    org_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    served_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
