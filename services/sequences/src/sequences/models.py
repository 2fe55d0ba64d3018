"""The sequences service's tables, in its own `sequences` schema."""

from leadflood_platform.db import declarative_base
from leadflood_platform.tables import PlatformTables

Base = declarative_base("sequences")
platform_tables = PlatformTables(Base.metadata)
