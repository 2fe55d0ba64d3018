"""Sourced and scored leads, leads without email, enrichment history, applied source batches.

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

revision = "0002"
down_revision = "0001"
SCHEMA = "leads"
TEXT_COLUMNS = ("seniority", "industry", "company_domain", "location", "linkedin_url")


def upgrade() -> None:
    now = sa.func.now()
    op.alter_column("leads", "email", nullable=True, schema=SCHEMA)
    for name in TEXT_COLUMNS:
        op.add_column("leads", sa.Column(name, sa.Text, nullable=False, server_default=""), schema=SCHEMA)
    op.add_column("leads", sa.Column("external_id", sa.Text), schema=SCHEMA)
    op.add_column("leads", sa.Column("icp_id", UUID(as_uuid=True)), schema=SCHEMA)
    op.add_column("leads", sa.Column("search_run_id", UUID(as_uuid=True)), schema=SCHEMA)
    op.add_column("leads", sa.Column("score", sa.Integer, nullable=False, server_default="0"), schema=SCHEMA)
    op.add_column("leads", sa.Column("score_explanation", JSONB, nullable=False, server_default="[]"), schema=SCHEMA)
    op.add_column("leads", sa.Column("filtered", sa.Boolean, nullable=False, server_default=sa.false()), schema=SCHEMA)
    op.add_column("leads", sa.Column("company_size", sa.Integer), schema=SCHEMA)
    op.add_column(
        "leads", sa.Column("edited_fields", ARRAY(sa.Text), nullable=False, server_default="{}"), schema=SCHEMA
    )
    op.add_column(
        "leads",
        sa.Column(
            "search_text",
            sa.Text,
            sa.Computed(
                "lower(first_name || ' ' || last_name || ' ' || company_name || ' ' || coalesce(email, ''))",
                persisted=True,
            ),
        ),
        schema=SCHEMA,
    )
    # A person without email is the same lead when the same provider names the same person again.
    op.create_index(
        "uq_leads_org_id_source_external_id_no_email",
        "leads",
        ["org_id", "source", "external_id"],
        unique=True,
        schema=SCHEMA,
        postgresql_where=sa.text("email IS NULL"),
    )
    # Keyset pagination of the lead list, by each sort it offers.
    op.create_index(
        "ix_leads_org_created", "leads", ["org_id", sa.text("created_at DESC"), sa.text("id DESC")], schema=SCHEMA
    )
    op.create_index("ix_leads_org_score", "leads", ["org_id", sa.text("score DESC"), sa.text("id DESC")], schema=SCHEMA)
    op.create_index("ix_leads_org_last_name", "leads", ["org_id", "last_name", "id"], schema=SCHEMA)
    op.create_index(
        "ix_leads_org_icp_created", "leads", ["org_id", "icp_id", sa.text("created_at DESC")], schema=SCHEMA
    )
    op.create_index("ix_leads_org_run", "leads", ["org_id", "search_run_id"], schema=SCHEMA)
    op.execute(
        f"CREATE INDEX ix_leads_search_text_trgm ON {SCHEMA}.leads USING gin (search_text extensions.gin_trgm_ops)"
    )
    op.create_table(
        "enrichment_runs",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("org_id", UUID(as_uuid=True), nullable=False),
        sa.Column(
            "lead_id", UUID(as_uuid=True), sa.ForeignKey(f"{SCHEMA}.leads.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("job_id", UUID(as_uuid=True), nullable=False),
        sa.Column("provider", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False, server_default="queued"),
        sa.Column("fields", JSONB),
        sa.Column("error", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=now),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=now),
        schema=SCHEMA,
    )
    op.create_index("ix_enrichment_runs_lead_id", "enrichment_runs", ["lead_id", "created_at"], schema=SCHEMA)
    op.create_table(
        "source_batches",
        sa.Column("org_id", UUID(as_uuid=True), nullable=False),
        sa.Column("search_run_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("batch", sa.Integer, primary_key=True),
        sa.Column("diagnostics", JSONB, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=now),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_table("source_batches", schema=SCHEMA)
    op.drop_table("enrichment_runs", schema=SCHEMA)
    op.execute(f"DROP INDEX {SCHEMA}.ix_leads_search_text_trgm")
    for name in (
        "ix_leads_org_run",
        "ix_leads_org_icp_created",
        "ix_leads_org_last_name",
        "ix_leads_org_score",
        "ix_leads_org_created",
        "uq_leads_org_id_source_external_id_no_email",
    ):
        op.drop_index(name, table_name="leads", schema=SCHEMA)
    for name in (
        "search_text",
        "edited_fields",
        "company_size",
        "filtered",
        "score_explanation",
        "score",
        "search_run_id",
        "icp_id",
        "external_id",
        *TEXT_COLUMNS,
    ):
        op.drop_column("leads", name, schema=SCHEMA)
    op.alter_column("leads", "email", nullable=False, schema=SCHEMA)
