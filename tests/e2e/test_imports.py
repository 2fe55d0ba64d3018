"""A CSV import is written whole or not at all: a file refused or cut off part-way leaves no leads behind.

Through the gateway (a file over the row limit) and straight at the leads service's ImportLeads stream
(a stream cancelled part-way, a stream over the service's own row limit), each in an org of its own or
with rows of its own, so "nothing written" is a list that is empty.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator

import asyncpg
import grpc
import httpx
import pytest

from devstack.stack import Stack
from leadflood.leads.v1 import leads_pb2, leads_pb2_grpc
from leadflood_platform import identity
from tests.e2e.helpers import assert_problem
from tests.e2e.test_search_runs import all_leads

ROW_LIMIT = 100_000  # the gateway's and the leads service's


def _rows(tag: str, first: int, count: int) -> list[leads_pb2.ImportRow]:
    return [
        leads_pb2.ImportRow(line=n + 2, email=f"row{n}.{tag}@imports.example", first_name="Imp", last_name=f"N{n}")
        for n in range(first, first + count)
    ]


async def _leads_of(leads: leads_pb2_grpc.LeadsServiceStub, metadata: tuple[tuple[str, str], ...]) -> list[str]:
    listed = await leads.ListLeads(
        leads_pb2.ListLeadsRequest(page_size=500, filtered=leads_pb2.FILTERED_VIEW_ALL), metadata=metadata, timeout=10
    )
    return [lead.email for lead in listed.leads]


def test_a_file_over_the_row_limit_is_refused_and_imports_none_of_its_rows(client: httpx.Client) -> None:
    tag = uuid.uuid4().hex[:10]
    good = [f"first{n}.{tag}@imports.example,Good,Row{n}" for n in range(50)]
    bad = ["x,y,z"] * (ROW_LIMIT + 1 - len(good))  # rows all the same: short, and each a row error
    body = "\n".join(["email,firstName,lastName", *good, *bad, ""]).encode()
    refused = assert_problem(
        client.post("/v1/leads/import", content=body, headers={"content-type": "text/csv"}, timeout=120), 413
    )
    assert "nothing was imported" in refused["detail"]
    # Before the import was made whole, the first 50 rows (an earlier batch) were kept.
    assert all_leads(client, q=tag, filtered="all") == []
    # The same rows in a file within the limit are imported: they were refused for the file, not for themselves.
    accepted = client.post(
        "/v1/leads/import", content="\n".join(["email,firstName,lastName", *good, ""]).encode(),
        headers={"content-type": "text/csv"},
    )  # fmt: skip
    assert accepted.status_code == 200 and accepted.json()["created"] == len(good)


async def test_a_stream_cancelled_part_way_imports_nothing(stack: Stack) -> None:
    tag, metadata = uuid.uuid4().hex[:10], identity.metadata_for(str(uuid.uuid4()))
    sent = asyncio.Event()

    async def parts() -> AsyncIterator[leads_pb2.ImportLeadsRequest]:
        for part in range(3):
            yield leads_pb2.ImportLeadsRequest(rows=_rows(tag, part * 500, 500))
        sent.set()
        await asyncio.Event().wait()  # the rest of the file never comes

    async with grpc.aio.insecure_channel(f"127.0.0.1:{stack.config.ports.grpc['leads']}") as channel:
        leads = leads_pb2_grpc.LeadsServiceStub(channel)
        call = leads.ImportLeads(parts(), metadata=metadata, timeout=30)
        await asyncio.wait_for(sent.wait(), timeout=10)
        await asyncio.sleep(0.5)  # the parts reach the service and are read
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        # A service that took the cancellation for the end of the file would write 1,500 leads now.
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            assert await _leads_of(leads, metadata) == []
            await asyncio.sleep(0.2)
        # The org itself works: the same rows as a whole stream are imported.
        whole = await leads.ImportLeads(
            iter([leads_pb2.ImportLeadsRequest(rows=_rows(tag, 0, 500), last=True)]), metadata=metadata, timeout=30
        )
        assert (whole.created, whole.updated, whole.failed) == (500, 0, 0)
    # And the cancelled call left no transaction open on a pooled connection, where the next caller's
    # work would nest as a savepoint and never commit (seen as later tests' leads never appearing).
    assert stack.postgres is not None
    await asyncio.sleep(1.5)  # a transaction still at work has moved on by then
    admin = await asyncpg.connect(stack.postgres.admin_dsn())
    try:
        left_open = await admin.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE usename = 'leads_svc' "
            "AND state LIKE 'idle in transaction%' AND now() - state_change > interval '1 second'"
        )
    finally:
        await admin.close()
    assert left_open == 0


async def test_a_stream_over_the_services_row_limit_is_resource_exhausted_and_writes_nothing(stack: Stack) -> None:
    tag, metadata = uuid.uuid4().hex[:10], identity.metadata_for(str(uuid.uuid4()))
    bad = [leads_pb2.ImportRow(line=n, email="x", first_name="y", last_name="z") for n in range(500)]

    def parts():  # type: ignore[no-untyped-def]
        yield leads_pb2.ImportLeadsRequest(rows=_rows(tag, 0, 500))
        for _ in range(ROW_LIMIT // 500):
            yield leads_pb2.ImportLeadsRequest(rows=bad)

    async with grpc.aio.insecure_channel(f"127.0.0.1:{stack.config.ports.grpc['leads']}") as channel:
        leads = leads_pb2_grpc.LeadsServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await leads.ImportLeads(parts(), metadata=metadata, timeout=60)
        assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "nothing was imported" in (refused.value.details() or "")
        assert await _leads_of(leads, metadata) == []


async def test_a_stream_ended_without_its_last_part_is_refused_and_writes_nothing(stack: Stack) -> None:
    tag, metadata = uuid.uuid4().hex[:10], identity.metadata_for(str(uuid.uuid4()))
    parts = [leads_pb2.ImportLeadsRequest(rows=_rows(tag, n * 500, 500)) for n in range(2)]
    async with grpc.aio.insecure_channel(f"127.0.0.1:{stack.config.ports.grpc['leads']}") as channel:
        leads = leads_pb2_grpc.LeadsServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await leads.ImportLeads(iter(parts), metadata=metadata, timeout=30)
        assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "nothing was imported" in (refused.value.details() or "")
        assert await _leads_of(leads, metadata) == []


async def test_a_third_import_at_once_is_turned_away_until_one_ends(stack: Stack) -> None:
    metadata = identity.metadata_for(str(uuid.uuid4()))
    release = asyncio.Event()

    async def slow_file() -> AsyncIterator[leads_pb2.ImportLeadsRequest]:
        yield leads_pb2.ImportLeadsRequest(rows=_rows(uuid.uuid4().hex[:10], 0, 10))
        await release.wait()
        yield leads_pb2.ImportLeadsRequest(last=True)

    async with grpc.aio.insecure_channel(f"127.0.0.1:{stack.config.ports.grpc['leads']}") as channel:
        leads = leads_pb2_grpc.LeadsServiceStub(channel)
        under_way = [leads.ImportLeads(slow_file(), metadata=metadata, timeout=30) for _ in range(2)]
        await asyncio.sleep(0.5)  # both have started at the service
        third = [leads_pb2.ImportLeadsRequest(rows=_rows(uuid.uuid4().hex[:10], 0, 10), last=True)]
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await leads.ImportLeads(iter(third), metadata=metadata, timeout=30)
        assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        release.set()
        assert [(await call).created for call in under_way] == [10, 10]
        again = await leads.ImportLeads(iter(third), metadata=metadata, timeout=30)
        assert again.created == 10  # a slot is free again, and the refused file had written nothing


# The leads service's upsert of a file under way (its statement, as pg_stat_activity shows it).
_WRITING = (
    "SELECT count(*) FROM pg_stat_activity WHERE usename = 'leads_svc' AND state = 'active' "
    "AND query LIKE '%INSERT INTO leads AS l%'"
)


async def _import_killed_mid_write(stack: Stack, base_url: str, token: str, body: bytes) -> httpx.Response:
    """POSTs the file and kills the leads service as soon as all of it is in and its upsert is running."""
    uploaded = asyncio.Event()

    async def upload() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 64 * 1024):
            yield body[start : start + 64 * 1024]
        uploaded.set()

    assert stack.postgres is not None
    admin = await asyncpg.connect(stack.postgres.admin_dsn())
    headers = {"authorization": f"Bearer {token}", "content-type": "text/csv"}
    try:
        async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=120) as http:
            posting = asyncio.create_task(http.post("/v1/leads/import", content=upload()))
            deadline = time.monotonic() + 60
            while not (uploaded.is_set() and await admin.fetchval(_WRITING)):
                assert not posting.done(), "the import ended before it could be interrupted"
                assert time.monotonic() < deadline, "the upsert of the file was never seen running"
                await asyncio.sleep(0.005)
            stack.supervisor.kill("leads")  # a crash mid-write
            return await posting
    finally:
        await admin.close()


def test_the_leads_service_killed_while_writing_a_file_writes_none_of_it_and_the_file_imports_again(
    stack: Stack, base_url: str, demo_token: str, client: httpx.Client
) -> None:
    tag, count = uuid.uuid4().hex[:10], 30_000
    lines = ["email,firstName,lastName", *(f"k{n}.{tag}@imports.example,Kill,Row{n}" for n in range(count)), ""]
    body = "\n".join(lines).encode()
    lost = assert_problem(asyncio.run(_import_killed_mid_write(stack, base_url, demo_token, body)), 503)
    assert "written whole or not at all" in lost["detail"] and "import it again" in lost["detail"]
    stack.supervisor.restart("leads")
    stack.wait_ready(60)
    assert all_leads(client, q=tag, filtered="all") == []  # the transaction died with the service
    # Sent again as the answer says: all of it, once.
    again = client.post("/v1/leads/import", content=body, headers={"content-type": "text/csv"}, timeout=120)
    assert again.status_code == 200, again.text
    assert (again.json()["created"], again.json()["updated"], again.json()["failed"]) == (count, 0, 0)
    assert len(all_leads(client, q=tag, filtered="all")) == count


async def _upload_then_go_away(base_url: str, token: str, request_id: str, parts: list[bytes]) -> None:
    """Sends the parts of a file, then closes the connection with the upload unfinished."""
    sent = asyncio.Event()

    async def body() -> AsyncIterator[bytes]:
        for part in parts:
            yield part
        sent.set()
        await asyncio.Event().wait()  # the rest of the file never comes

    headers = {"authorization": f"Bearer {token}", "content-type": "text/csv", "x-request-id": request_id}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30) as http:
        posting = asyncio.create_task(http.post("/v1/leads/import", content=body()))
        await asyncio.wait_for(sent.wait(), timeout=10)
        await asyncio.sleep(0.5)  # the gateway has read them and sent them on
        posting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await posting


def test_a_client_gone_mid_upload_imports_nothing_and_is_not_a_server_error(
    stack: Stack, base_url: str, demo_token: str, client: httpx.Client
) -> None:
    tag, request_id = uuid.uuid4().hex[:10], uuid.uuid4().hex
    rows = [f"g{n}.{tag}@imports.example,Gone,Row{n}\n" for n in range(3000)]
    parts = [b"email,firstName,lastName\n", "".join(rows[:1500]).encode(), "".join(rows[1500:]).encode()]
    asyncio.run(_upload_then_go_away(base_url, demo_token, request_id, parts))
    time.sleep(1.5)  # a gateway that ended the stream, not cancelled it, would have had the rows written by now
    assert all_leads(client, q=tag, filtered="all") == []
    logged = [line for line in stack.supervisor.log_tail("gateway", 400).splitlines() if request_id in line]
    access = [json.loads(line) for line in logged if '"gateway.access"' in line]
    assert [entry["status"] for entry in access] == [499], logged  # the client's doing, not a 500
    assert not any('"level": "error"' in line for line in logged), logged
