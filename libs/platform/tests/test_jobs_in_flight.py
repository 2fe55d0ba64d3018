"""A job this worker is already working on is not started a second time when JetStream delivers it again."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from leadflood_platform.bus import MSG_ID
from leadflood_platform.jobs import COMPLETED, JobKind, JobWorker


class _Kind(JobKind[Any, Any]):
    type = "test.slow"


def _delivery(job_id: str, number: int) -> SimpleNamespace:
    return SimpleNamespace(
        headers={MSG_ID: job_id}, subject="jobs.test.slow", metadata=SimpleNamespace(num_delivered=number)
    )


async def test_a_second_delivery_of_a_job_in_flight_is_left_to_the_first() -> None:
    worker = JobWorker(service="test", db=None, bus=None, tables=None, kinds=[], backoff_ms=[], ack_wait_ms=1000)  # type: ignore[arg-type]
    started: list[int] = []
    release = asyncio.Event()

    async def process(kind: JobKind[Any, Any], msg: Any) -> str:  # the real one claims, performs and acks
        started.append(msg.metadata.num_delivered)
        await release.wait()
        return COMPLETED

    worker.process = process  # type: ignore[method-assign]
    kind = _Kind()
    first = asyncio.create_task(worker._process_safely(kind, _delivery("job-1", 1)))
    await asyncio.sleep(0)  # the first is in flight
    await worker._process_safely(kind, _delivery("job-1", 2))  # redelivered meanwhile: returns at once
    assert started == [1]
    release.set()
    await first
    await worker._process_safely(kind, _delivery("job-1", 3))  # no longer in flight: a later delivery runs
    assert started == [1, 3]
