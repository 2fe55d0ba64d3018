"""A lead's own time zone (IANA name), set by hand; without it, one is read from its location.

Revision ID: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
SCHEMA = "leads"


def upgrade() -> None:
    op.add_column("leads", sa.Column("time_zone", sa.Text), schema=SCHEMA)


def downgrade() -> None:
    op.drop_column("leads", "time_zone", schema=SCHEMA)
