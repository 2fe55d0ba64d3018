"""leadflood.jobs.v1.JobsService over a service's own job_executions table: the jobs it owns, by their public ids."""

from __future__ import annotations

import datetime as dt

from leadflood.jobs.v1 import jobs_pb2, jobs_pb2_grpc
from leadflood_platform import context, job_pages
from leadflood_platform import jobs as job_store
from leadflood_platform.convert import struct, timestamp
from leadflood_platform.db import Database
from leadflood_platform.errors import InvalidArgument, NotFound, quoted
from leadflood_platform.tables import PlatformTables

STATUS = {
    "queued": jobs_pb2.JOB_STATUS_QUEUED,
    "running": jobs_pb2.JOB_STATUS_RUNNING,
    "completed": jobs_pb2.JOB_STATUS_COMPLETED,
    "failed": jobs_pb2.JOB_STATUS_FAILED,
}
NAME = {value: name for name, value in STATUS.items()}


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
        return jobs_pb2.GetJobResponse(job=self._job(row))

    async def ListJobs(self, request: jobs_pb2.ListJobsRequest, ctx) -> jobs_pb2.ListJobsResponse:  # type: ignore[no-untyped-def]
        status, org_id = NAME.get(request.status, ""), context.require_org()
        after = None
        if request.HasField("before"):
            after = job_pages.After(request.before.ToDatetime(tzinfo=dt.UTC), request.before_id)
        elif request.before_id:
            raise InvalidArgument.on("before_id", "needs `before`, the job's created_at")
        async with self.db.snapshot() as session:
            rows, more = await job_pages.page(
                session, self.tables, org_id=org_id, status=status, size=request.page_size or 50, after=after
            )
            reply = jobs_pb2.ListJobsResponse(jobs=[self._job(row) for row in rows], has_more=more)
            # Counted on the first page only: "Load more" keeps the total it was shown.
            if request.with_total and after is None:
                reply.total, reply.total_capped = await job_pages.total(
                    session, self.tables, org_id=org_id, status=status
                )
        return reply

    async def ReplayJob(self, request: jobs_pb2.ReplayJobRequest, ctx) -> jobs_pb2.ReplayJobResponse:  # type: ignore[no-untyped-def]
        owner, job_id = job_store.parse_public_id(request.job_id)
        if owner != self.tables.schema:
            raise NotFound(f"job {quoted(request.job_id)} not found")
        async with self.db.transaction() as session:
            row = await job_store.replay(session, self.tables, job_id=job_id, org_id=context.require_org())
        return jobs_pb2.ReplayJobResponse(job=self._job(row))

    def _job(self, row) -> jobs_pb2.Job:  # type: ignore[no-untyped-def]
        return jobs_pb2.Job(
            id=job_store.public_id(self.tables.schema, row.id),
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
