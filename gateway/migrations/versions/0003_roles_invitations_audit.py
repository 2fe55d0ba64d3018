"""Memberships with roles, invitations by link, the audit log of privileged actions.

Revision ID: 0003
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0003"
down_revision = "0002"
SCHEMA = "gateway"
ROLES = "role IN ('owner', 'admin', 'member', 'viewer')"


def upgrade() -> None:
    now = sa.func.now()
    op.create_table(
        "memberships",
        sa.Column("org_id", UUID(as_uuid=True), sa.ForeignKey(f"{SCHEMA}.orgs.id"), primary_key=True),
        sa.Column("user_id", UUID(as_uuid=True), sa.ForeignKey(f"{SCHEMA}.users.id"), primary_key=True),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=now),
        sa.CheckConstraint(ROLES, name="role"),
        schema=SCHEMA,
    )
    op.create_index("ix_memberships_user_id", "memberships", ["user_id"], schema=SCHEMA)
    # Everyone there before roles could do everything: they stay able to, as owners.
    op.execute(
        f"INSERT INTO {SCHEMA}.memberships (org_id, user_id, role) SELECT org_id, id, 'owner' FROM {SCHEMA}.users"
    )
    op.create_table(
        "invitations",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("org_id", UUID(as_uuid=True), sa.ForeignKey(f"{SCHEMA}.orgs.id"), nullable=False),
        sa.Column("email", sa.Text, nullable=False),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("token_hash", sa.Text, nullable=False, unique=True),
        sa.Column("invited_by", UUID(as_uuid=True), sa.ForeignKey(f"{SCHEMA}.users.id"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=now),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True)),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint(ROLES, name="role"),
        schema=SCHEMA,
    )
    op.create_index("ix_invitations_org_id", "invitations", ["org_id"], schema=SCHEMA)
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("org_id", UUID(as_uuid=True), nullable=False),
        sa.Column("actor_id", UUID(as_uuid=True)),
        sa.Column("actor_email", sa.Text, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("target", sa.Text, nullable=False),
        sa.Column("details", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("address", sa.Text),
        sa.Column("request_id", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=now),
        schema=SCHEMA,
    )
    op.create_index("ix_audit_log_org_id_id", "audit_log", ["org_id", "id"], schema=SCHEMA)


def downgrade() -> None:
    for table in ("audit_log", "invitations", "memberships"):
        op.drop_table(table, schema=SCHEMA)
