"""Lead runs over HTTP: create, start or resume, cancel, read; their leads and receipts; the org's quota;
alerts; the queue's health."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import Field

from gateway.auth import Principal
from gateway.deps import principal
from gateway.routes import run_shapes as shapes
from gateway.routes.jobs import dead_letters
from gateway.routes.schemas import Body, Int32, Timestamps, documents, enum_word, total_json
from leadflood.runs.v1 import runs_pb2 as pb

router = APIRouter()
Who = Annotated[Principal, Depends(principal)]
Template = Annotated[str, Field(max_length=20_000)]
# The mail room's longest subject line (RFC 5322's 998 characters a line; services/inbox delivery.validate): a longer
# one is refused here, at its field, rather than by the mail room for every lead of the run.
MAX_SUBJECT = 998
EMAIL_MODES = {"send": pb.EMAIL_MODE_SEND, "draft": pb.EMAIL_MODE_DRAFT, "off": pb.EMAIL_MODE_OFF}


class ChannelsBody(Body):
    email: Literal["send", "draft", "off"] = "send"
    sms: bool = False
    call: bool = False
    avatar: bool = False


class CalendarBody(Body):
    enabled: bool = False
    provider: Literal["sandbox", "google"] = "sandbox"
    calendar_id: str = Field(default="", max_length=1024)
    duration_minutes: Int32 = 30
    window_days: Int32 = 5
    time_zone: str = Field(default="", max_length=64)


class EmailBody(Body):
    subject: Annotated[str, Field(max_length=MAX_SUBJECT)] = ""
    # The mail room takes bodies up to 1,000,000 characters: the template's own cap is well under it.
    body: Template = ""


class RunBody(Body):
    icp_id: str = Field(max_length=100)
    limit: Int32 = 20
    dry_run: bool = False
    channels: ChannelsBody = Field(default_factory=ChannelsBody)
    calendar: CalendarBody = Field(default_factory=CalendarBody)
    email: EmailBody = Field(default_factory=EmailBody)
    source: Literal["sandbox", "apollo"] = "sandbox"
    # A lead with a message sent to or received from it in this many days is skipped (as one in a sequence is).
    recent_contact_days: Annotated[int, Field(ge=1, le=90)] = 30

    def request(self) -> pb.CreateRunRequest:
        channels, calendar = self.channels, self.calendar
        return pb.CreateRunRequest(
            icp_id=self.icp_id, limit=self.limit, dry_run=self.dry_run,
            channels=pb.Channels(
                email=EMAIL_MODES[channels.email], sms=channels.sms, call=channels.call, avatar=channels.avatar
            ),
            calendar=pb.CalendarOptions(
                enabled=calendar.enabled, provider=calendar.provider, calendar_id=calendar.calendar_id,
                duration_minutes=calendar.duration_minutes, window_days=calendar.window_days,
                time_zone=calendar.time_zone,
            ),
            email=pb.EmailTemplate(subject=self.email.subject, body=self.email.body), source=self.source,
            recent_contact_days=self.recent_contact_days,
        )  # fmt: skip


def run_json(run: pb.Run) -> dict[str, Any]:
    p, calendar = run.progress, run.calendar
    return {
        "id": run.id,
        "icpId": run.icp_id,
        "limit": run.limit,
        "dryRun": run.dry_run,
        "source": run.source,
        "state": enum_word(run.state, pb.RunState, "RUN_STATE_"),
        "error": run.error or None,
        "jobId": run.job_id or None,
        "channels": {
            "email": enum_word(run.channels.email, pb.EmailMode, "EMAIL_MODE_"),
            "sms": run.channels.sms,
            "call": run.channels.call,
            "avatar": False,
        },
        "calendar": {
            "enabled": calendar.enabled,
            "provider": calendar.provider or None,
            "calendarId": calendar.calendar_id or None,
            "durationMinutes": calendar.duration_minutes or None,
            "windowDays": calendar.window_days or None,
            "timeZone": calendar.time_zone or None,
        },
        "email": {"subject": run.email.subject, "body": run.email.body},
        "progress": {
            "sourced": p.sourced,
            "filteredByScore": p.filtered_by_score,
            "withEmail": p.with_email,
            "withoutEmail": p.without_email,
            "total": p.total,
            "done": p.done,
            "failed": p.failed,
            "pending": p.pending,
            "inFlight": p.in_flight,
            "booked": p.booked,
            "noSlot": p.no_slot,
            "drafted": p.drafted,
            "sent": p.sent,
            "simulated": p.simulated,
            "calendarRetries": p.calendar_retries,
            "staleRecoveries": p.stale_recoveries,
            "queueLagS": round(p.queue_lag_s, 3),
            "skipped": p.skipped,
            "failedActions": p.failed_actions,
        },  # fmt: skip
        "batchSize": run.batch_size,
        "workerConcurrency": run.worker_concurrency,
        "recentContactDays": run.recent_contact_days,
        **Timestamps.of(run, "created_at", "started_at", "finished_at", "sourced_at"),
    }


def alert_json(alert: pb.Alert) -> dict[str, Any]:
    return {
        "id": alert.id,
        "kind": alert.kind,
        "state": alert.state,
        "message": alert.message,
        "runIds": list(alert.run_ids),
        "escalationStatus": alert.escalation_status or None,
        "escalationRoute": alert.escalation_route or None,
        **Timestamps.of(alert, "created_at", "acknowledged_at", "resolved_at", "escalated_at"),
    }


def _runs(request: Request) -> Any:
    return request.app.state.services.runs


@router.post("/v1/lead-runs", status_code=201, **documents(shapes.Run, 201))
async def create_run(body: RunBody, request: Request, who: Who) -> dict[str, Any]:
    """A run, created; it uses no quota until it is started (POST /v1/lead-runs/{runId}/jobs)."""
    reply = await _runs(request).CreateRun(body.request())
    return run_json(reply.run)


@router.get("/v1/lead-runs", **documents(shapes.RunPage))
async def list_runs(
    request: Request, who: Who, limit: Annotated[int, Query(ge=1, le=200)] = 50, cursor: str = ""
) -> dict[str, Any]:
    """The org's runs, newest first, each with its progress; the first page counts them (`total`)."""
    reply = await _runs(request).ListRuns(pb.ListRunsRequest(page_size=limit, cursor=cursor, with_total=not cursor))
    return {"runs": [run_json(run) for run in reply.runs], "nextCursor": reply.next_cursor or None, **total_json(reply)}


@router.get("/v1/lead-runs/quota", **documents(shapes.Quota))
async def quota(request: Request, who: Who) -> dict[str, Any]:
    q = (await _runs(request).GetQuota(pb.GetQuotaRequest())).quota
    return {
        "runsToday": q.runs_today,
        "maxRunsPerDay": q.max_runs_per_day,
        "leadsToday": q.leads_today,
        "maxLeadsPerDay": q.max_leads_per_day,
        "activeRuns": q.active_runs,
        "activeRunIds": list(q.active_run_ids),
        "maxActiveRuns": q.max_active_runs,
        **Timestamps.of(q, "resets_at"),
    }


@router.get("/v1/lead-runs/alerts", **documents(shapes.AlertList))
async def list_alerts(
    request: Request, who: Who, state: Literal["", "open", "acknowledged", "resolved"] = ""
) -> dict[str, Any]:
    """Open and acknowledged alerts (or those in `state`), newest first."""
    reply = await _runs(request).ListAlerts(pb.ListAlertsRequest(state=state))
    return {"alerts": [alert_json(alert) for alert in reply.alerts]}


@router.post("/v1/lead-runs/alerts/{alert_id}/acknowledge", **documents(shapes.Alert))
async def acknowledge_alert(alert_id: str, request: Request, who: Who) -> dict[str, Any]:
    """Someone is on it: the alert is no longer escalated."""
    reply = await _runs(request).AcknowledgeAlert(pb.AcknowledgeAlertRequest(alert_id=alert_id))
    return alert_json(reply.alert)


@router.post("/v1/lead-runs/alerts/{alert_id}/resolve", **documents(shapes.Alert))
async def resolve_alert(alert_id: str, request: Request, who: Who) -> dict[str, Any]:
    reply = await _runs(request).ResolveAlert(pb.ResolveAlertRequest(alert_id=alert_id))
    return alert_json(reply.alert)


@router.get("/v1/lead-runs/{run_id}", **documents(shapes.Run))
async def get_run(run_id: str, request: Request, who: Who) -> dict[str, Any]:
    return run_json((await _runs(request).GetRun(pb.GetRunRequest(run_id=run_id))).run)


@router.post(
    "/v1/lead-runs/{run_id}/jobs",
    status_code=202,
    response_model=None,
    responses={
        202: {"model": shapes.StartedRun},
        429: {
            "description": "A daily quota or the cap on active runs is full: the problem names which and when it frees"
        },
    },
)
async def start_run(run_id: str, request: Request, who: Who) -> dict[str, Any]:
    """Starts a created run, or resumes a running one. 429 (problem+json naming the limit, its use and when
    it frees) when the org's daily quotas or its cap on active runs are full."""
    reply = await _runs(request).StartRun(pb.StartRunRequest(run_id=run_id))
    return {**run_json(reply.run), "alreadyRunning": reply.already_running}


@router.post("/v1/lead-runs/{run_id}/cancel", **documents(shapes.Run))
async def cancel_run(run_id: str, request: Request, who: Who) -> dict[str, Any]:
    return run_json((await _runs(request).CancelRun(pb.CancelRunRequest(run_id=run_id))).run)


@router.get("/v1/lead-runs/{run_id}/leads", **documents(shapes.RunLeadPage))
async def run_leads(
    run_id: str,
    request: Request,
    who: Who,
    status: Literal["", "waiting", "pending", "running", "done", "failed", "cancelled", "skipped"] = "",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str = "",
) -> dict[str, Any]:
    """The run's leads, best score first, each with its receipts' outcomes ("meeting:booked", "email:sent")."""
    reply = await _runs(request).ListRunLeads(
        pb.ListRunLeadsRequest(run_id=run_id, status=status, page_size=limit, cursor=cursor)
    )
    return {
        "leads": [
            {
                "leadId": lead.lead_id,
                "email": lead.email or None,
                "name": lead.name or None,
                "companyName": lead.company_name or None,
                "score": lead.score,
                "status": lead.status,
                "attempts": lead.attempts,
                "error": lead.error or None,
                "outcomes": list(lead.outcomes),
                **Timestamps.of(lead, "due_at"),
            }
            for lead in reply.leads
        ],
        "nextCursor": reply.next_cursor or None,
    }


@router.post("/v1/lead-runs/{run_id}/leads/{lead_id}/retry", status_code=202, **documents(shapes.Run, 202))
async def retry_lead(run_id: str, lead_id: str, request: Request, who: Who) -> dict[str, Any]:
    """A failed lead tried again (its run running again if it had finished: 429 when the active-run cap is
    full); what it did before is not done again. A lead that is not failed is a 409."""
    reply = await _runs(request).RetryLead(pb.RetryLeadRequest(run_id=run_id, lead_id=lead_id))
    return run_json(reply.run)


@router.get("/v1/lead-runs/{run_id}/leads/{lead_id}/receipts", **documents(shapes.ReceiptList))
async def receipts(run_id: str, lead_id: str, request: Request, who: Who) -> dict[str, Any]:
    """What each of the lead's actions in the run did: kind, status, link or id, latency, error, simulated."""
    reply = await _runs(request).ListReceipts(pb.ListReceiptsRequest(run_id=run_id, lead_id=lead_id))
    return {
        "receipts": [
            {
                "id": r.id,
                "kind": r.kind,
                "status": r.status,
                "target": r.target or None,
                "detail": r.detail or None,
                "latencyMs": r.latency_ms,
                "error": r.error or None,
                "simulated": r.simulated,
                "attempt": r.attempt,
                **Timestamps.of(r, "created_at", "starts_at", "ends_at"),
            }
            for r in reply.receipts
        ]
    }


@router.get("/v1/operations/queue-health", **documents(shapes.QueueHealth))
async def queue_health(request: Request, who: Who) -> dict[str, Any]:
    """The lead-run queue: the oldest due lead's wait, what is pending, held, retried, failed, recovered."""
    reply, dead = await asyncio.gather(_runs(request).GetQueueHealth(pb.GetQueueHealthRequest()), dead_letters(request))
    h = reply.health
    return {
        "oldestPendingAgeS": round(h.oldest_pending_age_s, 3),
        "pending": h.pending,
        "running": h.running,
        "retries": h.retries,
        "failures": h.failures,
        "staleRecoveries": h.stale_recoveries,
        "deadLetters": dead,
        "queueAgeThresholdS": h.queue_age_threshold_s,
        "breached": h.breached,
        "orgs": [
            {"orgId": o.org_id, "pending": o.pending, "running": o.running, "oldestPendingAgeS": o.oldest_pending_age_s}
            for o in h.orgs
        ],
        "workers": [
            {"worker": w.worker, "running": w.running, **Timestamps.of(w, "last_heartbeat_at")} for w in h.workers
        ],
    }
