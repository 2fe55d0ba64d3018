"""The runs service's background jobs: sourcing a run (its leads' actions are drained by runs.drain)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.icp.v1 import icp_pb2_grpc
from leadflood.inbox.v1 import inbox_pb2_grpc, stats_pb2_grpc
from leadflood.leads.v1 import leads_pb2_grpc
from leadflood.runs.v1 import jobs_pb2
from leadflood.sequences.v1 import sequences_pb2_grpc
from leadflood_platform import context, grpc_client
from leadflood_platform.jobs import JobKind, JobStopped
from leadflood_platform.server import Runtime
from runs import finishing, sourcing
from runs.contacts import Contacts
from runs.models import FAILED, RUNNING, LeadRun


class SourceRun(JobKind[jobs_pb2.SourceRunJob, sourcing.Sourced]):
    """`runs.source`: search the run's ICP, take its best-scored leads (up to the run's limit) and queue
    each one's actions. Run again (a retry, a redelivery), the leads queued already are not queued twice."""

    type = "runs.source"
    message_type = jobs_pb2.SourceRunJob

    def __init__(self, *, db: Any, sourcer: sourcing.Sourcer, window: int) -> None:
        self.db, self.sourcer, self.window = db, sourcer, window

    async def perform(self, job: jobs_pb2.SourceRunJob, attempt: int) -> sourcing.Sourced:
        async with self.db.transaction() as session:
            run = (await session.execute(select(LeadRun).where(LeadRun.id == uuid.UUID(job.run_id)))).scalar_one()
        if run.state != RUNNING:
            raise JobStopped(f"the run is {run.state}")
        with context.bound(org_id=job.org_id):  # the icp and leads services scope every call by it
            return await self.sourcer.source(run)

    async def apply(self, session: AsyncSession, job: jobs_pb2.SourceRunJob, found: sourcing.Sourced) -> dict[str, Any]:
        return await sourcing.record(session, uuid.UUID(job.run_id), found, window=self.window)

    async def on_failure(self, session: AsyncSession, job: jobs_pb2.SourceRunJob, error: str) -> None:
        run = (
            await session.execute(select(LeadRun).where(LeadRun.id == uuid.UUID(job.run_id)).with_for_update())
        ).scalar_one_or_none()
        if run is not None and run.state == RUNNING:
            await finishing.finish(session, run, FAILED, error=f"sourcing failed: {error}")


def contacts(settings: Any, peer: Any) -> Contacts:
    """Who the org is already talking to, asked of the sequences service and the mail room."""
    inbox = peer("inbox", settings.inbox_call_timeout_s)
    return Contacts(
        sequences=sequences_pb2_grpc.SequencesServiceStub(peer("sequences", settings.sequences_call_timeout_s)),
        threads=inbox_pb2_grpc.InboxServiceStub(inbox),
        messages=stats_pb2_grpc.InboxStatsServiceStub(inbox),
        timeout_s=max(settings.sequences_call_timeout_s, settings.inbox_call_timeout_s),
    )


def job_kinds(runtime: Runtime) -> list[JobKind[Any, Any]]:
    """The jobs the worker process runs, each built with what it needs from the runtime."""
    settings = runtime.settings

    def peer(name: str, timeout_s: float) -> Any:
        return grpc_client.channel(settings.grpc_target(name), timeout_s=timeout_s)

    sourcer = sourcing.Sourcer(
        icp=icp_pb2_grpc.IcpServiceStub(peer("icp", settings.icp_call_timeout_s)),
        leads=leads_pb2_grpc.LeadsServiceStub(peer("leads", settings.leads_call_timeout_s)),
        contacts=contacts(settings, peer),
        call_timeout_s=settings.icp_call_timeout_s,
        search_timeout_s=settings.source_search_timeout_s,
    )
    return [SourceRun(db=runtime.db, sourcer=sourcer, window=settings.lead_runs_batch_size)]
