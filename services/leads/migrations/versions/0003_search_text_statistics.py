"""Finer statistics for the lead search text, so the planner estimates substring matches well.

With the default target (100) a common fragment over a million leads was estimated anywhere from
97 to 49,000 rows between ANALYZE runs, flipping the plan between a 3 ms index walk and a 60 ms
trigram bitmap scan (measured by make bench).

Revision ID: 0003
"""

from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.execute("ALTER TABLE leads.leads ALTER COLUMN search_text SET STATISTICS 1000")


def downgrade() -> None:
    op.execute("ALTER TABLE leads.leads ALTER COLUMN search_text SET STATISTICS -1")
