"""The platform's own tables inside each service's schema: the outbox and the job executions."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID


class PlatformTables:
    """Declares `outbox` and `job_executions` on a service's metadata, so its migrations create them.

    Versions: v1 (create_v1, each service's first migration), then v2 (add_v2: a job keeps its message,
    so a failed one can be replayed). A service's migrations call each step once, in order.
    """

    def __init__(self, metadata: MetaData, *, version: int = 1) -> None:
        self.schema = metadata.schema or "public"
        # NOTIFY channel the outbox relay listens on; one per service schema.
        self.outbox_channel = f"{self.schema}_outbox"
        self.outbox = Table(
            "outbox",
            metadata,
            Column("id", BigInteger, primary_key=True, autoincrement=True),
            Column("subject", Text, nullable=False),
            Column("msg_id", Text, nullable=False, unique=True),
            Column("payload", LargeBinary, nullable=False),
            Column("headers", JSONB, nullable=False, server_default="{}"),
            Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        )
        self.jobs = Table(
            "job_executions",
            metadata,
            Column("id", UUID(as_uuid=True), primary_key=True),
            Column("org_id", UUID(as_uuid=True), nullable=False),
            Column("type", Text, nullable=False),
            Column("status", Text, nullable=False, server_default="queued"),
            Column("attempts", Integer, nullable=False, server_default="0"),
            Column("max_attempts", Integer, nullable=False),
            Column("payload", JSONB, nullable=False),
            Column("result", JSONB),
            Column("error", Text),
            Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
            Column("started_at", DateTime(timezone=True)),
            Column("finished_at", DateTime(timezone=True)),
            Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
            Index(None, "org_id", "created_at"),
            # v2: the job's message as it was sent (replaying a failed job sends it again).
            *([Column("message", LargeBinary)] if version >= 2 else []),
        )

    def create_v1(self, connection) -> None:  # type: ignore[no-untyped-def]
        """Used by each service's first migration. Frozen: later changes are steps of their own (add_v2)."""
        v1 = PlatformTables(MetaData(schema=self.schema), version=1)
        v1.outbox.create(connection)
        v1.jobs.create(connection)

    @staticmethod
    def add_v2(schema: str) -> None:
        """A service's migration after create_v1: job_executions keeps each job's message."""
        from alembic import op

        op.add_column("job_executions", Column("message", LargeBinary), schema=schema)
