"""The sequences service's background jobs: enrolling every lead a filter matches, page by page."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import grpc

from leadflood.leads.v1 import leads_pb2_grpc
from leadflood.sequences.v1 import jobs_pb2
from leadflood_platform import context, grpc_client, job_progress
from leadflood_platform.db import Database
from leadflood_platform.errors import InvalidArgument
from leadflood_platform.jobs import JobKind, JobStopped
from leadflood_platform.server import Runtime
from sequences import service
from sequences.lead_directory import matching_pages
from sequences.models import platform_tables

PAGE = 500
# A filter matching more than this is refused before anything is enrolled (split it, or narrow it).
MAX_MATCHED = 100_000


class EnrollByFilter(JobKind[jobs_pb2.EnrollByFilterJob, dict[str, int]]):
    """`sequences.enroll`: every lead the lead list's filter matches, enrolled a page at a time, its progress
    in the job's result as it goes. Run again (a retry, a redelivery), the leads enrolled already are
    skipped as such: enrolling is idempotent per (sequence, lead), and a job that enrolls again
    (`reenroll`) does so only for leads whose last enrollment was made before it was asked for."""

    type = "sequences.enroll"
    message_type = jobs_pb2.EnrollByFilterJob

    def __init__(self, *, db: Database, leads: leads_pb2_grpc.LeadsServiceStub, timeout_s: float) -> None:
        self.db, self.leads, self.timeout_s = db, leads, timeout_s

    async def perform(self, job: jobs_pb2.EnrollByFilterJob, attempt: int) -> dict[str, int]:
        org_id, sequence_id = uuid.UUID(job.org_id), uuid.UUID(job.sequence_id)
        # The skipped by why: still in the sequence, or went through it before (and not enrolled again).
        counts = {"seen": 0, "enrolled": 0, "skipped": 0, "alreadyEnrolled": 0, "wentThrough": 0}
        with context.bound(org_id=job.org_id):  # the leads service scopes the list by it
            try:
                async for page in matching_pages(self.leads, job.filter, page_size=PAGE, timeout_s=self.timeout_s):
                    if counts["seen"] + len(page) > MAX_MATCHED:
                        raise JobStopped(f"the filter matches more than {MAX_MATCHED:,} leads: narrow it")
                    async with self.db.transaction() as session:
                        enrolled, skipped = await service.enroll_ids(
                            session=session, org_id=org_id, sequence_id=sequence_id,
                            lead_ids=[lead for lead, _ in page], now=service.utcnow(),
                            zones={lead: zone for lead, zone in page}, reenroll=job.reenroll,
                            reenroll_before=job.requested_at.ToDatetime(dt.UTC) if job.reenroll else None,
                        )  # fmt: skip
                    counts["seen"] += len(page)
                    counts["enrolled"] += len(enrolled)
                    counts["skipped"] += len(skipped)
                    counts["alreadyEnrolled"] += sum(s.reason == service.ALREADY_ENROLLED for s in skipped)
                    counts["wentThrough"] += sum(s.reason.startswith(service.WENT_THROUGH) for s in skipped)
                    await job_progress.report(self.db, platform_tables, job.job_id, counts)
            except grpc.aio.AioRpcError as error:
                if error.code() == grpc.StatusCode.INVALID_ARGUMENT:  # the filter itself: retrying cannot help
                    raise JobStopped(f"the filter was refused: {error.details()}") from None
                raise
            except InvalidArgument as refused:
                raise JobStopped(refused.message) from None
        return counts

    async def apply(self, session: Any, job: jobs_pb2.EnrollByFilterJob, counts: dict[str, int]) -> dict[str, Any]:
        return {"sequenceId": job.sequence_id, **counts, "done": True}


def job_kinds(runtime: Runtime) -> list[JobKind[Any, Any]]:
    """The jobs the worker process runs, each built with what it needs from the runtime."""
    settings = runtime.settings
    channel = grpc_client.channel(settings.grpc_target("leads"), timeout_s=settings.grpc_call_timeout_s)
    timeout_s = getattr(settings, "leads_call_timeout_s", settings.grpc_call_timeout_s)
    return [EnrollByFilter(db=runtime.db, leads=leads_pb2_grpc.LeadsServiceStub(channel), timeout_s=timeout_s)]
