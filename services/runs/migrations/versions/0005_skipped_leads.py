"""A run leaves out a lead already in a sequence or in a conversation lately: the lead is `skipped` (its receipt says
why), and the run keeps how many days back a conversation counts.

Revision ID: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
SCHEMA = "runs"
WITH = "status IN ('waiting', 'pending', 'running', 'done', 'failed', 'cancelled', 'skipped')"
WITHOUT = "status IN ('waiting', 'pending', 'running', 'done', 'failed', 'cancelled')"


def upgrade() -> None:
    op.drop_constraint("ck_run_leads_status", "run_leads", schema=SCHEMA, type_="check")
    op.create_check_constraint("ck_run_leads_status", "run_leads", WITH, schema=SCHEMA)
    op.add_column(
        "lead_runs",
        sa.Column("recent_contact_days", sa.Integer(), server_default=sa.text("30"), nullable=False),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_column("lead_runs", "recent_contact_days", schema=SCHEMA)
    op.execute("UPDATE runs.run_leads SET status = 'done' WHERE status = 'skipped'")
    op.drop_constraint("ck_run_leads_status", "run_leads", schema=SCHEMA, type_="check")
    op.create_check_constraint("ck_run_leads_status", "run_leads", WITHOUT, schema=SCHEMA)
