"""Wires the sequences service into the platform: its servicer, its loops (the scheduler, the stops), its schema."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import grpc

from leadflood.inbox.v1 import delivery_pb2_grpc
from leadflood.sequences.v1 import sequences_pb2, sequences_pb2_grpc
from leadflood_platform import grpc_client
from leadflood_platform.server import Runtime, ServiceSpec
from leadflood_platform.settings import load
from sequences.config import SequencesSettings
from sequences.lead_directory import LeadsService
from sequences.models import Base, platform_tables
from sequences.scheduler import Scheduler
from sequences.servicer import SequencesServicer
from sequences.stops import StopConsumer
from sequences.workers import job_kinds


def spec() -> ServiceSpec:
    settings = load(SequencesSettings)
    traced = bool(settings.otel_exporter_otlp_endpoint)

    def peer(name: str, timeout_s: float) -> grpc.aio.Channel:
        # The channel's own default deadline; each call also sets its own.
        return grpc_client.channel(settings.grpc_target(name), timeout_s=timeout_s, traced=traced)

    def register(server: grpc.aio.Server, runtime: Runtime) -> list[str]:
        leads = LeadsService(peer("leads", settings.leads_call_timeout_s), timeout_s=settings.leads_call_timeout_s)
        sequences_pb2_grpc.add_SequencesServiceServicer_to_server(SequencesServicer(runtime.db, leads), server)
        return [sequences_pb2.DESCRIPTOR.services_by_name["SequencesService"].full_name]

    def loops(runtime: Runtime) -> list[Callable[[asyncio.Event], Awaitable[None]]]:
        scheduler = Scheduler(
            db=runtime.db,
            delivery=delivery_pb2_grpc.DeliveryServiceStub(peer("inbox", settings.inbox_call_timeout_s)),
            leads=LeadsService(peer("leads", settings.leads_call_timeout_s), timeout_s=settings.leads_call_timeout_s),
            batch_size=settings.scheduler_batch_size,
            concurrency=settings.scheduler_concurrency,
            batches_in_flight=settings.scheduler_batches_in_flight,
            idle_s=settings.scheduler_idle_s,
            retry_s=settings.scheduler_retry_s,
            precondition_retry_s=settings.scheduler_no_mailbox_retry_s,
            call_timeout_s=settings.inbox_call_timeout_s,
        )
        stops = StopConsumer(db=runtime.db, bus=runtime.bus, ack_wait_s=settings.job_ack_wait_ms / 1000)
        return [scheduler.run, stops.run]

    return ServiceSpec(
        name="sequences",
        settings=settings,
        metadata=Base.metadata,
        tables=platform_tables,
        migrations=Path(__file__).resolve().parents[2] / "migrations",
        register=register,
        job_kinds=job_kinds,
        loops=loops,
    )
