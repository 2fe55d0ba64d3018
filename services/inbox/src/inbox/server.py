"""Wires the inbox service into the platform: its servicer, its workers' jobs, the local capture server, its schema."""

from __future__ import annotations

from pathlib import Path

import grpc

from inbox import capture, receiving
from inbox.config import InboxSettings
from inbox.models import Base, platform_tables
from inbox.servicer import DeliveryServicer, InboxServicer
from inbox.stats import InboxStatsServicer
from inbox.workers import job_kinds
from leadflood.inbox.v1 import delivery_pb2, delivery_pb2_grpc, inbox_pb2, inbox_pb2_grpc, stats_pb2, stats_pb2_grpc
from leadflood_platform.server import Runtime, ServiceSpec
from leadflood_platform.settings import load


def spec() -> ServiceSpec:
    settings = load(InboxSettings)

    def register(server: grpc.aio.Server, runtime: Runtime) -> list[str]:
        settings.key("start-up check")  # no signing secret: refuse to start, saying which setting
        delivery_pb2_grpc.add_DeliveryServiceServicer_to_server(DeliveryServicer(runtime.db, settings), server)
        inbox_pb2_grpc.add_InboxServiceServicer_to_server(InboxServicer(runtime.db, settings), server)
        stats_pb2_grpc.add_InboxStatsServiceServicer_to_server(InboxStatsServicer(runtime.db), server)
        return [
            stats_pb2.DESCRIPTOR.services_by_name["InboxStatsService"].full_name,
            delivery_pb2.DESCRIPTOR.services_by_name["DeliveryService"].full_name,
            inbox_pb2.DESCRIPTOR.services_by_name["InboxService"].full_name,
        ]

    def server_loops(runtime: Runtime):  # type: ignore[no-untyped-def]
        loops = []
        if settings.smtp_inbound_port is not None:
            loops.append(
                receiving.smtp_loop(runtime.db, settings, settings.smtp_inbound_host, settings.smtp_inbound_port)
            )
        if settings.smtp_capture_port is not None:
            loops.append(capture.server_loop(runtime.db, settings.smtp_capture_host, settings.smtp_capture_port))
        return loops

    return ServiceSpec(
        name="inbox",
        settings=settings,
        providers=settings.providers(),
        metadata=Base.metadata,
        tables=platform_tables,
        migrations=Path(__file__).resolve().parents[2] / "migrations",
        register=register,
        job_kinds=job_kinds,
        server_loops=server_loops,
    )
