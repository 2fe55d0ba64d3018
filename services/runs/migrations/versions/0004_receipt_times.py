"""A receipt's times as times (a meeting's start and end, the span a slot search looked in), not ISO text in its
detail: the web client shows them in the reader's own time zone and words.

Revision ID: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
SCHEMA = "runs"


def upgrade() -> None:
    for column in ("starts_at", "ends_at"):
        op.add_column("receipts", sa.Column(column, sa.DateTime(timezone=True)), schema=SCHEMA)


def downgrade() -> None:
    for column in ("ends_at", "starts_at"):
        op.drop_column("receipts", column, schema=SCHEMA)
