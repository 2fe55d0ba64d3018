"""Sign-in limits, idempotency keys, and refresh tokens that say whether they were revoked or rotated.

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0002"
down_revision = "0001"
SCHEMA = "gateway"


def upgrade() -> None:
    now = sa.func.now()
    # Failed sign-ins by key (`account:<email>`, `address:<ip>`): a count in a window and, past the limit, until
    # when that key is refused. Rows of quiet keys are pruned as failures come in.
    op.create_table(
        "sign_in_limits",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("window_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("blocked_until", sa.DateTime(timezone=True)),
        schema=SCHEMA,
    )
    op.create_index("ix_sign_in_limits_last_failure_at", "sign_in_limits", ["last_failure_at"], schema=SCHEMA)
    # A POST's Idempotency-Key, per user: the request's fingerprint and, once answered, the answer.
    op.create_table(
        "idempotency_keys",
        sa.Column("user_id", UUID(as_uuid=True), sa.ForeignKey(f"{SCHEMA}.users.id"), primary_key=True),
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("fingerprint", sa.Text, nullable=False),
        sa.Column("status", sa.Integer),  # null while the first request is in flight
        sa.Column("content_type", sa.Text),
        sa.Column("location", sa.Text),
        sa.Column("body", sa.LargeBinary),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=now),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        schema=SCHEMA,
    )
    op.create_index("ix_idempotency_keys_expires_at", "idempotency_keys", ["expires_at"], schema=SCHEMA)
    # Revoked (sign-out, a replay) as against rotated (used_at): a rotated token may be presented again within
    # the grace window (two tabs refreshing at once); a revoked one never. An access token of a revoked family
    # is refused too.
    op.add_column("refresh_tokens", sa.Column("revoked_at", sa.DateTime(timezone=True)), schema=SCHEMA)


def downgrade() -> None:
    op.drop_column("refresh_tokens", "revoked_at", schema=SCHEMA)
    op.drop_table("idempotency_keys", schema=SCHEMA)
    op.drop_table("sign_in_limits", schema=SCHEMA)
