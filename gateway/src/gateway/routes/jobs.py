"""GET /v1/jobs/{id}: a job from the service that owns it, which its id names; GET /v1/jobs: every service's, merged."""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from google.protobuf import timestamp_pb2
from google.protobuf.json_format import MessageToDict
from pydantic import Field

from gateway.auth import Principal
from gateway.deps import principal
from gateway.problems import Problem
from gateway.routes.schemas import CursorPage, Reply, Timestamps, documents, enum_word
from leadflood.jobs.v1 import jobs_pb2
from leadflood_platform import job_pages
from leadflood_platform.errors import InvalidArgument, NotFound, quoted
from leadflood_platform.jobs import parse_public_id

router = APIRouter()


class Job(Reply):
    id: str = Field(description="`<service>:<id>`: the service that runs it")
    type: str = Field(description="The job's kind, e.g. `leads.enrich`")
    status: Literal["unspecified", "queued", "running", "completed", "failed"]
    attempts: int
    max_attempts: int
    error: str | None = Field(description="The last attempt's error")
    payload: dict[str, Any]
    result: dict[str, Any] | None
    created_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None


class JobList(CursorPage):
    jobs: list[Job] = Field(description="Newest first (jobs created in the same microsecond: by id)")
    unavailable: list[str] = Field(
        description="Services that did not answer: their jobs are missing from the page, and `total` leaves them out"
    )


def job_json(job: jobs_pb2.Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "type": job.type,
        "status": enum_word(job.status, jobs_pb2.JobStatus, "JOB_STATUS_"),
        "attempts": job.attempts,
        "maxAttempts": job.max_attempts,
        "error": job.error or None,
        "payload": MessageToDict(job.payload),
        "result": MessageToDict(job.result) if job.HasField("result") else None,
        **Timestamps.of(job, "created_at", "started_at", "finished_at"),
    }


def _owner(request: Request, job_id: str) -> Any:
    """The jobs stub of the service the job's id names; 404 when no registered service has that name."""
    owner, _ = parse_public_id(job_id)
    stub = request.app.state.services.jobs.get(owner)
    if stub is None:
        raise Problem(404, f"job {quoted(job_id)} not found: no service {quoted(owner)} runs jobs")
    return stub


@router.get("/v1/jobs/{job_id}", **documents(Job))
async def get_job(job_id: str, request: Request, who: Annotated[Principal, Depends(principal)]) -> dict[str, Any]:
    """One call, to the service the id names: a service that is down affects its own jobs only."""
    reply = await _owner(request, job_id).GetJob(jobs_pb2.GetJobRequest(job_id=job_id))
    return job_json(reply.job)


def _cursor(last: jobs_pb2.Job) -> str:
    """The next page starts after the last job shown: its creation and id, which every service pages on from."""
    raw = json.dumps([last.created_at.seconds, last.created_at.nanos, last.id])
    return base64.urlsafe_b64encode(raw.encode()).decode()


def _after(cursor: str) -> tuple[timestamp_pb2.Timestamp, str]:
    try:
        seconds, nanos, job_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        parse_public_id(str(job_id))
        at = timestamp_pb2.Timestamp(seconds=seconds, nanos=nanos)
        at.ToDatetime()  # a moment a datetime can hold, as the services read it
        return at, job_id
    except (ValueError, TypeError, OverflowError, NotFound):
        raise InvalidArgument.on("cursor", "is not a cursor this list gave") from None


async def _ask_every_service(
    request: Request, ask: jobs_pb2.ListJobsRequest
) -> tuple[list[jobs_pb2.ListJobsResponse], list[str]]:
    """Every service's answer to `ask`, at once: the answers, and the services that did not answer."""
    stubs = request.app.state.services.jobs
    replies = await asyncio.gather(*(stub.ListJobs(ask) for stub in stubs.values()), return_exceptions=True)
    answered = [reply for reply in replies if isinstance(reply, jobs_pb2.ListJobsResponse)]
    down = [name for name, reply in zip(stubs, replies, strict=True) if isinstance(reply, BaseException)]
    return answered, down


@router.get("/v1/jobs", **documents(JobList))
async def list_jobs(
    request: Request,
    who: Annotated[Principal, Depends(principal)],
    status: Literal["", "queued", "running", "completed", "failed"] = "",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str, Query(max_length=500)] = "",
) -> dict[str, Any]:
    """Jobs of every service, newest first, a page at a time; `status=failed` lists the dead letters. The first
    page counts them (`total`, the services' counts added up). A service that does not answer is named in
    `unavailable`: the others' jobs are still listed, and the total leaves its jobs out."""
    ask = jobs_pb2.ListJobsRequest(
        status=jobs_pb2.JobStatus.Value(f"JOB_STATUS_{status.upper()}") if status else 0,
        page_size=limit,
        with_total=not cursor,
    )
    if cursor:
        before, ask.before_id = _after(cursor)
        ask.before.CopyFrom(before)
    # Each service's first `limit` jobs after the cursor, merged: the next page starts after the last one shown.
    answered, down = await _ask_every_service(request, ask)
    shown, more = job_pages.merge(answered, limit)
    total, capped = job_pages.summed(answered) if not cursor else (None, False)  # the answering services' only
    return {
        "jobs": [job_json(job) for job in shown],
        "nextCursor": _cursor(shown[-1]) if more and shown else None,
        "unavailable": down,
        "total": total,
        "totalCapped": capped,
    }


async def dead_letters(request: Request) -> int:
    """The org's dead letters in every service that answers, as the dead-letter list's first page counts them:
    the dashboard's and the queue health's figure, so the three agree."""
    ask = jobs_pb2.ListJobsRequest(status=jobs_pb2.JOB_STATUS_FAILED, page_size=1, with_total=True)
    answered, _ = await _ask_every_service(request, ask)
    total, _ = job_pages.summed(answered)
    return total


@router.post("/v1/jobs/{job_id}/replay", status_code=202, **documents(Job, 202))
async def replay_job(job_id: str, request: Request, who: Annotated[Principal, Depends(principal)]) -> dict[str, Any]:
    """A dead letter queued again with its first message; its kind's own idempotency makes a second replay harmless."""
    reply = await _owner(request, job_id).ReplayJob(jobs_pb2.ReplayJobRequest(job_id=job_id))
    return job_json(reply.job)
