"""Sequences and their steps, enrollments with their schedule, step sends, call tasks.

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

revision = "0002"
down_revision = "0001"
SCHEMA = "sequences"
IN_PROGRESS = sa.text("state IN ('active', 'paused')")


def _one_of(column: str, *values: str) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _timestamps() -> list[sa.Column]:
    now = sa.func.now()
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=now),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=now),
    ]


def _id(name: str = "id") -> sa.Column:
    return sa.Column(name, UUID(as_uuid=True), nullable=False)


def _fk(owner: str, name: str, table: str, *, cascade: bool, nullable: bool = False) -> sa.Column:
    """A reference named as the models' naming convention names it."""
    ondelete = "CASCADE" if cascade else None
    return sa.Column(
        name,
        UUID(as_uuid=True),
        sa.ForeignKey(f"{SCHEMA}.{table}.id", name=f"fk_{owner}_{name}_{table}", ondelete=ondelete),
        nullable=nullable,
    )


def upgrade() -> None:
    op.create_table(
        "sequences",
        _id(),
        _id("org_id"),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("window_days", ARRAY(sa.SmallInteger), nullable=False),
        sa.Column("window_start", sa.Time, nullable=False),
        sa.Column("window_end", sa.Time, nullable=False),
        sa.Column("time_zone", sa.Text, nullable=False),
        sa.Column("mailbox_id", sa.Text, nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name="pk_sequences"),
        sa.CheckConstraint(_one_of("state", "draft", "active", "paused", "archived"), name="ck_sequences_state"),
        schema=SCHEMA,
    )
    op.create_index("ix_sequences_org_id_created_at", "sequences", ["org_id", "created_at"], schema=SCHEMA)
    op.create_table(
        "steps",
        _id(),
        _id("org_id"),
        _fk("steps", "sequence_id", "sequences", cascade=True),
        sa.Column("ordinal", sa.Integer, nullable=False),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("delay_amount", sa.Integer, nullable=False),
        sa.Column("delay_unit", sa.Text, nullable=False),
        sa.Column("subject_template", sa.Text, nullable=False),
        sa.Column("body_template", sa.Text, nullable=False),
        sa.Column("variants", JSONB, nullable=False),
        sa.Column("removed", sa.Boolean, nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name="pk_steps"),
        sa.CheckConstraint(_one_of("channel", "email", "sms", "call_task"), name="ck_steps_channel"),
        sa.CheckConstraint(_one_of("delay_unit", "business_days", "hours"), name="ck_steps_delay_unit"),
        schema=SCHEMA,
    )
    op.create_index("ix_steps_sequence_id_ordinal", "steps", ["sequence_id", "ordinal"], schema=SCHEMA)
    op.create_table(
        "enrollments",
        _id(),
        _id("org_id"),
        _fk("enrollments", "sequence_id", "sequences", cascade=True),
        _id("lead_id"),
        sa.Column("state", sa.Text, nullable=False),
        _fk("enrollments", "current_step_id", "steps", cascade=False, nullable=True),
        sa.Column("next_due_at", sa.DateTime(timezone=True)),
        sa.Column("waiting_reason", sa.Text),
        sa.Column("waiting_detail", sa.Text, nullable=False),
        sa.Column("stop_reason", sa.Text, nullable=False),
        sa.Column("steps_done", sa.Integer, nullable=False),
        sa.Column("thread_id", sa.Text, nullable=False),
        sa.Column("last_sent_at", sa.DateTime(timezone=True)),
        *_timestamps(),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("id", name="pk_enrollments"),
        sa.CheckConstraint(
            _one_of(
                "state",
                *("active", "completed", "replied", "bounced", "unsubscribed", "meeting_booked"),
                *("paused", "failed", "stopped"),
            ),
            name="ck_enrollments_state",
        ),
        schema=SCHEMA,
    )
    # The scheduler's claim: due, active enrollments only (see models.Enrollment).
    op.create_index(
        "ix_enrollments_due",
        "enrollments",
        ["next_due_at"],
        schema=SCHEMA,
        postgresql_where=sa.text("state = 'active'"),
    )
    op.create_index(
        "uq_enrollments_sequence_lead_in_progress",
        "enrollments",
        ["sequence_id", "lead_id"],
        unique=True,
        schema=SCHEMA,
        postgresql_where=IN_PROGRESS,
    )
    op.create_index(
        "ix_enrollments_org_lead_in_progress",
        "enrollments",
        ["org_id", "lead_id"],
        schema=SCHEMA,
        postgresql_where=IN_PROGRESS,
    )
    op.create_index(
        "ix_enrollments_sequence_id_created_at_id", "enrollments", ["sequence_id", "created_at", "id"], schema=SCHEMA
    )
    op.create_table(
        "step_sends",
        _id(),
        _id("org_id"),
        _fk("step_sends", "enrollment_id", "enrollments", cascade=True),
        _fk("step_sends", "step_id", "steps", cascade=False),
        sa.Column("variant_id", sa.Text, nullable=False),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("outcome", sa.Text, nullable=False),
        sa.Column("message_id", sa.Text, nullable=False),
        sa.Column("thread_id", sa.Text, nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name="pk_step_sends"),
        sa.UniqueConstraint("enrollment_id", "step_id", name="uq_step_sends_enrollment_id_step_id"),
        sa.CheckConstraint(
            _one_of("outcome", "queued", "suppressed", "simulated", "task_created", "skipped", "window_closed"),
            name="ck_step_sends_outcome",
        ),
        schema=SCHEMA,
    )
    op.create_index("ix_step_sends_step_id_variant_id", "step_sends", ["step_id", "variant_id"], schema=SCHEMA)
    op.create_table(
        "tasks",
        _id(),
        _id("org_id"),
        _fk("tasks", "sequence_id", "sequences", cascade=True),
        _fk("tasks", "enrollment_id", "enrollments", cascade=True),
        _fk("tasks", "step_id", "steps", cascade=False),
        _id("lead_id"),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("notes", sa.Text, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("completed_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("id", name="pk_tasks"),
        sa.UniqueConstraint("enrollment_id", "step_id", name="uq_tasks_enrollment_id_step_id"),
        sa.CheckConstraint(_one_of("state", "open", "done"), name="ck_tasks_state"),
        schema=SCHEMA,
    )
    op.create_index("ix_tasks_org_id_state_created_at", "tasks", ["org_id", "state", "created_at"], schema=SCHEMA)


def downgrade() -> None:
    for table in ("tasks", "step_sends", "enrollments", "steps", "sequences"):
        op.drop_table(table, schema=SCHEMA)
