"""Wires the sequences service into the platform."""

from pathlib import Path

from leadflood_platform.server import ServiceSpec
from leadflood_platform.settings import ServiceSettings, load
from sequences.models import Base, platform_tables


def spec() -> ServiceSpec:
    return ServiceSpec(
        name="sequences",
        settings=load(ServiceSettings),
        metadata=Base.metadata,
        tables=platform_tables,
        migrations=Path(__file__).resolve().parents[2] / "migrations",
        register=lambda server, runtime: [],
    )
