"""The inbox service's tables, in its own `inbox` schema."""

from leadflood_platform.db import declarative_base
from leadflood_platform.tables import PlatformTables

Base = declarative_base("inbox")
platform_tables = PlatformTables(Base.metadata)
