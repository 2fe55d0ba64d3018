"""A scratch database migrated like the runs service's (`runs_dsn`, `db`), the mail room stood in (`inbox`), the
sequences service's task list stood in (`StandInTasks`), and runs made as the service makes them (`make_run`)."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import asyncpg
import grpc
import pytest

from leadflood.inbox.v1 import inbox_pb2, stats_pb2
from leadflood.sequences.v1 import sequences_pb2
from leadflood_platform import migrations
from leadflood_platform.db import Database
from runs import finishing, service, sourcing
from runs.contacts import Contacts
from runs.models import RUNNING, Base, LeadRun
from tests.fakes import mail_room

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"


@pytest.fixture
async def runs_dsn(scratch_dsn: str) -> str:
    """The scratch database (admin DSN) migrated to head, `runs` first on its search path as for the service's
    own role."""
    conn = await asyncpg.connect(scratch_dsn)
    try:
        await conn.execute("CREATE SCHEMA runs")
        database = scratch_dsn.rsplit("/", 1)[1]
        await conn.execute(f'ALTER DATABASE "{database}" SET search_path = runs')
    finally:
        await conn.close()
    run = dict(url=scratch_dsn, schema="runs", script_location=MIGRATIONS, target_metadata=Base.metadata)
    await asyncio.to_thread(migrations.upgrade, **run)
    return scratch_dsn


@pytest.fixture
async def db(runs_dsn: str) -> AsyncIterator[Database]:
    database = Database(runs_dsn, pool_size=8)
    yield database
    await database.close()


@pytest.fixture
async def inbox() -> AsyncIterator[SimpleNamespace]:
    """The mail room's DeliveryService, stood in (tests/fakes/mail_room.py)."""
    async for served in mail_room.serve():
        yield served


class StandInTasks:
    """The sequences service's CreateTask as a run's call-task action meets it: one task per key (asked again, the
    same task, `existing`); `refuse` a status code to answer every call with instead."""

    def __init__(self) -> None:
        self.tasks: dict[str, sequences_pb2.Task] = {}
        self.requests: list[sequences_pb2.CreateTaskRequest] = []
        self.refuse: grpc.StatusCode | None = None

    async def CreateTask(
        self, request: sequences_pb2.CreateTaskRequest, **options: object
    ) -> sequences_pb2.CreateTaskResponse:  # options: the call's, such as its deadline
        self.requests.append(request)
        if self.refuse is not None:
            empty = grpc.aio.Metadata()
            raise grpc.aio.AioRpcError(self.refuse, empty, empty, details=f"the stand-in refuses: {self.refuse.name}")
        existing = request.idempotency_key in self.tasks
        if not existing:
            self.tasks[request.idempotency_key] = sequences_pb2.Task(
                id=str(uuid.uuid4()), lead_id=request.lead_id, title=request.title, run_id=request.run_id
            )
        return sequences_pb2.CreateTaskResponse(task=self.tasks[request.idempotency_key], existing=existing)


class StandInContacts:
    """What runs.contacts asks the sequences service (ListLeadsInSequences) and the mail room (ListMessages,
    ListThreads), stood in: `enrolled` leads by id with their sequence's name, `emailed` and `replied` leads by id
    with when; `calls` the methods asked, in order."""

    def __init__(self) -> None:
        self.enrolled: dict[uuid.UUID, str] = {}
        self.emailed: dict[uuid.UUID, dt.datetime] = {}
        self.replied: dict[uuid.UUID, dt.datetime] = {}
        self.calls: list[str] = []
        self.refuse: grpc.StatusCode | None = None

    def contacts(self) -> Contacts:
        return Contacts(sequences=self, threads=self, messages=self, timeout_s=5)  # type: ignore[arg-type]

    def _asked(self, method: str) -> None:
        self.calls.append(method)
        if self.refuse is not None:
            empty = grpc.aio.Metadata()
            raise grpc.aio.AioRpcError(self.refuse, empty, empty, details=f"the stand-in refuses: {self.refuse.name}")

    async def ListLeadsInSequences(self, request, **options):  # type: ignore[no-untyped-def]
        self._asked("ListLeadsInSequences")
        assert 1 <= len(request.lead_ids) <= 500
        return sequences_pb2.ListLeadsInSequencesResponse(
            leads=[
                sequences_pb2.LeadInSequence(
                    lead_id=lead,
                    sequence_id=str(uuid.uuid4()),
                    sequence_name=self.enrolled[uuid.UUID(lead)],
                    state=sequences_pb2.ENROLLMENT_STATE_ACTIVE,
                )  # fmt: skip
                for lead in request.lead_ids
                if uuid.UUID(lead) in self.enrolled
            ]
        )

    async def ListMessages(self, request, **options):  # type: ignore[no-untyped-def]
        self._asked("ListMessages")
        assert 1 <= len(request.lead_ids) <= 500  # asked about the leads found, never the org's whole mail
        asked = {uuid.UUID(lead) for lead in request.lead_ids}
        which = self.emailed if request.category == stats_pb2.MESSAGE_CATEGORY_EMAILED else self.replied
        since = dt.datetime.now(dt.UTC) - dt.timedelta(days=request.window.days)
        found = sorted(((at, lead) for lead, at in which.items() if at >= since and lead in asked), reverse=True)
        first = int(request.cursor or 0)
        page = found[first : first + request.page_size]
        reply = stats_pb2.ListMessagesResponse(total=len(found))
        for at, lead in page:
            message = reply.messages.add(id=str(uuid.uuid4()), lead_id=str(lead))
            message.at.FromDatetime(at)
        if first + request.page_size < len(found):
            reply.next_cursor = str(first + request.page_size)
        return reply

    async def ListThreads(self, request, **options):  # type: ignore[no-untyped-def]
        self._asked("ListThreads")
        assert request.channel == "email"  # email conversations, as ListMessages counts them at sourcing
        lead = uuid.UUID(request.lead_id)
        times = [at for at in (self.emailed.get(lead), self.replied.get(lead)) if at]
        reply = inbox_pb2.ListThreadsResponse()
        if times and request.filter == inbox_pb2.THREAD_FILTER_UNSPECIFIED:
            reply.threads.add(id=str(uuid.uuid4()), lead_id=str(lead)).last_message_at.FromDatetime(max(times))
        return reply


async def make_run(
    db: Database,
    org_id: uuid.UUID,
    *,
    leads: int = 0,
    state: str = RUNNING,
    calendar: dict[str, Any] | None = None,
    dry_run: bool = False,
    email: str = "send",
    call: bool = False,
    sms: bool = False,
    window: int = 1_000_000,
    phones: bool = True,
    subject: str = "",
) -> tuple[LeadRun, list[uuid.UUID]]:
    """A run of the org in `state` with `leads` leads queued as sourcing would queue them (the best `window`
    due now, the rest waiting in the run)."""
    async with db.transaction() as session:
        spec = service.RunSpec(
            icp_id=uuid.uuid4(), limit=max(leads, 1), dry_run=dry_run, email_mode=email, call=call, sms=sms,
            calendar=calendar or {}, subject=subject,
        )  # fmt: skip
        run = await service.create(session, org_id=org_id, spec=spec)
        run.state = state
        if state == RUNNING:
            run.started_at = finishing.utcnow()
    found = sourcing.Sourced(sourced=leads, with_email=leads)
    lead_ids = [uuid.uuid4() for _ in range(leads)]
    for n, lead_id in enumerate(lead_ids):
        lead = {"email": f"lead{n}-{lead_id.hex[:6]}@example.com", "firstName": f"Lead{n}", "companyName": "Acme"}
        if phones:
            lead["phone"] = f"+1415555{n:04d}"
        found.leads.append((lead_id, 80, lead))
    if state == RUNNING:
        async with db.transaction() as session:
            await sourcing.record(session, run.id, found, window=window)
    return run, lead_ids
