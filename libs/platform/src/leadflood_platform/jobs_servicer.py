"""leadflood.jobs.v1.JobsService over a service's own job_executions table: the jobs it owns, by their public ids."""

from __future__ import annotations

from leadflood.jobs.v1 import jobs_pb2, jobs_pb2_grpc
from leadflood_platform import context
from leadflood_platform import jobs as job_store
from leadflood_platform.convert import struct, timestamp
from leadflood_platform.db import Database
from leadflood_platform.errors import NotFound, quoted
from leadflood_platform.tables import PlatformTables

STATUS = {
    "queued": jobs_pb2.JOB_STATUS_QUEUED,
    "running": jobs_pb2.JOB_STATUS_RUNNING,
    "completed": jobs_pb2.JOB_STATUS_COMPLETED,
    "failed": jobs_pb2.JOB_STATUS_FAILED,
}


class JobsServicer(jobs_pb2_grpc.JobsServiceServicer):
    def __init__(self, db: Database, tables: PlatformTables) -> None:
        self.db, self.tables = db, tables

    async def GetJob(self, request: jobs_pb2.GetJobRequest, ctx) -> jobs_pb2.GetJobResponse:  # type: ignore[no-untyped-def]
        owner, job_id = job_store.parse_public_id(request.job_id)
        row = None
        if owner == self.tables.schema:  # another service's job is not here
            async with self.db.transaction() as session:
                row = await job_store.get(session, self.tables, job_id=job_id, org_id=context.require_org())
        if row is None:
            raise NotFound(f"job {quoted(request.job_id)} not found")
        return jobs_pb2.GetJobResponse(
            job=jobs_pb2.Job(
                id=job_store.public_id(owner, row.id),
                type=row.type,
                status=STATUS[row.status],
                attempts=row.attempts,
                max_attempts=row.max_attempts,
                error=row.error or "",
                payload=struct(row.payload),
                result=struct(row.result),
                created_at=timestamp(row.created_at),
                started_at=timestamp(row.started_at),
                finished_at=timestamp(row.finished_at),
            )
        )
