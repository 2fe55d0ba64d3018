"""The platform's outbox and job executions (v1, then v2) in the runs schema.

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

from leadflood_platform.tables import PlatformTables

revision = "0001"
down_revision = None
SCHEMA = "runs"


def upgrade() -> None:
    PlatformTables(sa.MetaData(schema=SCHEMA)).create_v1(op.get_bind())
    PlatformTables.add_v2(SCHEMA)


def downgrade() -> None:
    for table in ("job_executions", "outbox"):
        op.drop_table(table, schema=SCHEMA)
