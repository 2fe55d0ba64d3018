"""Wires the ICP service into the platform: its servicer, its workers' jobs, its schema."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
import httpx

from icp.config import IcpSettings
from icp.models import Base, platform_tables
from icp.providers.base import Page, SearchProvider, SearchQuery
from icp.providers.registry import search_provider
from icp.search import SearchRunner
from icp.servicer import IcpServicer
from icp.workers import RunSearch
from leadflood.icp.v1 import icp_pb2, icp_pb2_grpc
from leadflood.leads.v1 import leads_pb2_grpc
from leadflood_platform import grpc_client
from leadflood_platform.jobs import JobKind
from leadflood_platform.server import Runtime, ServiceSpec
from leadflood_platform.settings import load


class SlowedDown:
    """A provider with simulated latency per page (the sandbox answers instantly otherwise)."""

    def __init__(self, provider: SearchProvider, delay_s: float) -> None:
        self.provider, self.delay_s = provider, delay_s
        self.name, self.max_per_page = provider.name, provider.max_per_page

    async def search(self, query: SearchQuery, *, page: int, per_page: int) -> Page:
        await asyncio.sleep(self.delay_s)
        return await self.provider.search(query, page=page, per_page=per_page)


def spec() -> ServiceSpec:
    settings = load(IcpSettings)

    def leads_channel() -> grpc.aio.Channel:
        return grpc_client.channel(
            settings.grpc_target("leads"),
            timeout_s=settings.grpc_call_timeout_s,
            traced=bool(settings.otel_exporter_otlp_endpoint),
        )

    def register(server: grpc.aio.Server, runtime: Runtime) -> list[str]:
        # The leads service applies a changed minimum score to the ICP's leads as the ICP is saved.
        leads = leads_pb2_grpc.LeadsServiceStub(leads_channel())
        icp_pb2_grpc.add_IcpServiceServicer_to_server(IcpServicer(runtime.db, settings, leads), server)
        return [icp_pb2.DESCRIPTOR.services_by_name["IcpService"].full_name]

    def job_kinds(runtime: Runtime) -> list[JobKind]:
        http = httpx.AsyncClient(timeout=httpx.Timeout(settings.provider_timeout_s, connect=5.0))
        leads = leads_channel()

        def provider_for(source: str) -> SearchProvider:
            provider = search_provider(
                source,
                apollo_api_key=settings.apollo_api_key,
                apollo_base_url=settings.apollo_base_url,
                client=http,
                sandbox_duplicate_rate=settings.sandbox_search_duplicate_rate,
            )
            if source == "sandbox" and settings.sandbox_search_page_delay_ms:
                return SlowedDown(provider, settings.sandbox_search_page_delay_ms / 1000)
            return provider

        return [RunSearch(SearchRunner(runtime.db, provider_for, leads, settings.leads_call_timeout_s))]

    return ServiceSpec(
        name="icp",
        settings=settings,
        providers=settings.providers(),
        metadata=Base.metadata,
        tables=platform_tables,
        migrations=Path(__file__).resolve().parents[2] / "migrations",
        register=register,
        job_kinds=job_kinds,
    )
