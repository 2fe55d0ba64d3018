"""A lead's phone number (E.164; empty for none), for the SMS steps of sequences.

Revision ID: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
SCHEMA = "leads"


def upgrade() -> None:
    op.add_column("leads", sa.Column("phone", sa.Text, nullable=False, server_default=""), schema=SCHEMA)


def downgrade() -> None:
    op.drop_column("leads", "phone", schema=SCHEMA)
