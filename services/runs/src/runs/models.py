"""The runs service's tables, in its own `runs` schema.

`run_leads` is the queue the workers drain: one row per lead of a run, claimed with a lease (a token
and an expiry the claiming worker's heartbeat extends). Every write a worker makes for a lead checks
its token, so a worker that lost its lease (paused, partitioned) cannot commit what it did; the
rescuer's redo is harmless because every side effect is idempotent on a key (the mail room's key,
the calendar event's id). `receipts` are what each lead action did, append-only.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, DateTime, ForeignKey, Index, Integer, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from leadflood_platform.db import CreatedAt, UpdatedAt, declarative_base
from leadflood_platform.tables import PlatformTables

Base = declarative_base("runs")
platform_tables = PlatformTables(Base.metadata, version=2)

CREATED, RUNNING, COMPLETED, FAILED, CANCELLED = "created", "running", "completed", "failed", "cancelled"
RUN_STATES = (CREATED, RUNNING, COMPLETED, FAILED, CANCELLED)
FINISHED = (COMPLETED, FAILED, CANCELLED)

# A lead of a run: waiting in its run for its turn, pending in the queue (due at `due_at`), held by a worker's
# lease, or at its end. A run releases its leads into the queue a window at a time (its batch), so the queue
# holds what the workers can take soon, and its age says how long released work waits for a worker.
WAITING, PENDING, LEASED, DONE = "waiting", "pending", "running", "done"
# Left out: the org is already talking to the lead (runs.contacts); its receipt says why.
SKIPPED = "skipped"
LEAD_STATES = (WAITING, PENDING, LEASED, DONE, FAILED, CANCELLED, SKIPPED)

OPEN, ACKNOWLEDGED, RESOLVED = "open", "acknowledged", "resolved"
ALERT_STATES = (OPEN, ACKNOWLEDGED, RESOLVED)
RUN_FAILURES, QUEUE_AGE, STALE_RUNS = "run_failures", "queue_age", "stale_runs"
ALERT_KINDS = (RUN_FAILURES, QUEUE_AGE, STALE_RUNS)


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class LeadRun(Base):
    __tablename__ = "lead_runs"
    __table_args__ = (
        CheckConstraint(_one_of("state", RUN_STATES), name="state"),
        CheckConstraint("lead_limit > 0", name="lead_limit"),
        Index(None, "org_id", "created_at"),
        # The quota's counts: an org's runs by state, and those started since midnight.
        Index(None, "org_id", "state"),
        Index(None, "org_id", "started_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    org_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    icp_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    source: Mapped[str] = mapped_column(Text)
    lead_limit: Mapped[int] = mapped_column(Integer)
    dry_run: Mapped[bool] = mapped_column(Boolean)
    # {"email": "send|draft|off", "sms": bool, "call": bool}
    channels: Mapped[dict[str, Any]] = mapped_column(JSONB)
    # {"enabled", "provider", "calendarId", "durationMinutes", "windowDays", "timeZone"}
    calendar: Mapped[dict[str, Any]] = mapped_column(JSONB)
    email_subject: Mapped[str] = mapped_column(Text)
    email_body: Mapped[str] = mapped_column(Text)
    # A lead with a message sent or received in this many days is left out (runs.contacts).
    recent_contact_days: Mapped[int] = mapped_column(Integer, server_default=text("30"))
    state: Mapped[str] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    job_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    # The leads this run takes from the org's daily lead quota: its limit once started, then what
    # sourcing found (at most the limit).
    leads_charged: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    # What sourcing counted (RunProgress's first four).
    sourced: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    filtered_by_score: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    with_email: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    without_email: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    sourced_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # A failed run counted towards an alert already (so one failure is never counted twice).
    alerted: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[UpdatedAt]
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class RunLead(Base):
    __tablename__ = "run_leads"
    __table_args__ = (
        CheckConstraint(_one_of("status", LEAD_STATES), name="status"),
        UniqueConstraint("run_id", "lead_id"),
        # The drain's claim: an org's due leads, oldest first, among the pending ones only, so its
        # cost follows the due work, not the leads already done.
        Index("ix_run_leads_due", "org_id", "due_at", postgresql_where=text("status = 'pending'")),
        # The stale-lease sweep: only held leases.
        Index("ix_run_leads_leases", "lease_expires_at", postgresql_where=text("status = 'running'")),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    run_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("runs.lead_runs.id", ondelete="CASCADE"))
    org_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    lead_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    # The lead as sourcing found it (what the actions and the templates need).
    lead: Mapped[dict[str, Any]] = mapped_column(JSONB)
    score: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(Text)
    due_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    calendar_attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    lease_token: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    lease_expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    leased_by: Mapped[str | None] = mapped_column(Text)
    stale_recoveries: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    # Tries made before the latest "Try again": its receipts' attempts number on from them (service.retry_lead).
    earlier_tries: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    # The meeting booked for it (kept for the email that names it).
    meeting: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[UpdatedAt]


class Receipt(Base):
    __tablename__ = "receipts"
    __table_args__ = (
        # One receipt per action and attempt: a redo after a lost lease finds its receipt written.
        UniqueConstraint("run_lead_id", "kind", "attempt"),
        Index(None, "run_id", "lead_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    run_lead_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("runs.run_leads.id", ondelete="CASCADE")
    )
    run_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    org_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    lead_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    kind: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    target: Mapped[str] = mapped_column(Text, server_default=text("''"))
    detail: Mapped[str] = mapped_column(Text, server_default=text("''"))
    latency_ms: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    error: Mapped[str | None] = mapped_column(Text)
    simulated: Mapped[bool] = mapped_column(Boolean)
    attempt: Mapped[int] = mapped_column(Integer)
    # A meeting's times, or the span a slot search found nothing in (convert.receipt_to_proto).
    starts_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[CreatedAt]


class OrgTurn(Base):
    """When the drain last served each org: the org served longest ago goes first (fairness)."""

    __tablename__ = "org_turns"

    org_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    served_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class WorkerBeat(Base):
    """Each worker process's last heartbeat and the leads it held then (queue health per worker)."""

    __tablename__ = "worker_beats"

    worker: Mapped[str] = mapped_column(Text, primary_key=True)
    running: Mapped[int] = mapped_column(Integer)
    beat_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class Alert(Base):
    __tablename__ = "alerts"
    __table_args__ = (
        CheckConstraint(_one_of("state", ALERT_STATES), name="state"),
        CheckConstraint(_one_of("kind", ALERT_KINDS), name="kind"),
        # One unresolved alert per org and kind: a breach raises it once, not once per tick.
        Index(
            "ix_alerts_one_unresolved",
            "org_id",
            "kind",
            unique=True,
            postgresql_where=text("state <> 'resolved'"),
        ),
        Index(None, "org_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    org_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    kind: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(Text)
    message: Mapped[str] = mapped_column(Text)
    run_ids: Mapped[list[str]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[UpdatedAt]
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    escalated_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    escalation_status: Mapped[str] = mapped_column(Text, server_default=text("''"))
    escalation_route: Mapped[str] = mapped_column(Text, server_default=text("''"))
