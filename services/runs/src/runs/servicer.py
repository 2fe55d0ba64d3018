"""leadflood.runs.v1.RunsService: proto in, domain call, proto out."""

from __future__ import annotations

import datetime as dt
from typing import Any

import grpc

from leadflood.icp.v1 import icp_pb2, icp_pb2_grpc
from leadflood.leads.v1 import leads_pb2, leads_pb2_grpc
from leadflood.runs.v1 import runs_pb2 as pb
from leadflood.runs.v1 import runs_pb2_grpc
from leadflood_platform import context, provider_choice
from leadflood_platform.convert import parse_id
from leadflood_platform.db import Database
from leadflood_platform.errors import InvalidArgument, NotFound
from runs import alerts, calendar, convert, health, quotas, service, sourcing
from runs.config import RunsSettings
from runs.models import ACKNOWLEDGED, LEAD_STATES, RESOLVED

MAX_PAGE = 200


def _page_size(value: int, default: int = 50) -> int:
    if value < 0:
        raise InvalidArgument.on("page_size", "must not be negative")
    return min(value or default, MAX_PAGE)


class RunsServicer(runs_pb2_grpc.RunsServiceServicer):
    def __init__(
        self,
        db: Database,
        settings: RunsSettings,
        icp: icp_pb2_grpc.IcpServiceStub,
        leads: leads_pb2_grpc.LeadsServiceStub,
    ) -> None:
        self.db, self.settings, self.icp, self.leads = db, settings, icp, leads
        self.limits = quotas.Limits(
            max_runs_per_day=settings.lead_runs_max_runs_per_day,
            max_leads_per_day=settings.lead_runs_max_leads_per_day,
            max_active_runs=settings.lead_runs_max_active_runs,
        )

    def _run(self, run, progress) -> pb.Run:  # type: ignore[no-untyped-def]
        return convert.run_to_proto(
            run, progress, batch_size=self.settings.lead_runs_batch_size,
            worker_concurrency=self.settings.lead_runs_worker_concurrency,
        )  # fmt: skip

    async def _with_progress(self, session, run) -> pb.Run:  # type: ignore[no-untyped-def]
        return self._run(run, (await service.progress(session, [run.id]))[run.id])

    async def CreateRun(self, request, ctx):  # type: ignore[no-untyped-def]
        org_id = context.require_org()
        icp_id = parse_id(request.icp_id, "icp")
        spec = convert.spec_from_request(request, icp_id)
        service.check(spec, max_leads_per_day=self.settings.lead_runs_max_leads_per_day)
        if spec.calendar.get("enabled"):  # a provider without its key is a 503 naming the setting, now
            provider_choice.require_provider(
                field="calendar.provider", choice=spec.calendar["provider"], known=calendar.PROVIDERS,
                settings=self.settings, keys={"google": "google_calendar_access_token"}, kind="calendar",
            )  # fmt: skip
        try:  # the ICP must exist now, not fail the run later
            await self.icp.GetIcp(icp_pb2.GetIcpRequest(icp_id=str(icp_id)), timeout=self.settings.icp_call_timeout_s)
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:
                raise NotFound(f"ICP {icp_id} not found") from None
            raise
        async with self.db.transaction() as session:
            run = await service.create(session, org_id=org_id, spec=spec)
            return pb.CreateRunResponse(run=await self._with_progress(session, run))

    async def StartRun(self, request, ctx):  # type: ignore[no-untyped-def]
        async with self.db.transaction() as session:
            run, already = await service.start(
                session, org_id=context.require_org(), run_id=parse_id(request.run_id, "run"), limits=self.limits,
                max_attempts=self.settings.job_max_attempts,
            )  # fmt: skip
            return pb.StartRunResponse(run=await self._with_progress(session, run), already_running=already)

    async def GetRun(self, request, ctx):  # type: ignore[no-untyped-def]
        async with self.db.transaction() as session:
            run = await service.get(session, org_id=context.require_org(), run_id=parse_id(request.run_id, "run"))
            return pb.GetRunResponse(run=await self._with_progress(session, run))

    async def ListRuns(self, request, ctx):  # type: ignore[no-untyped-def]
        size = _page_size(request.page_size)
        before = None
        if request.cursor:
            try:
                before = dt.datetime.fromisoformat(request.cursor)
            except ValueError:
                raise InvalidArgument.on("cursor", "is not a cursor this list gave") from None
        org_id = context.require_org()
        async with self.db.snapshot() as session:
            runs = await service.page(session, org_id=org_id, size=size, before=before)
            progress = await service.progress(session, [run.id for run in runs])
            # Counted on the first page only: "Load more" keeps the total it was shown.
            counted = await service.total(session, org_id=org_id) if request.with_total and not before else None
        cursor = runs[-1].created_at.isoformat() if len(runs) == size else ""
        reply = pb.ListRunsResponse(runs=[self._run(run, progress[run.id]) for run in runs], next_cursor=cursor)
        if counted is not None:
            reply.total, reply.total_capped = counted
        return reply

    async def CancelRun(self, request, ctx):  # type: ignore[no-untyped-def]
        async with self.db.transaction() as session:
            run = await service.cancel(session, org_id=context.require_org(), run_id=parse_id(request.run_id, "run"))
            return pb.CancelRunResponse(run=await self._with_progress(session, run))

    async def ListRunLeads(self, request, ctx):  # type: ignore[no-untyped-def]
        size = _page_size(request.page_size)
        try:
            after = int(request.cursor or 0)
        except ValueError:
            raise InvalidArgument.on("cursor", "is not a cursor this list gave") from None
        if request.status and request.status not in LEAD_STATES:
            raise InvalidArgument.on("status", f"use {', '.join(LEAD_STATES)}")
        async with self.db.transaction() as session:
            leads, outcomes = await service.run_leads(
                session, org_id=context.require_org(), run_id=parse_id(request.run_id, "run"), status=request.status,
                size=size, after=after,
            )  # fmt: skip
        cursor = str(after + size) if len(leads) == size else ""
        return pb.ListRunLeadsResponse(
            leads=[convert.run_lead_to_proto(lead, outcomes[lead.id]) for lead in leads], next_cursor=cursor
        )

    async def RetryLead(self, request, ctx):  # type: ignore[no-untyped-def]
        lead_id = parse_id(request.lead_id, "lead")
        # The lead as it is now: tried again after the user put it right (its address, say), it goes as it is.
        now_as: dict[str, Any] | None = None
        try:
            found = await self.leads.GetLead(
                leads_pb2.GetLeadRequest(lead_id=str(lead_id)), timeout=self.settings.leads_call_timeout_s
            )
            now_as = sourcing.snapshot(found.lead)
        except grpc.aio.AioRpcError as error:
            if error.code() != grpc.StatusCode.NOT_FOUND:
                raise
        async with self.db.transaction() as session:
            run, lead = await service.retry_lead(
                session, org_id=context.require_org(), run_id=parse_id(request.run_id, "run"),
                lead_id=lead_id, limits=self.limits, now_as=now_as, deleted=now_as is None,
            )  # fmt: skip
            return pb.RetryLeadResponse(
                run=await self._with_progress(session, run), lead=convert.run_lead_to_proto(lead, [])
            )

    async def ListReceipts(self, request, ctx):  # type: ignore[no-untyped-def]
        async with self.db.transaction() as session:
            found = await service.receipts(
                session, org_id=context.require_org(), run_id=parse_id(request.run_id, "run"),
                lead_id=parse_id(request.lead_id, "lead"),
            )  # fmt: skip
        return pb.ListReceiptsResponse(receipts=[convert.receipt_to_proto(r) for r in found])

    async def GetQuota(self, request, ctx):  # type: ignore[no-untyped-def]
        async with self.db.transaction() as session:
            use = await quotas.usage(session, context.require_org(), service.finishing.utcnow())
        return pb.GetQuotaResponse(
            quota=pb.Quota(
                runs_today=use.runs_today, max_runs_per_day=self.limits.max_runs_per_day,
                leads_today=use.leads_today, max_leads_per_day=self.limits.max_leads_per_day,
                active_runs=len(use.active_run_ids), active_run_ids=[str(r) for r in use.active_run_ids],
                max_active_runs=self.limits.max_active_runs, resets_at=convert.timestamp(use.resets_at),
            )
        )  # fmt: skip

    async def ListAlerts(self, request, ctx):  # type: ignore[no-untyped-def]
        if request.state and request.state not in ("open", "acknowledged", "resolved"):
            raise InvalidArgument.on("state", "use open, acknowledged or resolved")
        async with self.db.transaction() as session:
            found = await alerts.page(session, org_id=context.require_org(), state=request.state)
        return pb.ListAlertsResponse(alerts=[convert.alert_to_proto(a) for a in found])

    async def _act(self, request, to: str) -> pb.Alert:  # type: ignore[no-untyped-def]
        async with self.db.transaction() as session:
            alert = await alerts.act(
                session, org_id=context.require_org(), alert_id=parse_id(request.alert_id, "alert"), to=to
            )
            return convert.alert_to_proto(alert)

    async def AcknowledgeAlert(self, request, ctx):  # type: ignore[no-untyped-def]
        return pb.AcknowledgeAlertResponse(alert=await self._act(request, ACKNOWLEDGED))

    async def ResolveAlert(self, request, ctx):  # type: ignore[no-untyped-def]
        return pb.ResolveAlertResponse(alert=await self._act(request, RESOLVED))

    async def GetQueueHealth(self, request, ctx):  # type: ignore[no-untyped-def]
        org_id = context.require_org()
        async with self.db.transaction() as session:
            found = await health.queue_health(session, org_id=org_id)
        threshold = self.settings.lead_runs_queue_age_alert_s
        return pb.GetQueueHealthResponse(
            health=convert.health_to_proto(found, org_id=str(org_id), threshold_s=threshold)
        )
