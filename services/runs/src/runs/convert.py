"""Between the runs service's rows and its messages."""

from __future__ import annotations

from leadflood.runs.v1 import runs_pb2 as pb
from leadflood_platform.convert import timestamp
from leadflood_platform.jobs import public_id
from runs import contacts, health, service
from runs.models import Alert, LeadRun, Receipt, RunLead

RUN_STATE = {
    "created": pb.RUN_STATE_CREATED,
    "running": pb.RUN_STATE_RUNNING,
    "completed": pb.RUN_STATE_COMPLETED,
    "failed": pb.RUN_STATE_FAILED,
    "cancelled": pb.RUN_STATE_CANCELLED,
}
EMAIL_MODE = {"send": pb.EMAIL_MODE_SEND, "draft": pb.EMAIL_MODE_DRAFT, "off": pb.EMAIL_MODE_OFF}
EMAIL_MODE_NAME = {value: name for name, value in EMAIL_MODE.items()} | {pb.EMAIL_MODE_UNSPECIFIED: "send"}


def spec_from_request(request: pb.CreateRunRequest, icp_id) -> service.RunSpec:  # type: ignore[no-untyped-def]
    calendar = request.calendar
    return service.RunSpec(
        icp_id=icp_id,
        limit=request.limit,
        dry_run=request.dry_run,
        email_mode=EMAIL_MODE_NAME.get(request.channels.email, "?"),
        sms=request.channels.sms,
        call=request.channels.call,
        avatar=request.channels.avatar,
        calendar={
            "enabled": calendar.enabled,
            "provider": calendar.provider or "sandbox",
            "calendarId": calendar.calendar_id,
            "durationMinutes": calendar.duration_minutes or 30,
            "windowDays": calendar.window_days or 5,
            "timeZone": calendar.time_zone,
        },
        subject=request.email.subject,
        body=request.email.body,
        source=request.source or "sandbox",
        recent_contact_days=request.recent_contact_days or contacts.DEFAULT_DAYS,
    )


def run_to_proto(run: LeadRun, progress: service.Progress, *, batch_size: int, worker_concurrency: int) -> pb.Run:
    calendar = run.calendar or {}
    message = pb.Run(
        id=str(run.id),
        icp_id=str(run.icp_id),
        limit=run.lead_limit,
        dry_run=run.dry_run,
        channels=pb.Channels(
            email=EMAIL_MODE[run.channels.get("email", "send")],
            sms=bool(run.channels.get("sms")),
            call=bool(run.channels.get("call")),
        ),
        calendar=pb.CalendarOptions(
            enabled=bool(calendar.get("enabled")),
            provider=calendar.get("provider", ""),
            calendar_id=calendar.get("calendarId", ""),
            duration_minutes=int(calendar.get("durationMinutes") or 0),
            window_days=int(calendar.get("windowDays") or 0),
            time_zone=calendar.get("timeZone", ""),
        ),
        email=pb.EmailTemplate(subject=run.email_subject, body=run.email_body),
        state=RUN_STATE[run.state],
        progress=pb.RunProgress(
            sourced=run.sourced,
            filtered_by_score=run.filtered_by_score,
            with_email=run.with_email,
            without_email=run.without_email,
            total=progress.total,
            done=progress.done,
            failed=progress.failed,
            pending=progress.pending,
            in_flight=progress.in_flight,
            booked=progress.booked,
            no_slot=progress.no_slot,
            drafted=progress.drafted,
            sent=progress.sent,
            simulated=progress.simulated,
            calendar_retries=progress.calendar_retries,
            stale_recoveries=progress.stale_recoveries,
            queue_lag_s=progress.queue_lag_s,
            skipped=progress.skipped,
            failed_actions=progress.failed_actions,
        ),  # fmt: skip
        error=run.error or "",
        job_id=public_id("runs", run.job_id),
        batch_size=batch_size,
        worker_concurrency=worker_concurrency,
        source=run.source,
        created_at=timestamp(run.created_at),
        started_at=timestamp(run.started_at),
        finished_at=timestamp(run.finished_at),
        recent_contact_days=run.recent_contact_days,
        sourced_at=timestamp(run.sourced_at),
    )
    return message


def run_lead_to_proto(lead: RunLead, outcomes: list[str]) -> pb.RunLead:
    fields = lead.lead or {}
    name = " ".join(p for p in (fields.get("firstName", ""), fields.get("lastName", "")) if p)
    return pb.RunLead(
        lead_id=str(lead.lead_id), email=fields.get("email", ""), name=name, company_name=fields.get("companyName", ""),
        score=lead.score, status=lead.status, attempts=lead.attempts + lead.stale_recoveries,
        due_at=timestamp(lead.due_at), error=lead.error or "", outcomes=outcomes,
    )  # fmt: skip


def receipt_to_proto(receipt: Receipt) -> pb.Receipt:
    return pb.Receipt(
        id=str(receipt.id), run_id=str(receipt.run_id), lead_id=str(receipt.lead_id), kind=receipt.kind,
        status=receipt.status, target=receipt.target, latency_ms=receipt.latency_ms, error=receipt.error or "",
        simulated=receipt.simulated, attempt=receipt.attempt, detail=receipt.detail,
        created_at=timestamp(receipt.created_at), starts_at=timestamp(receipt.starts_at),
        ends_at=timestamp(receipt.ends_at),
    )  # fmt: skip


def alert_to_proto(alert: Alert) -> pb.Alert:
    return pb.Alert(
        id=str(alert.id), kind=alert.kind, state=alert.state, message=alert.message,
        run_ids=list(alert.run_ids or []), created_at=timestamp(alert.created_at),
        acknowledged_at=timestamp(alert.acknowledged_at), resolved_at=timestamp(alert.resolved_at),
        escalated_at=timestamp(alert.escalated_at), escalation_status=alert.escalation_status,
        escalation_route=alert.escalation_route,
    )  # fmt: skip


def health_to_proto(found: health.Health, *, org_id: str, threshold_s: float) -> pb.QueueHealth:
    return pb.QueueHealth(
        oldest_pending_age_s=found.oldest_pending_age_s, pending=found.pending, running=found.running,
        retries=found.retries, failures=found.failures, stale_recoveries=found.stale_recoveries,
        dead_letters=found.dead_letters,
        orgs=[pb.OrgQueueHealth(org_id=org_id, pending=found.pending, running=found.running,
                                oldest_pending_age_s=found.oldest_pending_age_s)],
        workers=[pb.WorkerHealth(worker=w, running=n, last_heartbeat_at=timestamp(at)) for w, n, at in found.workers],
        queue_age_threshold_s=threshold_s, breached=found.oldest_pending_age_s > threshold_s,
    )  # fmt: skip
