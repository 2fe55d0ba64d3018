"""Wires the runs service into the platform."""

from pathlib import Path

from leadflood_platform.server import ServiceSpec
from leadflood_platform.settings import ServiceSettings, load
from runs.models import Base, platform_tables


def spec() -> ServiceSpec:
    return ServiceSpec(
        name="runs",
        settings=load(ServiceSettings),
        metadata=Base.metadata,
        tables=platform_tables,
        migrations=Path(__file__).resolve().parents[2] / "migrations",
        register=lambda server, runtime: [],
    )
