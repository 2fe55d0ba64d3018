"""The icp service's background jobs: a search run, from the first page to the last."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from icp import events
from icp.models import SearchRun
from icp.search import SearchRunner
from leadflood.icp.v1 import jobs_pb2
from leadflood_platform.jobs import JobKind, JobStopped


async def _set_run(session: AsyncSession, message: jobs_pb2.SearchJob, **values: Any) -> None:
    """The run's status, and icp.search_run.changed with it (a run deleted meanwhile announces nothing).

    A cancelled run stays cancelled: the job that ends after the cancel (stopped, or its last page already
    in flight) does not undo what the user was told.
    """
    icp_id = await session.scalar(
        update(SearchRun)
        .where(SearchRun.id == uuid.UUID(message.run_id), SearchRun.status != "cancelled")
        .values(**values)
        .returning(SearchRun.icp_id)
    )
    if icp_id is not None:
        await events.search_run_changed(
            session, org_id=message.org_id, run_id=message.run_id, icp_id=icp_id, status=values["status"]
        )


class RunSearch(JobKind[jobs_pb2.SearchJob, None]):
    """`icp.search`: runs a search run to its end, resuming where an earlier attempt stopped.

    The run's status mirrors the job's (see JobKind): running from the first attempt, then completed
    or failed with the job; or cancelled by a user, when the job stops at its next page (JobStopped).
    """

    type = "icp.search"
    message_type = jobs_pb2.SearchJob

    def __init__(self, runner: SearchRunner) -> None:
        self.runner = runner

    async def perform(self, message: jobs_pb2.SearchJob, attempt: int) -> None:
        await self.runner.run(message, attempt)

    async def apply(self, session: AsyncSession, message: jobs_pb2.SearchJob, outcome: None) -> dict[str, Any]:
        await _set_run(session, message, status="completed", error=None, finished_at=func.now())
        run = await session.get(SearchRun, uuid.UUID(message.run_id))
        return {"runId": message.run_id, "diagnostics": run.diagnostics if run else {}}

    async def on_start(self, session: AsyncSession, message: jobs_pb2.SearchJob) -> None:
        status = await session.scalar(select(SearchRun.status).where(SearchRun.id == uuid.UUID(message.run_id)))
        if status == "cancelled":  # cancelled while queued: nothing to start
            raise JobStopped("stopped: the search run was cancelled")
        await _set_run(session, message, status="running", started_at=func.coalesce(SearchRun.started_at, func.now()))

    async def on_failure(self, session: AsyncSession, message: jobs_pb2.SearchJob, error: str) -> None:
        await _set_run(session, message, status="failed", error=error, finished_at=func.now())
