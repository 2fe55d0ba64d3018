"""An inbound email keeps the SMTP envelope's recipients it was delivered to (RCPT TO): with its To, Cc and
Delivered-To, they say which of our addresses it was sent to, and only messages sent from those can be what a
reply or a bounce found by its sender answers (inbound.py).

Revision ID: 0008
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"
SCHEMA = "inbox"


def upgrade() -> None:
    op.add_column(
        "inbound_raw",
        sa.Column("envelope_to", postgresql.ARRAY(sa.Text()), nullable=False, server_default=sa.text("'{}'")),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_column("inbound_raw", "envelope_to", schema=SCHEMA)
