"""The documented shapes of the /v1/lead-runs and /v1/operations answers (runs.py builds the JSON)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from gateway.routes.schemas import CursorPage, Reply


class RunChannels(Reply):
    email: Literal["unspecified", "send", "draft", "off"]
    sms: bool
    call: bool
    avatar: bool


class RunCalendar(Reply):
    enabled: bool
    provider: str | None
    calendar_id: str | None
    duration_minutes: int | None
    window_days: int | None
    time_zone: str | None


class RunEmail(Reply):
    subject: str
    body: str


class RunProgress(Reply):
    sourced: int
    filtered_by_score: int
    with_email: int
    without_email: int
    total: int = Field(description="Leads the run works")
    done: int
    failed: int
    pending: int
    in_flight: int
    booked: int
    no_slot: int
    drafted: int
    sent: int
    simulated: int = Field(description="Actions a dry run did without side effects (not those refused or skipped)")
    calendar_retries: int
    stale_recoveries: int
    queue_lag_s: float
    skipped: int = Field(
        description="Leads left out: in a sequence now, or in a conversation within the run's recentContactDays"
    )
    failed_actions: int = Field(description="Actions that failed (an email the mail room refused, say)")


class Run(Reply):
    id: str
    icp_id: str
    limit: int
    dry_run: bool = Field(description="Every action simulated: nothing sent or booked")
    source: str
    state: Literal["unspecified", "created", "running", "completed", "failed", "cancelled"]
    error: str | None
    job_id: str | None
    channels: RunChannels
    calendar: RunCalendar
    email: RunEmail
    progress: RunProgress
    batch_size: int
    worker_concurrency: int
    recent_contact_days: int = Field(description="A lead with a message sent or received in this many days is skipped")
    created_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    sourced_at: datetime | None = Field(
        description="When sourcing ended: then progress.total under limit means fewer leads qualified"
    )


class StartedRun(Run):
    already_running: bool = Field(description="It was running: resumed, nothing started twice")


class RunPage(CursorPage):
    runs: list[Run] = Field(description="Newest first")


class Quota(Reply):
    runs_today: int
    max_runs_per_day: int
    leads_today: int
    max_leads_per_day: int
    active_runs: int
    active_run_ids: list[str]
    max_active_runs: int
    resets_at: datetime | None


class Alert(Reply):
    id: str
    kind: str = Field(description="`run_failures`, `queue_age` or `stale_runs`")
    state: str = Field(description="`open`, `acknowledged` or `resolved`")
    message: str
    run_ids: list[str]
    escalation_status: str | None
    escalation_route: str | None
    created_at: datetime | None
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    escalated_at: datetime | None


class AlertList(Reply):
    alerts: list[Alert]


class RunLead(Reply):
    lead_id: str
    email: str | None
    name: str | None
    company_name: str | None
    score: int
    status: str
    attempts: int
    error: str | None
    outcomes: list[str] = Field(description='Each receipt\'s outcome, e.g. "meeting:booked", "email:sent"')
    due_at: datetime | None


class RunLeadPage(Reply):
    leads: list[RunLead]
    next_cursor: str | None


class Receipt(Reply):
    id: str
    kind: str
    status: str
    target: str | None = Field(description="A link or an id: the booked event, the sent message, the call task")
    detail: str | None = Field(description="In words: what a call task asks, why an action was skipped")
    latency_ms: int
    error: str | None
    simulated: bool
    attempt: int
    created_at: datetime | None
    starts_at: datetime | None = Field(
        description="The meeting's start (booked, or chosen in a dry run); for no_slot, the start of the span searched"
    )
    ends_at: datetime | None = Field(description="The meeting's end; for no_slot, the end of the span searched")


class ReceiptList(Reply):
    receipts: list[Receipt]


class OrgQueue(Reply):
    org_id: str
    pending: int
    running: int
    oldest_pending_age_s: float


class WorkerBeat(Reply):
    worker: str
    running: int
    last_heartbeat_at: datetime | None


class QueueHealth(Reply):
    oldest_pending_age_s: float
    pending: int
    running: int
    retries: int
    failures: int
    stale_recoveries: int
    dead_letters: int = Field(description="The org's failed jobs in every service (the dead-letter list's total)")
    queue_age_threshold_s: float
    breached: bool
    orgs: list[OrgQueue]
    workers: list[WorkerBeat]
