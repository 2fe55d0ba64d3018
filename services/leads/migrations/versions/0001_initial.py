"""Leads, and the platform's outbox and job executions.

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

from leadflood_platform.tables import PlatformTables

revision = "0001"
down_revision = None
SCHEMA = "leads"


def upgrade() -> None:
    op.create_table(
        "leads",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("org_id", UUID(as_uuid=True), nullable=False),
        sa.Column("email", sa.Text, nullable=False),
        sa.Column("first_name", sa.Text, nullable=False),
        sa.Column("last_name", sa.Text, nullable=False),
        sa.Column("company_name", sa.Text, nullable=False, server_default=""),
        sa.Column("title", sa.Text, nullable=False, server_default=""),
        sa.Column("source", sa.Text, nullable=False, server_default="manual"),
        sa.Column("status", sa.Text, nullable=False, server_default="new"),
        sa.Column("error", sa.Text),
        sa.Column("enrichment", JSONB),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("org_id", "email", name="uq_leads_org_id_email"),
        sa.CheckConstraint("status in ('new','processing','enriched','failed')", name="ck_leads_status"),
        schema=SCHEMA,
    )
    PlatformTables(sa.MetaData(schema=SCHEMA)).create_v1(op.get_bind())


def downgrade() -> None:
    for table in ("job_executions", "outbox", "leads"):
        op.drop_table(table, schema=SCHEMA)
