"""Internal teams' credentials: exchanged for the short-lived identity tokens the services accept.

Revision ID: 0005
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0005"
down_revision = "0004"
SCHEMA = "gateway"


def upgrade() -> None:
    op.create_table(
        "internal_credentials",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("org_id", UUID(as_uuid=True), sa.ForeignKey(f"{SCHEMA}.orgs.id"), nullable=False),
        sa.Column("team", sa.Text, nullable=False),
        sa.Column("scopes", JSONB, nullable=False),
        sa.Column("secret_hash", sa.Text, nullable=False, unique=True),
        sa.Column("created_by", UUID(as_uuid=True), sa.ForeignKey(f"{SCHEMA}.users.id"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("last_used_at", sa.DateTime(timezone=True)),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
        schema=SCHEMA,
    )
    op.create_index("ix_internal_credentials_org_id", "internal_credentials", ["org_id"], schema=SCHEMA)


def downgrade() -> None:
    op.drop_table("internal_credentials", schema=SCHEMA)
