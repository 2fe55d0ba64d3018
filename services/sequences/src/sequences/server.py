"""Wires the sequences service into the platform: its servicers, its workers' jobs, its schema."""

from __future__ import annotations

from pathlib import Path

import grpc

from leadflood_platform.server import Runtime, ServiceSpec
from leadflood_platform.settings import load
from sequences.config import SequencesSettings
from sequences.models import Base, platform_tables
from sequences.workers import job_kinds


def spec() -> ServiceSpec:
    settings = load(SequencesSettings)

    def register(server: grpc.aio.Server, runtime: Runtime) -> list[str]:
        # Add the servicers of protos/leadflood/sequences/v1/ here; return their full names (for health).
        return []

    return ServiceSpec(
        name="sequences",
        settings=settings,
        metadata=Base.metadata,
        tables=platform_tables,
        migrations=Path(__file__).resolve().parents[2] / "migrations",
        register=register,
        job_kinds=job_kinds,
    )
