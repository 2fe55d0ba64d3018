"""Platform tables v2: a job keeps its message, so a failed one (a dead letter) can be replayed.

Revision ID: 0004
"""

from alembic import op

from leadflood_platform.tables import PlatformTables

revision = "0004"
down_revision = "0003"
SCHEMA = "inbox"


def upgrade() -> None:
    PlatformTables.add_v2(SCHEMA)


def downgrade() -> None:
    op.drop_column("job_executions", "message", schema=SCHEMA)
