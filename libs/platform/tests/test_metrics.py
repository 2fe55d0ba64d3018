"""The platform's metrics: the server interceptor counts each call by method and the code it ended with; the job
worker each delivery by kind and outcome, the attempt a job ended on, and its consumer's lag; the outbox its
backlog. Calls over a real in-process gRPC server; jobs through real JetStream and PostgreSQL."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import MetaData

from devstack.stack import Stack
from leadflood.jobs.v1 import jobs_pb2, jobs_pb2_grpc
from leadflood_platform import grpc_client, jobs, outbox
from leadflood_platform.bus import JOBS, Bus
from leadflood_platform.db import Database
from leadflood_platform.errors import NotFound
from leadflood_platform.interceptors import ContextAndErrors, Identities, Metrics
from leadflood_platform.jobs import JobKind, JobWorker, RetryableJobError
from leadflood_platform.tables import PlatformTables
from tests import internal_identity

SERVICE = "leadflood.jobs.v1.JobsService"


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


class Probe(jobs_pb2_grpc.JobsServiceServicer):
    async def GetJob(self, request, ctx):  # type: ignore[no-untyped-def]
        if request.job_id == "missing":
            raise NotFound("no such job")
        if request.job_id == "crash":
            raise RuntimeError("internals")
        return jobs_pb2.GetJobResponse()


@pytest.fixture
async def stub() -> AsyncIterator[jobs_pb2_grpc.JobsServiceStub]:
    server = grpc.aio.server(
        interceptors=[Metrics(), Identities("jobs", internal_identity.verifier()), ContextAndErrors()]
    )
    jobs_pb2_grpc.add_JobsServiceServicer_to_server(Probe(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    channel = grpc_client.channel(f"127.0.0.1:{port}", timeout_s=2)
    yield jobs_pb2_grpc.JobsServiceStub(channel)
    await channel.close()
    await server.stop(None)


async def test_each_call_is_counted_by_method_and_the_code_it_ended_with(stub: jobs_pb2_grpc.JobsServiceStub) -> None:
    count = "leadflood_grpc_server_handling_seconds_count"

    def counts() -> dict[str, float]:
        return {code: sample(count, grpc_service=SERVICE, grpc_method="GetJob", grpc_code=code)
                for code in ("OK", "NOT_FOUND", "INTERNAL")}  # fmt: skip

    before = counts()
    await stub.GetJob(jobs_pb2.GetJobRequest(job_id="fine"))
    await stub.GetJob(jobs_pb2.GetJobRequest(job_id="fine"))
    for job_id, code in (("missing", grpc.StatusCode.NOT_FOUND), ("crash", grpc.StatusCode.INTERNAL)):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.GetJob(jobs_pb2.GetJobRequest(job_id=job_id))
        assert refused.value.code() == code
    after = counts()
    assert {code: after[code] - before[code] for code in after} == {"OK": 2, "NOT_FOUND": 1, "INTERNAL": 1}
    took = sample("leadflood_grpc_server_handling_seconds_sum", grpc_service=SERVICE, grpc_method="GetJob",
                  grpc_code="OK")  # fmt: skip
    assert 0 < took < 10


# --- jobs ----------------------------------------------------------------------------------------


class Completes(JobKind[jobs_pb2.GetJobRequest, None]):
    message_type = jobs_pb2.GetJobRequest

    async def perform(self, message: jobs_pb2.GetJobRequest, attempt: int) -> None:
        return None


class Flaky(Completes):
    """A provider's fault on the first attempt, fine on the second."""

    async def perform(self, message: jobs_pb2.GetJobRequest, attempt: int) -> None:
        if attempt == 1:
            raise RetryableJobError("provider 503")


class Refused(Completes):
    async def perform(self, message: jobs_pb2.GetJobRequest, attempt: int) -> None:
        raise ValueError("bad data")


def kinds(tag: str) -> list[JobKind[Any, Any]]:
    """The three kinds under subjects of this test's own (the JOBS stream is a work queue: one consumer each)."""
    made = []
    for base in (Completes, Flaky, Refused):
        made.append(type(base.__name__, (base,), {"type": f"metricstest{tag}.{base.__name__.lower()}"})())
    return made


@pytest.fixture
async def platform(stack: Stack, scratch_dsn: str) -> AsyncIterator[tuple[Database, Bus, PlatformTables]]:
    assert stack.nats is not None
    tables = PlatformTables(MetaData(schema="metrics_test"), version=2)
    db = Database(scratch_dsn, pool_size=4)
    async with db.engine.begin() as conn:
        await conn.exec_driver_sql("CREATE SCHEMA metrics_test")
        await conn.run_sync(tables.outbox.metadata.create_all)
    bus = await Bus.connect(stack.nats.url, name="metrics-test")
    yield db, bus, tables
    await bus.close()
    await db.close()


async def _until(check: Callable[[], Any], timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_job_deliveries_are_counted_by_kind_and_outcome_with_their_attempts(
    platform: tuple[Database, Bus, PlatformTables],
) -> None:
    db, bus, tables = platform
    tag = uuid.uuid4().hex[:8]
    ok, flaky, refused = kinds(tag)
    async with db.transaction() as session:
        for kind in (ok, flaky, refused):
            message = jobs_pb2.GetJobRequest(job_id=kind.type)
            await jobs.enqueue(session, tables, type(kind), message, org_id=uuid.uuid4(), max_attempts=3)
    # And one message no job can be made of (its id is no uuid): poison.
    await bus.publish(ok.subject(), b"\xff", msg_id=f"not-a-job-{tag}")
    assert await outbox.OutboxRelay(db, bus, tables).publish_pending() == 3

    service = f"metricstest{tag}"
    worker = JobWorker(
        service=service, db=db, bus=bus, tables=tables, kinds=[ok, flaky, refused], backoff_ms=[10], ack_wait_ms=2000
    )
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop))
    duration = "leadflood_job_duration_seconds_count"
    try:
        await _until(lambda: sample(duration, kind=flaky.type, outcome="completed") == 1)
        await _until(lambda: sample(duration, kind=ok.type, outcome="poison") == 1)
        await _until(lambda: sample(duration, kind=refused.type, outcome="failed") == 1)
        # Each waited for: the three kinds' consumers run side by side, in no set order.
        await _until(lambda: sample(duration, kind=ok.type, outcome="completed") == 1)
        assert sample(duration, kind=flaky.type, outcome="retried") == 1
        # The attempt a job ended on: the flaky one's second, the others' first; a retry is no end.
        attempts = "leadflood_job_attempts_bucket"
        assert sample(attempts, kind=flaky.type, outcome="completed", le="1.0") == 0
        assert sample(attempts, kind=flaky.type, outcome="completed", le="2.0") == 1
        assert sample(attempts, kind=ok.type, outcome="completed", le="1.0") == 1
        assert sample(attempts, kind=refused.type, outcome="failed", le="1.0") == 1
        assert sample("leadflood_job_attempts_count", kind=flaky.type, outcome="retried") == 0
        # Everything acked: the consumers' queues are empty.
        assert [await worker.measure_queue(kind) for kind in (ok, flaky, refused)] == [(0, 0, 0.0)] * 3
        durable = JobWorker.durable(service, ok)
        assert (
            REGISTRY.get_sample_value("leadflood_jobs_consumer_pending", {"stream": "JOBS", "consumer": durable}) == 0
        )
    finally:
        stop.set()
        await asyncio.wait_for(running, 10)
        for kind in (ok, flaky, refused):
            await bus.js.delete_consumer(JOBS.name, JobWorker.durable(service, kind))


async def test_a_waiting_job_is_the_consumers_lag_and_its_oldest_age(
    platform: tuple[Database, Bus, PlatformTables],
) -> None:
    _, bus, tables = platform
    tag = uuid.uuid4().hex[:8]
    ok = kinds(tag)[0]
    service = f"metricstest{tag}"
    durable = JobWorker.durable(service, ok)
    worker = JobWorker(
        service=service, db=platform[0], bus=bus, tables=tables, kinds=[ok], backoff_ms=[], ack_wait_ms=2000
    )
    # The consumer as a worker makes it, with nobody fetching: what a stalled or scaled-down worker leaves.
    sub = await bus.js.pull_subscribe(ok.subject(), durable=durable, stream=JOBS.name)
    try:
        published = time.time()
        for n in range(3):
            await bus.publish(ok.subject(), b"", msg_id=f"{tag}-{n}")
        (taken,) = await sub.fetch(1, timeout=2)  # delivered, not acked: running
        pending, ack_pending, age = await worker.measure_queue(ok)
        assert (pending, ack_pending) == (2, 1)
        assert 0 < age <= time.time() - published + 1
        labels = {"stream": "JOBS", "consumer": durable}
        assert REGISTRY.get_sample_value("leadflood_jobs_consumer_oldest_pending_age_seconds", labels) == age
        await taken.ack_sync()
        assert (await worker.measure_queue(ok))[:2] == (2, 0)
    finally:
        await sub.unsubscribe()
        await bus.js.delete_consumer(JOBS.name, durable)
        await bus.js.purge_stream(JOBS.name, subject=ok.subject())


async def test_the_outbox_backlog_is_its_unpublished_rows(platform: tuple[Database, Bus, PlatformTables]) -> None:
    db, bus, tables = platform
    relay = outbox.OutboxRelay(db, bus, tables)
    async with db.transaction() as session:
        for _ in range(2):
            await outbox.enqueue(session, tables, subject="leads.metricstest", message=b"", msg_id=uuid.uuid4().hex)
    count, age = await relay.measure_backlog()
    assert count == 2 and 0 <= age < 60
    assert REGISTRY.get_sample_value("leadflood_outbox_backlog", {"service": "metrics_test"}) == 2
    await relay.publish_pending()
    assert await relay.measure_backlog() == (0, 0.0)
    assert REGISTRY.get_sample_value("leadflood_outbox_oldest_age_seconds", {"service": "metrics_test"}) == 0
