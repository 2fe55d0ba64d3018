"""The server interceptor and client channel, over a real in-process gRPC server (the jobs contract)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import grpc
import pytest
from grpc_status import rpc_status
from sqlalchemy import text

from devstack.stack import Stack
from leadflood.jobs.v1 import jobs_pb2, jobs_pb2_grpc
from leadflood_platform import context, grpc_client
from leadflood_platform.db import Database
from leadflood_platform.errors import MAX_MESSAGE, InvalidArgument, NotFound, field_violations
from leadflood_platform.interceptors import ContextAndErrors, Identities
from tests import internal_identity


class Probe(jobs_pb2_grpc.JobsServiceServicer):
    """Answers with what it saw, or fails the way the request's job id asks."""

    def __init__(self, db: Database) -> None:
        self.db, self.calls = db, 0

    async def GetJob(self, request, ctx):  # type: ignore[no-untyped-def]
        if request.job_id == "invalid":
            raise InvalidArgument.on("job_id", "is malformed")
        path, _, statement = request.job_id.partition(":")
        if path == "sql":  # a statement PostgreSQL refuses, as a service's would be
            async with self.db.transaction() as session:
                await session.execute(text(statement), {"value": "a\x00b"})
        if path == "driver-sql":  # the same on the hot paths' bare asyncpg connection
            async with self.db.driver(transaction=True) as driver:
                await driver.execute(statement.replace(":value", "$1"), *(["a\x00b"] if ":value" in statement else []))
        self.calls += 1
        if path == "lost":  # PostgreSQL ends this connection mid-call, as a restart would
            async with self.db.transaction() as session:
                await session.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))
        if path == "driver-lost":
            async with self.db.driver(transaction=True) as driver:
                await driver.execute("SELECT pg_terminate_backend(pg_backend_pid())")
        if request.job_id == "huge":
            raise NotFound("job " + "a" * 20_000 + " not found")
        if request.job_id == "crash":
            raise RuntimeError("secret internals")
        if request.job_id == "slow":
            await asyncio.sleep(2)
        seen = context.current()
        return jobs_pb2.GetJobResponse(job=jobs_pb2.Job(id=seen.get("org_id", ""), type=seen.get("request_id", "")))


@pytest.fixture
async def probe(stack: Stack) -> AsyncIterator[Probe]:
    assert stack.postgres is not None
    db = Database(stack.postgres.admin_dsn(), pool_size=1)
    yield Probe(db)
    await db.close()


@pytest.fixture
async def stub(probe: Probe) -> AsyncIterator[jobs_pb2_grpc.JobsServiceStub]:
    server = grpc.aio.server(interceptors=[Identities("jobs", internal_identity.verifier()), ContextAndErrors()])
    jobs_pb2_grpc.add_JobsServiceServicer_to_server(probe, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    channel = grpc_client.channel(f"127.0.0.1:{port}", timeout_s=0.5)
    yield jobs_pb2_grpc.JobsServiceStub(channel)
    await channel.close()
    await server.stop(None)


async def test_context_travels_with_the_call(stub: jobs_pb2_grpc.JobsServiceStub) -> None:
    org = str(uuid.uuid4())
    with context.bound(org_id=org, request_id="req-9"):
        reply = await stub.GetJob(jobs_pb2.GetJobRequest(job_id="x"))
    assert (reply.job.id, reply.job.type) == (org, "req-9")


async def test_domain_error_is_its_code_with_field_details(stub: jobs_pb2_grpc.JobsServiceStub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.GetJob(jobs_pb2.GetJobRequest(job_id="invalid"))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in field_violations(rpc_status.from_call(caught.value))] == ["job_id"]


async def test_unexpected_error_is_internal_without_its_message(stub: jobs_pb2_grpc.JobsServiceStub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.GetJob(jobs_pb2.GetJobRequest(job_id="crash"))
    assert caught.value.code() == grpc.StatusCode.INTERNAL
    assert "secret" not in (caught.value.details() or "")


async def test_every_call_gets_the_default_deadline(stub: jobs_pb2_grpc.JobsServiceStub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.GetJob(jobs_pb2.GetJobRequest(job_id="slow"))
    assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED


async def test_a_huge_message_is_cut_short_not_turned_into_an_internal_error(
    stub: jobs_pb2_grpc.JobsServiceStub,
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.GetJob(jobs_pb2.GetJobRequest(job_id="huge"))
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    assert len(caught.value.details() or "") == MAX_MESSAGE


@pytest.mark.parametrize("path", ["sql", "driver-sql"])
@pytest.mark.parametrize(
    "statement",
    ["SELECT CAST(:value AS text)", "SELECT CAST('12x' AS int)", "SELECT CAST(3000000000 AS int)"],
)
async def test_a_value_postgresql_refuses_is_invalid_argument(
    stub: jobs_pb2_grpc.JobsServiceStub, path: str, statement: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.GetJob(jobs_pb2.GetJobRequest(job_id=f"{path}:{statement}"))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (caught.value.details() or "").startswith("a value cannot be stored: ")


@pytest.mark.parametrize("path", ["sql", "driver-sql"])
async def test_a_database_fault_of_ours_stays_internal(stub: jobs_pb2_grpc.JobsServiceStub, path: str) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.GetJob(jobs_pb2.GetJobRequest(job_id=f"{path}:SELECT 1 / 0"))
    assert caught.value.code() == grpc.StatusCode.INTERNAL


@pytest.mark.parametrize("path", ["sql", "driver-sql"])
@pytest.mark.parametrize("sqlstate", ["40P01", "40001"])  # deadlock detected, serialization failure
async def test_a_transaction_undone_by_a_concurrent_one_is_aborted(
    stub: jobs_pb2_grpc.JobsServiceStub, path: str, sqlstate: str
) -> None:
    raised = f"DO $$ BEGIN RAISE EXCEPTION 'concurrent' USING ERRCODE = '{sqlstate}'; END $$"
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.GetJob(jobs_pb2.GetJobRequest(job_id=f"{path}:{raised}"))
    assert caught.value.code() == grpc.StatusCode.ABORTED  # the gateway's 409: send it again
    assert "try again" in (caught.value.details() or "")


@pytest.mark.parametrize("path", ["lost", "driver-lost"])
async def test_a_lost_database_connection_is_unavailable_and_the_client_retries(
    stub: jobs_pb2_grpc.JobsServiceStub, probe: Probe, path: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.GetJob(jobs_pb2.GetJobRequest(job_id=path), timeout=10)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    assert probe.calls == 4  # the channel's retry policy tried again, each time on a fresh connection
    # The pool (of one) dropped each dead connection: the next call is served on a fresh one.
    await stub.GetJob(jobs_pb2.GetJobRequest(job_id="driver-sql:SELECT 1"), timeout=10)
    assert probe.calls == 5
