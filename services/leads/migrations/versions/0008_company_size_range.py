"""A company's size as a range (a provider's "51-200"): the range's upper end beside company_size.

Revision ID: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
SCHEMA = "leads"


def upgrade() -> None:
    op.add_column("leads", sa.Column("company_size_max", sa.Integer, nullable=True), schema=SCHEMA)


def downgrade() -> None:
    op.drop_column("leads", "company_size_max", schema=SCHEMA)
