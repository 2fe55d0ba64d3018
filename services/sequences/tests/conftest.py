"""A scratch database migrated like the sequences service's, and what its tests build in it (`kit`)."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from types import SimpleNamespace

import asyncpg
import grpc
import pytest

from leadflood.inbox.v1 import delivery_pb2, delivery_pb2_grpc
from leadflood_platform import context, grpc_client, migrations
from leadflood_platform.db import Database
from sequences import definitions, service
from sequences.lead_directory import Lead
from sequences.models import Base, Sequence
from sequences.scheduler import Scheduler

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"


@pytest.fixture
async def sequences_dsn(scratch_dsn: str) -> str:
    """The scratch database (admin DSN) migrated to head, `sequences` first on its search path as for the
    service's own role."""
    conn = await asyncpg.connect(scratch_dsn)
    try:
        await conn.execute("CREATE SCHEMA sequences")
        database = scratch_dsn.rsplit("/", 1)[1]
        await conn.execute(f'ALTER DATABASE "{database}" SET search_path = sequences')
    finally:
        await conn.close()
    run = dict(url=scratch_dsn, schema="sequences", script_location=MIGRATIONS, target_metadata=Base.metadata)
    await asyncio.to_thread(migrations.upgrade, **run)
    return scratch_dsn


@pytest.fixture
async def db(sequences_dsn: str) -> AsyncIterator[Database]:
    database = Database(sequences_dsn, pool_size=4)
    yield database
    await database.close()


def email_step(subject: str = "Hi {{ lead.firstName | default('there') }}", **fields: object) -> definitions.StepSpec:
    values: dict[str, object] = {
        "channel": "email",
        "subject_template": subject,
        "body_template": "Hi {{ lead.firstName | default('there') }} at {{ lead.companyName }}",
    }
    return definitions.StepSpec(**(values | fields))  # type: ignore[arg-type]


# Every day, all day, so a test's sends are never held for the window unless it asks for one.
ALWAYS = definitions.WindowSpec(days=list(range(1, 8)), start_time="00:00", end_time="23:59", time_zone="UTC")


def definition(*steps: definitions.StepSpec, window: definitions.WindowSpec = ALWAYS) -> definitions.Definition:
    return definitions.Definition(name="Outreach", window=window, steps=list(steps or [email_step()]))


async def make_sequence(
    db: Database, org_id: uuid.UUID, the_definition: definitions.Definition | None = None, *, activate: bool = True
) -> Sequence:
    async with db.transaction() as session:
        sequence = await service.create(session=session, org_id=org_id, definition=the_definition or definition())
        if activate:
            await service.transition(session=session, org_id=org_id, sequence_id=sequence.id, action="activate")
        return await service.get(session=session, org_id=org_id, sequence_id=sequence.id)


async def until(check: Callable[[], Awaitable[bool]], *, timeout_s: float = 10.0, what: str = "the condition") -> None:
    """Waits for `check()` to hold, polling; fails naming `what` after the deadline."""
    deadline = time.monotonic() + timeout_s
    while not await check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


class FakeLeads:
    """An in-memory LeadDirectory: leads by id. `down` makes each lookup fail as an unreachable leads
    service does; `orgs_asked` records the org each lookup ran for (the metadata the real one sends)."""

    def __init__(self) -> None:
        self.leads: dict[uuid.UUID, Lead] = {}
        self.down = False
        self.orgs_asked: list[str | None] = []

    def add(self, **fields: str) -> uuid.UUID:
        lead_id = uuid.uuid4()
        self.leads[lead_id] = Lead(**fields)
        return lead_id

    async def get(self, lead_id: uuid.UUID) -> Lead | None:
        self.orgs_asked.append(context.org_id.get())
        if self.down:
            raise grpc.aio.AioRpcError(
                grpc.StatusCode.UNAVAILABLE, grpc.aio.Metadata(), grpc.aio.Metadata(), details="leads is down"
            )
        return self.leads.get(lead_id)


# The scheduler's tests talk to a STAND-IN DeliveryService (see test_scheduler's docstring).
# Wednesday 2026-03-04, 10:00 in New York (EST).
WEDNESDAY_10AM = dt.datetime(2026, 3, 4, 15, 0, tzinfo=dt.UTC)
Answer = Callable[[delivery_pb2.SendMessageRequest], delivery_pb2.SendMessageResponse | grpc.StatusCode]


def queued(request: delivery_pb2.SendMessageRequest) -> delivery_pb2.SendMessageResponse:
    return delivery_pb2.SendMessageResponse(
        outcome=delivery_pb2.SEND_OUTCOME_QUEUED,
        message_id=str(uuid.uuid4()),
        thread_id=request.thread_id or f"thread-{uuid.uuid4()}",
        status=delivery_pb2.MESSAGE_STATUS_QUEUED,
    )


class StandInDelivery(delivery_pb2_grpc.DeliveryServiceServicer):
    """STAND-IN for the inbox's DeliveryService (see the module's docstring): idempotent on the key,
    answering each new key with `answer(request)` (a response, or a status code to fail with)."""

    def __init__(self) -> None:
        self.requests: list[delivery_pb2.SendMessageRequest] = []
        self.orgs: list[str | None] = []
        self.messages: dict[str, delivery_pb2.SendMessageResponse] = {}
        self.answer: Answer = queued
        # Set `gate` to hold each answer until it opens; `arrived` is set when a request came in.
        self.gate: asyncio.Event | None = None
        self.arrived = asyncio.Event()

    async def SendMessage(self, request, ctx):  # type: ignore[no-untyped-def]
        self.requests.append(request)
        self.arrived.set()
        if self.gate is not None:
            await self.gate.wait()
        self.orgs.append(dict(ctx.invocation_metadata() or ()).get("x-org-id"))
        key = request.idempotency_key
        if key in self.messages:
            reply = delivery_pb2.SendMessageResponse()
            reply.CopyFrom(self.messages[key])
            reply.existing = True
            return reply
        answer = self.answer(request)
        if isinstance(answer, grpc.StatusCode):
            await ctx.abort(answer, f"the stand-in refuses: {answer.name}")
        if answer.outcome != delivery_pb2.SEND_OUTCOME_DEFERRED:  # a deferred send is not stored
            self.messages[key] = answer
        return answer

    def keys(self) -> list[str]:
        return [request.idempotency_key for request in self.requests]


@pytest.fixture
async def inbox() -> AsyncIterator[SimpleNamespace]:
    servicer = StandInDelivery()
    server = grpc.aio.server()
    delivery_pb2_grpc.add_DeliveryServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    channel = grpc_client.channel(f"127.0.0.1:{port}", timeout_s=5)
    yield SimpleNamespace(servicer=servicer, stub=delivery_pb2_grpc.DeliveryServiceStub(channel))
    await channel.close()
    await server.stop(None)


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def world(db: Database, inbox: SimpleNamespace) -> SimpleNamespace:
    """An org, its leads, a clock at WEDNESDAY_10AM, and a scheduler sending through the stand-in."""
    leads, clock = FakeLeads(), Clock(WEDNESDAY_10AM)
    scheduler = Scheduler(db=db, delivery=inbox.stub, leads=leads, batch_size=10, retry_s=30, clock=clock)
    ada = leads.add(email="ada@acme.example", first_name="Ada", last_name="Lovelace", company_name="Acme")
    return SimpleNamespace(
        org=uuid.uuid4(), leads=leads, clock=clock, scheduler=scheduler, ada=ada, inbox=inbox, queued=queued
    )


@pytest.fixture
def kit() -> SimpleNamespace:
    """The helpers above, for test modules (which cannot import this conftest under importlib mode)."""
    return SimpleNamespace(
        email_step=email_step,
        definition=definition,
        make_sequence=make_sequence,
        until=until,
        ALWAYS=ALWAYS,
        FakeLeads=FakeLeads,
    )
