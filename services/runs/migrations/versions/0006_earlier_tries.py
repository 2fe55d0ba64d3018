"""A lead tried again by hand keeps the number of tries it made before (`earlier_tries`): the receipts of its new
tries number on from them (one receipt per action and attempt, so a new try's receipt is never taken for an old
one's and dropped), and an action that failed in them is done again.

Revision ID: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
SCHEMA = "runs"


def upgrade() -> None:
    op.add_column(
        "run_leads",
        sa.Column("earlier_tries", sa.Integer(), server_default=sa.text("0"), nullable=False),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_column("run_leads", "earlier_tries", schema=SCHEMA)
