"""Wires the runs service into the platform: its servicer, its jobs (sourcing), its loops (the drain and
the sweep), its schema."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
from collections.abc import Awaitable, Callable
from pathlib import Path

import grpc

from leadflood.icp.v1 import icp_pb2_grpc
from leadflood.inbox.v1 import delivery_pb2_grpc
from leadflood.leads.v1 import leads_pb2_grpc
from leadflood.runs.v1 import runs_pb2, runs_pb2_grpc
from leadflood.sequences.v1 import sequences_pb2_grpc
from leadflood_platform import grpc_client
from leadflood_platform.server import Runtime, ServiceSpec
from leadflood_platform.settings import load
from runs import actions, calendar, workers
from runs.config import RunsSettings
from runs.drain import Drainer, Sweeper, SweepPolicy
from runs.models import Base, platform_tables
from runs.servicer import RunsServicer
from runs.workers import job_kinds


def spec() -> ServiceSpec:
    settings = load(RunsSettings)
    traced = bool(settings.otel_exporter_otlp_endpoint)

    def peer(name: str, timeout_s: float) -> grpc.aio.Channel:
        return grpc_client.channel(settings.grpc_target(name), timeout_s=timeout_s, traced=traced)

    def register(server: grpc.aio.Server, runtime: Runtime) -> list[str]:
        icp = icp_pb2_grpc.IcpServiceStub(peer("icp", settings.icp_call_timeout_s))
        leads = leads_pb2_grpc.LeadsServiceStub(peer("leads", settings.leads_call_timeout_s))
        runs_pb2_grpc.add_RunsServiceServicer_to_server(RunsServicer(runtime.db, settings, icp, leads), server)
        return [runs_pb2.DESCRIPTOR.services_by_name["RunsService"].full_name]

    def loops(runtime: Runtime) -> list[Callable[[asyncio.Event], Awaitable[None]]]:
        # One provider of each kind per worker, shared by its leads (the Google adapter books one lead at a
        # time per calendar, so leads worked on at once never take the same slot).
        calendar_for = functools.cache(lambda name: calendar.calendar_for(name, settings))
        work = actions.LeadActions(
            db=runtime.db,
            delivery=delivery_pb2_grpc.DeliveryServiceStub(peer("inbox", settings.inbox_call_timeout_s)),
            # Call tasks are the sequences service's: a run's are listed under Tasks with every other.
            tasks=sequences_pb2_grpc.SequencesServiceStub(peer("sequences", settings.sequences_call_timeout_s)),
            # Checked again just before a lead's first action: enrolled or answered since sourcing is skipped.
            contacts=workers.contacts(settings, peer),
            calendar_for=calendar_for,
            policy=actions.Policy(
                calendar_max_attempts=settings.lead_runs_calendar_max_attempts,
                calendar_backoff_ms=settings.lead_runs_calendar_backoff_ms,
                lead_max_attempts=settings.lead_runs_lead_max_attempts,
                window=settings.lead_runs_batch_size,
                call_timeout_s=settings.inbox_call_timeout_s,
            ),
        )
        drainer = Drainer(
            db=runtime.db, work=work, batch_size=settings.lead_runs_batch_size,
            concurrency=settings.lead_runs_worker_concurrency, lease_s=settings.lead_runs_lease_s,
            idle_s=settings.lead_runs_idle_s,
        )  # fmt: skip
        sweeper = Sweeper(
            db=runtime.db,
            policy=SweepPolicy(
                every_s=settings.lead_runs_sweep_s,
                failure_threshold=settings.lead_run_failure_alert_threshold,
                escalate_after=dt.timedelta(minutes=settings.lead_run_alert_escalation_minutes),
                webhook_url=settings.lead_run_alert_webhook_url,
                webhook_timeout_s=settings.webhook_timeout_s,
                queue_age_alert_s=settings.lead_runs_queue_age_alert_s,
                transaction_idle_s=max(settings.lead_runs_transaction_idle_s, settings.webhook_timeout_s * 2),
            ),
        )
        return [drainer.run, sweeper.run]

    return ServiceSpec(
        name="runs",
        settings=settings,
        providers=settings.providers(),
        metadata=Base.metadata,
        tables=platform_tables,
        migrations=Path(__file__).resolve().parents[2] / "migrations",
        register=register,
        job_kinds=job_kinds,
        loops=loops,
    )
