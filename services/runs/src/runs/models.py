"""The runs service's tables, in its own `runs` schema."""

from leadflood_platform.db import declarative_base
from leadflood_platform.tables import PlatformTables

Base = declarative_base("runs")
platform_tables = PlatformTables(Base.metadata, version=2)
