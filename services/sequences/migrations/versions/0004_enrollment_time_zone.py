"""An enrollment remembers its lead's time zone (as last looked up): its window is read in it.

Revision ID: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
SCHEMA = "sequences"


def upgrade() -> None:
    op.add_column("enrollments", sa.Column("time_zone", sa.Text), schema=SCHEMA)


def downgrade() -> None:
    op.drop_column("enrollments", "time_zone", schema=SCHEMA)
