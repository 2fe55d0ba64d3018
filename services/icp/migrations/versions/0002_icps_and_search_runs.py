"""ICP profiles, search runs and the pages they fetched.

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

revision = "0002"
down_revision = "0001"
SCHEMA = "icp"


def upgrade() -> None:
    now = sa.func.now()
    texts = ARRAY(sa.Text)
    op.create_table(
        "icps",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("org_id", UUID(as_uuid=True), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("titles", texts, nullable=False),
        sa.Column("seniorities", texts, nullable=False),
        sa.Column("industries", texts, nullable=False),
        sa.Column("company_size_min", sa.Integer),
        sa.Column("company_size_max", sa.Integer),
        sa.Column("locations", texts, nullable=False),
        sa.Column("keywords", texts, nullable=False),
        sa.Column("min_score", sa.Integer, nullable=False),
        sa.Column("weights", JSONB, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=now),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=now),
        sa.UniqueConstraint("org_id", "name", name="uq_icps_org_id_name"),
        schema=SCHEMA,
    )
    op.create_table(
        "search_runs",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("org_id", UUID(as_uuid=True), nullable=False),
        sa.Column("icp_id", UUID(as_uuid=True), sa.ForeignKey(f"{SCHEMA}.icps.id", ondelete="CASCADE"), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("limit", sa.Integer, nullable=False),
        sa.Column("per_page", sa.Integer, nullable=False),
        sa.Column("rules", JSONB, nullable=False),
        sa.Column("idempotency_key", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False, server_default="queued"),
        sa.Column("pages_fetched", sa.Integer, nullable=False, server_default="0"),
        sa.Column("people_fetched", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_page", sa.Integer, nullable=False, server_default="1"),
        sa.Column("exhausted", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("diagnostics", JSONB, nullable=False, server_default="{}"),
        sa.Column("error", sa.Text),
        sa.Column("job_id", UUID(as_uuid=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=now),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("org_id", "idempotency_key", name="uq_search_runs_org_id_idempotency_key"),
        schema=SCHEMA,
    )
    op.create_index("ix_search_runs_icp_id_created_at", "search_runs", ["icp_id", "created_at"], schema=SCHEMA)
    op.create_table(
        "search_pages",
        sa.Column(
            "run_id",
            UUID(as_uuid=True),
            sa.ForeignKey(f"{SCHEMA}.search_runs.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("page", sa.Integer, primary_key=True),
        sa.Column("people", JSONB, nullable=False),
        sa.Column("delivered", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("diagnostics", JSONB),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False, server_default=now),
        schema=SCHEMA,
    )


def downgrade() -> None:
    for table in ("search_pages", "search_runs", "icps"):
        op.drop_table(table, schema=SCHEMA)
