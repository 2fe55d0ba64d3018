"""Enrollments found by their thread: a reply or a bounce after the last step ends a completed one as answered.

Revision ID: 0005
"""

from alembic import op
from sqlalchemy import text

revision = "0005"
down_revision = "0004"
SCHEMA = "sequences"


def upgrade() -> None:
    op.create_index(
        "ix_enrollments_org_thread",
        "enrollments",
        ["org_id", "thread_id"],
        schema=SCHEMA,
        postgresql_where=text("thread_id <> ''"),
    )


def downgrade() -> None:
    op.drop_index("ix_enrollments_org_thread", "enrollments", schema=SCHEMA)
