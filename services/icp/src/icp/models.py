"""The icp service's tables, in its own `icp` schema."""

from leadflood_platform.db import declarative_base
from leadflood_platform.tables import PlatformTables

Base = declarative_base("icp")
platform_tables = PlatformTables(Base.metadata)
