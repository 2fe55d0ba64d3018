"""Inbound mail: the raw message kept before it is parsed, and what an inbound message turned out to be.

Revision ID: 0003
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0003"
down_revision = "0002"
SCHEMA = "inbox"


def upgrade() -> None:
    op.create_table(
        "inbound_raw",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()")),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("dedup_key", sa.Text, nullable=False, unique=True),
        sa.Column("raw", sa.LargeBinary, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("message_id", UUID(as_uuid=True)),
        schema=SCHEMA,
    )
    op.add_column("messages", sa.Column("kind", sa.Text), schema=SCHEMA)
    op.add_column(
        "messages", sa.Column("unknown_sender", sa.Boolean, nullable=False, server_default=sa.false()), schema=SCHEMA
    )
    op.add_column("messages", sa.Column("raw_id", UUID(as_uuid=True)), schema=SCHEMA)
    op.create_index("ix_messages_to_address", "messages", ["to_address"], schema=SCHEMA)


def downgrade() -> None:
    op.drop_index("ix_messages_to_address", "messages", schema=SCHEMA)
    for column in ("raw_id", "unknown_sender", "kind"):
        op.drop_column("messages", column, schema=SCHEMA)
    op.drop_table("inbound_raw", schema=SCHEMA)
