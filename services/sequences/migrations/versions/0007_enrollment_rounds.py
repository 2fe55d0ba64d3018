"""A lead is enrolled in a sequence once unless enrolled again on purpose: each enrollment is the lead's
round in the sequence, unique per (sequence, lead, round); and a stop remembers the channel that caused it.

Revision ID: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
SCHEMA = "sequences"


def upgrade() -> None:
    op.add_column(
        "enrollments", sa.Column("round", sa.Integer, nullable=False, server_default=sa.text("1")), schema=SCHEMA
    )
    # The enrollments made before rounds existed (a lead enrolled twice by a repeated click among them),
    # numbered in the order they were made.
    op.execute(
        f"""
        UPDATE {SCHEMA}.enrollments e SET round = n.round
        FROM (
            SELECT id, row_number() OVER (PARTITION BY sequence_id, lead_id ORDER BY created_at, id) AS round
            FROM {SCHEMA}.enrollments
        ) n
        WHERE n.id = e.id AND n.round > 1
        """
    )
    op.create_index(
        "uq_enrollments_sequence_lead_round", "enrollments", ["sequence_id", "lead_id", "round"], unique=True,
        schema=SCHEMA,
    )  # fmt: skip
    op.add_column("enrollments", sa.Column("stop_channel", sa.Text, nullable=False, server_default=""), schema=SCHEMA)


def downgrade() -> None:
    op.drop_column("enrollments", "stop_channel", schema=SCHEMA)
    op.drop_index("uq_enrollments_sequence_lead_round", table_name="enrollments", schema=SCHEMA)
    op.drop_column("enrollments", "round", schema=SCHEMA)
