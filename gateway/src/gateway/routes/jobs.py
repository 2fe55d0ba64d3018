"""GET /v1/jobs/{id}: a job from the service that owns it, which its id names."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from google.protobuf.json_format import MessageToDict
from pydantic import Field

from gateway.auth import Principal
from gateway.deps import principal
from gateway.problems import Problem
from gateway.routes.schemas import Reply, Timestamps, documents, enum_word
from leadflood.jobs.v1 import jobs_pb2
from leadflood_platform.errors import quoted
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


class JobList(Reply):
    jobs: list[Job] = Field(description="Newest first")
    unavailable: list[str] = Field(description="Services that did not answer: their jobs are missing")


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


@router.get("/v1/jobs", **documents(JobList))
async def list_jobs(
    request: Request,
    who: Annotated[Principal, Depends(principal)],
    status: Literal["", "queued", "running", "completed", "failed"] = "",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    """Jobs of every service, newest first; `status=failed` lists the dead letters. A service that does not
    answer is named in `unavailable`, and the others' jobs are still listed."""
    stubs = request.app.state.services.jobs
    wanted = jobs_pb2.JobStatus.Value(f"JOB_STATUS_{status.upper()}") if status else 0
    replies = await asyncio.gather(
        *(stub.ListJobs(jobs_pb2.ListJobsRequest(status=wanted, page_size=limit)) for stub in stubs.values()),
        return_exceptions=True,
    )
    found = [job for reply in replies if isinstance(reply, jobs_pb2.ListJobsResponse) for job in reply.jobs]
    found.sort(key=lambda job: (job.created_at.seconds, job.created_at.nanos), reverse=True)
    down = [
        name for name, reply in zip(stubs, replies, strict=True) if not isinstance(reply, jobs_pb2.ListJobsResponse)
    ]
    return {"jobs": [job_json(job) for job in found[:limit]], "unavailable": down}


@router.post("/v1/jobs/{job_id}/replay", status_code=202, **documents(Job, 202))
async def replay_job(job_id: str, request: Request, who: Annotated[Principal, Depends(principal)]) -> dict[str, Any]:
    """A dead letter queued again with its first message; its kind's own idempotency makes a second replay harmless."""
    reply = await _owner(request, job_id).ReplayJob(jobs_pb2.ReplayJobRequest(job_id=job_id))
    return job_json(reply.job)
