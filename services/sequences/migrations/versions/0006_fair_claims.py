"""Fair claims across orgs: each org's turn in the scheduler, and its due enrollments by an index of its own.

Revision ID: 0006
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0006"
down_revision = "0005"
SCHEMA = "sequences"


def upgrade() -> None:
    op.create_table(
        "org_turns",
        sa.Column("org_id", UUID(as_uuid=True), nullable=False),
        sa.Column("served_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("org_id", name="pk_org_turns"),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_enrollments_org_due", "enrollments", ["org_id", "next_due_at"], schema=SCHEMA,
        postgresql_where=sa.text("state = 'active'"),
    )  # fmt: skip
    # Every org with enrollments takes its turns from now on.
    op.execute(
        f"INSERT INTO {SCHEMA}.org_turns (org_id, served_at) SELECT DISTINCT org_id, now() FROM {SCHEMA}.enrollments"
    )


def downgrade() -> None:
    op.drop_index("ix_enrollments_org_due", table_name="enrollments", schema=SCHEMA)
    op.drop_table("org_turns", schema=SCHEMA)
