"""Wires the runs service into the platform: its servicers, its workers' jobs, its schema."""

from __future__ import annotations

from pathlib import Path

import grpc

from leadflood_platform.server import Runtime, ServiceSpec
from leadflood_platform.settings import load
from runs.config import RunsSettings
from runs.models import Base, platform_tables
from runs.workers import job_kinds


def spec() -> ServiceSpec:
    settings = load(RunsSettings)

    def register(server: grpc.aio.Server, runtime: Runtime) -> list[str]:
        # Add the servicers of protos/leadflood/runs/v1/ here; return their full names (for health).
        return []

    return ServiceSpec(
        name="runs",
        settings=settings,
        metadata=Base.metadata,
        tables=platform_tables,
        migrations=Path(__file__).resolve().parents[2] / "migrations",
        register=register,
        job_kinds=job_kinds,
    )
