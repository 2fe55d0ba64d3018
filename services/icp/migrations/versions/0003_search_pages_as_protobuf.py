"""Keep fetched pages as the serialised people the leads service takes, not as JSON.

Building and parsing a page of 1,000 people as JSONB cost the search worker more than the
provider call itself (make bench); the protobuf bytes are what gets sent anyway.

Revision ID: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
SCHEMA = "icp"


def upgrade() -> None:
    # A page stored but not yet handed on is fetched again after the upgrade: drop, don't convert.
    op.execute(f"DELETE FROM {SCHEMA}.search_pages WHERE NOT delivered")
    op.drop_column("search_pages", "people", schema=SCHEMA)
    op.add_column(
        "search_pages", sa.Column("people", sa.LargeBinary, nullable=False, server_default=sa.text("''")), schema=SCHEMA
    )
    op.add_column("search_pages", sa.Column("count", sa.Integer, nullable=False, server_default="0"), schema=SCHEMA)


def downgrade() -> None:
    op.drop_column("search_pages", "count", schema=SCHEMA)
    op.drop_column("search_pages", "people", schema=SCHEMA)
    op.add_column("search_pages", sa.Column("people", sa.dialects.postgresql.JSONB, nullable=False,
                                            server_default="[]"), schema=SCHEMA)  # fmt: skip
