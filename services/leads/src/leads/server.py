"""Wires the leads service into the platform: its servicers, its jobs, its schema."""

from __future__ import annotations

from pathlib import Path

import grpc

from leadflood.leads.v1 import leads_pb2, leads_pb2_grpc
from leadflood_platform.server import Runtime, ServiceSpec
from leads.config import LeadsSettings
from leads.enrichment import SandboxEnricher
from leads.models import Base, platform_tables
from leads.servicer import LeadsServicer
from leads.workers import enrich_kind

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def spec() -> ServiceSpec:
    settings = LeadsSettings()

    def enrich(runtime: Runtime):  # type: ignore[no-untyped-def]
        return enrich_kind(SandboxEnricher(settings.sandbox_enrich_delay_ms), runtime.db)

    def register(server: grpc.aio.Server, runtime: Runtime) -> list[str]:
        servicer = LeadsServicer(runtime.db, enrich(runtime), settings.job_max_attempts)
        leads_pb2_grpc.add_LeadsServiceServicer_to_server(servicer, server)
        return [leads_pb2.DESCRIPTOR.services_by_name["LeadsService"].full_name]

    return ServiceSpec(
        name="leads",
        settings=settings,
        metadata=Base.metadata,
        tables=platform_tables,
        migrations=MIGRATIONS,
        register=register,
        job_kinds=lambda runtime: [enrich(runtime)],
    )
