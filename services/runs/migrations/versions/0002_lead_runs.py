"""Lead runs, their leads (the drain's queue, with leases), receipts, org turns, worker beats, alerts.

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0002"
down_revision = "0001"
SCHEMA = "runs"
TABLES = ("alerts", "worker_beats", "org_turns", "receipts", "run_leads", "lead_runs")


def _uuid(name: str, **options) -> sa.Column:  # type: ignore[no-untyped-def]
    return sa.Column(name, UUID(as_uuid=True), nullable=options.pop("nullable", False), **options)


def _text(name: str, *, nullable: bool = False, default: str | None = None) -> sa.Column:
    server_default = sa.text(default) if default is not None else None
    return sa.Column(name, sa.Text(), nullable=nullable, server_default=server_default)


def _int(name: str, *, default: bool = True) -> sa.Column:
    return sa.Column(name, sa.Integer(), nullable=False, server_default=sa.text("0") if default else None)


def _at(name: str, *, nullable: bool = True, default: bool = False) -> sa.Column:
    return sa.Column(
        name, sa.DateTime(timezone=True), nullable=nullable, server_default=sa.func.now() if default else None
    )


def upgrade() -> None:
    op.create_table(
        "lead_runs",
        _uuid("id"),
        _uuid("org_id"),
        _uuid("icp_id"),
        _text("source"),
        _int("lead_limit", default=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("channels", JSONB(), nullable=False),
        sa.Column("calendar", JSONB(), nullable=False),
        _text("email_subject"),
        _text("email_body"),
        _text("state"),
        _text("error", nullable=True),
        _uuid("job_id", nullable=True),
        _int("leads_charged"),
        _int("sourced"),
        _int("filtered_by_score"),
        _int("with_email"),
        _int("without_email"),
        _at("sourced_at"),
        sa.Column("alerted", sa.Boolean(), nullable=False, server_default=sa.text("false")),
        _at("created_at", nullable=False, default=True),
        _at("updated_at", nullable=False, default=True),
        _at("started_at"),
        _at("finished_at"),
        sa.PrimaryKeyConstraint("id", name="pk_lead_runs"),
        sa.CheckConstraint(
            "state IN ('created', 'running', 'completed', 'failed', 'cancelled')", name="ck_lead_runs_state"
        ),
        sa.CheckConstraint("lead_limit > 0", name="ck_lead_runs_lead_limit"),
        schema=SCHEMA,
    )
    op.create_index("ix_lead_runs_org_id_created_at", "lead_runs", ["org_id", "created_at"], schema=SCHEMA)
    op.create_index("ix_lead_runs_org_id_state", "lead_runs", ["org_id", "state"], schema=SCHEMA)
    op.create_index("ix_lead_runs_org_id_started_at", "lead_runs", ["org_id", "started_at"], schema=SCHEMA)

    op.create_table(
        "run_leads",
        _uuid("id"),
        _uuid("run_id"),
        _uuid("org_id"),
        _uuid("lead_id"),
        sa.Column("lead", JSONB(), nullable=False),
        _int("score", default=False),
        _text("status"),
        _at("due_at", nullable=False),
        _int("attempts"),
        _int("calendar_attempts"),
        _uuid("lease_token", nullable=True),
        _at("lease_expires_at"),
        _text("leased_by", nullable=True),
        _int("stale_recoveries"),
        sa.Column("meeting", JSONB(), nullable=True),
        _text("error", nullable=True),
        _at("created_at", nullable=False, default=True),
        _at("updated_at", nullable=False, default=True),
        sa.PrimaryKeyConstraint("id", name="pk_run_leads"),
        sa.ForeignKeyConstraint(
            ["run_id"], [f"{SCHEMA}.lead_runs.id"], name="fk_run_leads_run_id_lead_runs", ondelete="CASCADE"
        ),
        sa.UniqueConstraint("run_id", "lead_id", name="uq_run_leads_run_id_lead_id"),
        sa.CheckConstraint(
            "status IN ('pending', 'running', 'done', 'failed', 'cancelled')", name="ck_run_leads_status"
        ),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_run_leads_due", "run_leads", ["org_id", "due_at"], schema=SCHEMA,
        postgresql_where=sa.text("status = 'pending'"),
    )  # fmt: skip
    op.create_index(
        "ix_run_leads_leases", "run_leads", ["lease_expires_at"], schema=SCHEMA,
        postgresql_where=sa.text("status = 'running'"),
    )  # fmt: skip

    op.create_table(
        "receipts",
        _uuid("id"),
        _uuid("run_lead_id"),
        _uuid("run_id"),
        _uuid("org_id"),
        _uuid("lead_id"),
        _text("kind"),
        _text("status"),
        _text("target", default="''"),
        _text("detail", default="''"),
        _int("latency_ms"),
        _text("error", nullable=True),
        sa.Column("simulated", sa.Boolean(), nullable=False),
        _int("attempt", default=False),
        _at("created_at", nullable=False, default=True),
        sa.PrimaryKeyConstraint("id", name="pk_receipts"),
        sa.ForeignKeyConstraint(
            ["run_lead_id"], [f"{SCHEMA}.run_leads.id"], name="fk_receipts_run_lead_id_run_leads", ondelete="CASCADE"
        ),
        sa.UniqueConstraint("run_lead_id", "kind", "attempt", name="uq_receipts_run_lead_id_kind_attempt"),
        schema=SCHEMA,
    )
    op.create_index("ix_receipts_run_id_lead_id", "receipts", ["run_id", "lead_id"], schema=SCHEMA)

    op.create_table(
        "org_turns",
        _uuid("org_id"),
        _at("served_at", nullable=False),
        sa.PrimaryKeyConstraint("org_id", name="pk_org_turns"),
        schema=SCHEMA,
    )
    op.create_table(
        "worker_beats",
        _text("worker"),
        _int("running", default=False),
        _at("beat_at", nullable=False),
        sa.PrimaryKeyConstraint("worker", name="pk_worker_beats"),
        schema=SCHEMA,
    )
    op.create_table(
        "alerts",
        _uuid("id"),
        _uuid("org_id"),
        _text("kind"),
        _text("state"),
        _text("message"),
        sa.Column("run_ids", JSONB(), nullable=False, server_default=sa.text("'[]'::jsonb")),
        _at("created_at", nullable=False, default=True),
        _at("updated_at", nullable=False, default=True),
        _at("acknowledged_at"),
        _at("resolved_at"),
        _at("escalated_at"),
        _text("escalation_status", default="''"),
        _text("escalation_route", default="''"),
        sa.PrimaryKeyConstraint("id", name="pk_alerts"),
        sa.CheckConstraint("state IN ('open', 'acknowledged', 'resolved')", name="ck_alerts_state"),
        sa.CheckConstraint("kind IN ('run_failures', 'queue_age', 'stale_runs')", name="ck_alerts_kind"),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_alerts_one_unresolved", "alerts", ["org_id", "kind"], unique=True, schema=SCHEMA,
        postgresql_where=sa.text("state <> 'resolved'"),
    )  # fmt: skip
    op.create_index("ix_alerts_org_id_created_at", "alerts", ["org_id", "created_at"], schema=SCHEMA)


def downgrade() -> None:
    for table in TABLES:
        op.drop_table(table, schema=SCHEMA)
