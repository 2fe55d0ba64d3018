"""Call tasks other services ask for (a lead run's call-task action): no sequence, enrollment or step, but the
run that asked and the caller's idempotency key, one task per key in the org.

Revision ID: 0008
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0008"
down_revision = "0007"
SCHEMA = "sequences"
MADE_BY = "enrollment_id IS NOT NULL OR key IS NOT NULL"


def upgrade() -> None:
    for column in ("sequence_id", "enrollment_id", "step_id"):
        op.alter_column("tasks", column, nullable=True, schema=SCHEMA)
    op.add_column("tasks", sa.Column("run_id", UUID(as_uuid=True)), schema=SCHEMA)
    op.add_column("tasks", sa.Column("key", sa.Text), schema=SCHEMA)
    op.create_unique_constraint(op.f("uq_tasks_org_id_key"), "tasks", ["org_id", "key"], schema=SCHEMA)
    op.create_check_constraint(op.f("ck_tasks_made_by"), "tasks", MADE_BY, schema=SCHEMA)


def downgrade() -> None:
    # Another service's tasks have nothing to hang on in the older shape.
    op.execute(f"DELETE FROM {SCHEMA}.tasks WHERE enrollment_id IS NULL")
    op.drop_constraint(op.f("ck_tasks_made_by"), "tasks", schema=SCHEMA, type_="check")
    op.drop_constraint(op.f("uq_tasks_org_id_key"), "tasks", schema=SCHEMA, type_="unique")
    op.drop_column("tasks", "key", schema=SCHEMA)
    op.drop_column("tasks", "run_id", schema=SCHEMA)
    for column in ("sequence_id", "enrollment_id", "step_id"):
        op.alter_column("tasks", column, nullable=False, schema=SCHEMA)
