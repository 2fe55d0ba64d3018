"""A scratch database migrated like the sequences service's, and what its tests build in it (`kit`)."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from pathlib import Path
from types import SimpleNamespace

import asyncpg
import grpc
import pytest

from leadflood.inbox.v1 import delivery_pb2
from leadflood.sequences.v1 import sequences_pb2_grpc
from leadflood_platform import context, grpc_client, migrations
from leadflood_platform.db import Database
from leadflood_platform.interceptors import ContextAndErrors, Identities
from sequences import definitions, service
from sequences.lead_directory import Lead
from sequences.models import Base, Sequence
from sequences.scheduler import Scheduler
from sequences.servicer import SequencesServicer
from tests import internal_identity
from tests.fakes import mail_room
from tests.fakes.mail_room import queued

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
    service does; `orgs_asked` records the org each lookup ran for (the metadata the real one sends), `calls`
    the ids each lookup asked for."""

    def __init__(self) -> None:
        self.leads: dict[uuid.UUID, Lead] = {}
        self.down = False
        self.orgs_asked: list[str | None] = []
        self.calls: list[list[uuid.UUID]] = []

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

    async def get_many(self, lead_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Lead]:
        self.orgs_asked.append(context.org_id.get())
        self.calls.append(list(lead_ids))
        if self.down:
            raise grpc.aio.AioRpcError(
                grpc.StatusCode.UNAVAILABLE, grpc.aio.Metadata(), grpc.aio.Metadata(), details="leads is down"
            )
        return {lead_id: self.leads[lead_id] for lead_id in lead_ids if lead_id in self.leads}


# The scheduler's tests talk to a STAND-IN DeliveryService (see test_scheduler's docstring).
# Wednesday 2026-03-04, 10:00 in New York (EST).
WEDNESDAY_10AM = dt.datetime(2026, 3, 4, 15, 0, tzinfo=dt.UTC)


class BatchingStandIn(mail_room.StandInDelivery):
    """The stand-in with SendMessages too, as the mail room has it: one answer per request, in order; a request
    the stand-in would refuse (its answer a status code) refuses the whole batch, nothing kept. `batches`
    holds each batch's size."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[int] = []

    async def SendMessages(self, request, ctx):  # type: ignore[no-untyped-def]
        self.batches.append(len(request.requests))
        for one in request.requests:
            if one.idempotency_key not in self.messages and isinstance(code := self.answer(one), grpc.StatusCode):
                await ctx.abort(code, f"the stand-in refuses: {code.name}")
        replies = [await self.SendMessage(one, ctx) for one in request.requests]
        return delivery_pb2.SendMessagesResponse(responses=replies)


@pytest.fixture
async def inbox(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[SimpleNamespace]:
    """The mail room's DeliveryService, stood in (tests/fakes/mail_room.py, with SendMessages)."""
    monkeypatch.setattr(mail_room, "StandInDelivery", BatchingStandIn)
    async for served in mail_room.serve():
        yield served


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


@pytest.fixture
async def api(db: Database) -> AsyncIterator[SimpleNamespace]:
    """The servicer behind a real gRPC server with the platform's identity and error interceptors, called through
    the platform's channel as an org of its own (`org`), its leads a FakeLeads (`leads`)."""
    leads = FakeLeads()
    server = grpc.aio.server(interceptors=[Identities("sequences", internal_identity.verifier()), ContextAndErrors()])
    sequences_pb2_grpc.add_SequencesServiceServicer_to_server(SequencesServicer(db, leads), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    channel = grpc_client.channel(f"127.0.0.1:{port}", timeout_s=10)
    org = str(uuid.uuid4())
    with context.bound(org_id=org):  # signed into the call's identity token, as the gateway's calls are
        yield SimpleNamespace(stub=sequences_pb2_grpc.SequencesServiceStub(channel), leads=leads, org=org)
    await channel.close()
    await server.stop(None)
