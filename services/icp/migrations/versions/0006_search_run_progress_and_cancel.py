"""A search run's progress counted where its counters are: pages handed on, in the page's own transaction.

pages_fetched and people_fetched stay the fetcher's own bookkeeping (where a resumed run goes on); what a
user sees is pages_delivered and the diagnostics, both written by the statement that marks a page delivered.
A run may also be cancelled (status `cancelled`; the column is free text, so only the new counter is added).

Revision ID: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
SCHEMA = "icp"


def upgrade() -> None:
    op.add_column(
        "search_runs", sa.Column("pages_delivered", sa.Integer, nullable=False, server_default="0"), schema=SCHEMA
    )
    op.execute(
        f"UPDATE {SCHEMA}.search_runs r SET pages_delivered = "
        f"(SELECT count(*) FROM {SCHEMA}.search_pages p WHERE p.run_id = r.id AND p.delivered)"
    )


def downgrade() -> None:
    op.drop_column("search_runs", "pages_delivered", schema=SCHEMA)
