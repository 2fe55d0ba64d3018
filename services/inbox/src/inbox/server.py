"""Wires the inbox service into the platform."""

from pathlib import Path

from inbox.models import Base, platform_tables
from leadflood_platform.server import ServiceSpec
from leadflood_platform.settings import ServiceSettings, load


def spec() -> ServiceSpec:
    return ServiceSpec(
        name="inbox",
        settings=load(ServiceSettings),
        metadata=Base.metadata,
        tables=platform_tables,
        migrations=Path(__file__).resolve().parents[2] / "migrations",
        register=lambda server, runtime: [],
    )
