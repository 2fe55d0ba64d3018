"""Wires the leads service into the platform: its servicer, its workers' jobs, its schema."""

from __future__ import annotations

from pathlib import Path

import grpc
import httpx

from leadflood.icp.v1 import icp_pb2_grpc
from leadflood.leads.v1 import leads_pb2, leads_pb2_grpc, stats_pb2, stats_pb2_grpc
from leadflood_platform import grpc_client
from leadflood_platform.jobs import JobKind
from leadflood_platform.server import Runtime, ServiceSpec
from leadflood_platform.settings import load
from leads.config import LeadsSettings
from leads.models import Base, platform_tables
from leads.providers.registry import enricher
from leads.servicer import LeadsServicer
from leads.stats import LeadStatsServicer
from leads.workers import EnrichLead

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def spec() -> ServiceSpec:
    settings = load(LeadsSettings)

    def register(server: grpc.aio.Server, runtime: Runtime) -> list[str]:
        icp = grpc_client.channel(
            settings.grpc_target("icp"),
            timeout_s=settings.icp_call_timeout_s,
            traced=bool(settings.otel_exporter_otlp_endpoint),
        )
        servicer = LeadsServicer(runtime.db, settings, icp_pb2_grpc.IcpServiceStub(icp))
        leads_pb2_grpc.add_LeadsServiceServicer_to_server(servicer, server)
        stats_pb2_grpc.add_LeadStatsServiceServicer_to_server(LeadStatsServicer(runtime.db), server)
        return [
            leads_pb2.DESCRIPTOR.services_by_name["LeadsService"].full_name,
            stats_pb2.DESCRIPTOR.services_by_name["LeadStatsService"].full_name,
        ]

    def job_kinds(runtime: Runtime) -> list[JobKind]:
        http = httpx.AsyncClient(timeout=httpx.Timeout(settings.provider_timeout_s, connect=5.0))

        def enricher_for(provider: str):  # type: ignore[no-untyped-def]
            return enricher(
                provider,
                hunter_api_key=settings.hunter_api_key,
                hunter_base_url=settings.hunter_base_url,
                client=http,
                sandbox_delay_ms=settings.sandbox_enrich_delay_ms,
            )

        return [EnrichLead(db=runtime.db, enricher_for=enricher_for)]

    return ServiceSpec(
        name="leads",
        settings=settings,
        providers=settings.providers(),
        metadata=Base.metadata,
        tables=platform_tables,
        migrations=MIGRATIONS,
        register=register,
        job_kinds=job_kinds,
    )
