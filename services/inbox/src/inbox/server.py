"""Wires the inbox service into the platform: its servicers, its workers' jobs, its schema."""

from __future__ import annotations

from pathlib import Path

import grpc

from inbox.config import InboxSettings
from inbox.models import Base, platform_tables
from inbox.workers import job_kinds
from leadflood_platform.server import Runtime, ServiceSpec
from leadflood_platform.settings import load


def spec() -> ServiceSpec:
    settings = load(InboxSettings)

    def register(server: grpc.aio.Server, runtime: Runtime) -> list[str]:
        # Add the servicers of protos/leadflood/inbox/v1/ here; return their full names (for health).
        return []

    return ServiceSpec(
        name="inbox",
        settings=settings,
        metadata=Base.metadata,
        tables=platform_tables,
        migrations=Path(__file__).resolve().parents[2] / "migrations",
        register=register,
        job_kinds=job_kinds,
    )
