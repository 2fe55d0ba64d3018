"""GET /v1/jobs/{id}: asks every service for the job, since each owns its own jobs."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import grpc
from fastapi import APIRouter, Depends, Request
from google.protobuf.json_format import MessageToDict

from gateway.auth import Principal
from gateway.deps import principal
from gateway.problems import Problem
from gateway.routes.schemas import Timestamps, enum_word
from leadflood.jobs.v1 import jobs_pb2
from leadflood_platform.errors import quoted

router = APIRouter()


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


@router.get("/v1/jobs/{job_id}")
async def get_job(job_id: str, request: Request, who: Annotated[Principal, Depends(principal)]) -> dict[str, Any]:
    stubs = request.app.state.services.jobs
    replies = await asyncio.gather(
        *(stub.GetJob(jobs_pb2.GetJobRequest(job_id=job_id)) for stub in stubs.values()),
        return_exceptions=True,
    )
    for reply in replies:
        if isinstance(reply, jobs_pb2.GetJobResponse):
            return job_json(reply.job)
    down = [
        name
        for name, reply in zip(stubs, replies, strict=True)
        if isinstance(reply, grpc.aio.AioRpcError) and reply.code() != grpc.StatusCode.NOT_FOUND
    ]
    if down:
        raise Problem(503, f"could not ask every service for the job; unavailable: {', '.join(down)}")
    raise Problem(404, f"job {quoted(job_id)} not found")
