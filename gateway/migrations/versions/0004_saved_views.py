"""Saved views: a user's named filters, sort and columns for a list, private or shared with the org.

Revision ID: 0004
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0004"
down_revision = "0003"
SCHEMA = "gateway"


def upgrade() -> None:
    now = sa.func.now()
    op.create_table(
        "saved_views",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("org_id", UUID(as_uuid=True), sa.ForeignKey(f"{SCHEMA}.orgs.id"), nullable=False),
        sa.Column(
            "user_id", UUID(as_uuid=True), sa.ForeignKey(f"{SCHEMA}.users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("page", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("filters", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("sort", sa.Text, nullable=False),
        sa.Column("columns", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
        sa.Column("shared", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=now),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=now),
        # One name per owner and list: "Hot leads" twice would be two views no one can tell apart.
        sa.UniqueConstraint("user_id", "page", "name", name="uq_saved_views_owner_page_name"),
        schema=SCHEMA,
    )
    op.create_index("ix_saved_views_org_id_page", "saved_views", ["org_id", "page"], schema=SCHEMA)


def downgrade() -> None:
    op.drop_table("saved_views", schema=SCHEMA)
