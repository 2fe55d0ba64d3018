"""A fetched page's people compressed with lz4 rather than the default pglz.

PostgreSQL compresses each stored page (~185 KB of protobuf for 1,000 people) as it writes it: pglz
took ~5.4 ms of its CPU a page, lz4 takes ~1.6 ms, and both store ~79 KB. Pages already stored keep
their pglz; both read back alike.

Revision ID: 0004
"""

from alembic import op

revision = "0004"
down_revision = "0003"
SCHEMA = "icp"


def upgrade() -> None:
    op.execute(f"ALTER TABLE {SCHEMA}.search_pages ALTER COLUMN people SET COMPRESSION lz4")


def downgrade() -> None:
    op.execute(f"ALTER TABLE {SCHEMA}.search_pages ALTER COLUMN people SET COMPRESSION default")
