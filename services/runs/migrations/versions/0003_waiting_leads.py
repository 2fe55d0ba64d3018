"""A run's leads may wait in the run for their turn (`waiting`) before the queue takes them.

Revision ID: 0003
"""

from alembic import op

revision = "0003"
down_revision = "0002"
SCHEMA = "runs"
WITH = "status IN ('waiting', 'pending', 'running', 'done', 'failed', 'cancelled')"
WITHOUT = "status IN ('pending', 'running', 'done', 'failed', 'cancelled')"


def upgrade() -> None:
    op.drop_constraint("ck_run_leads_status", "run_leads", schema=SCHEMA, type_="check")
    op.create_check_constraint("ck_run_leads_status", "run_leads", WITH, schema=SCHEMA)


def downgrade() -> None:
    op.execute(f"UPDATE {SCHEMA}.run_leads SET status = 'pending' WHERE status = 'waiting'")
    op.drop_constraint("ck_run_leads_status", "run_leads", schema=SCHEMA, type_="check")
    op.create_check_constraint("ck_run_leads_status", "run_leads", WITHOUT, schema=SCHEMA)
