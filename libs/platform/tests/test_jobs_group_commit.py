"""Jobs in flight together in one worker are claimed and completed in shared transactions (group commit), and
a job's fault stays its own: a job stopped at its start, or whose result cannot be recorded, fails or retries
alone while the others of its batch complete. Against a real PostgreSQL; JetStream's messages are stand-ins
that record how each delivery was settled."""

from __future__ import annotations

import asyncio
import contextvars
import uuid
from types import SimpleNamespace
from typing import Any

import asyncpg
import pytest
from sqlalchemy import MetaData, select

from leadflood.jobs.v1 import jobs_pb2
from leadflood_platform import jobs
from leadflood_platform.bus import MSG_ID
from leadflood_platform.db import Database
from leadflood_platform.group_commit import GroupCommit, Submitted
from leadflood_platform.jobs import COMPLETED, FAILED, RETRIED, JobKind, JobStopped, JobWorker, RetryableJobError
from leadflood_platform.tables import PlatformTables

ORG = uuid.UUID(int=7)


async def test_what_arrives_while_a_batch_runs_goes_in_the_next_and_each_caller_gets_its_own_result() -> None:
    batches: list[list[int]] = []
    first_running, release = asyncio.Event(), asyncio.Event()

    async def run(batch: list[Submitted[int]]) -> list[int | BaseException]:
        items = [one.item for one in batch]
        batches.append(items)
        if len(batches) == 1:
            first_running.set()
            await release.wait()
        return [ValueError(f"odd {i}") if i % 2 else i * 10 for i in items]

    group: GroupCommit[int, int] = GroupCommit(run, max_batch=3)
    lone = asyncio.create_task(group.submit(0))
    await first_running.wait()  # a lone item waits for nobody: its batch runs at once
    later = [asyncio.create_task(group.submit(i)) for i in range(1, 6)]
    await asyncio.sleep(0)
    release.set()
    results = await asyncio.gather(lone, *later, return_exceptions=True)
    assert batches == [[0], [1, 2, 3], [4, 5]]  # gathered while the first ran, at most max_batch at a time
    assert results[0] == 0 and results[2] == 20 and results[4] == 40
    assert [str(r) for r in (results[1], results[3], results[5])] == ["odd 1", "odd 3", "odd 5"]


async def test_a_batch_that_fails_as_a_whole_tells_every_caller() -> None:
    async def run(batch: list[Submitted[int]]) -> list[int]:
        raise ConnectionError("database away")

    group: GroupCommit[int, int] = GroupCommit(run, max_batch=10)
    results = await asyncio.gather(*(group.submit(i) for i in range(4)), return_exceptions=True)
    assert all(isinstance(r, ConnectionError) for r in results)


class _Recorder(JobKind[jobs_pb2.GetJobRequest, str]):
    """Records what it was asked; a job whose id is in `stop_at_start` stops in on_start, one in `bad_result`
    cannot have its result recorded (a fault in apply), one in `slow` holds its perform until released."""

    type = "test.recorder"
    message_type = jobs_pb2.GetJobRequest

    def __init__(self) -> None:
        self.stop_at_start: set[str] = set()
        self.bad_result: set[str] = set()
        # A set: a batch rolled back starts its jobs again, one by one.
        self.started: set[str] = set()
        self.gate = asyncio.Event()

    async def on_start(self, session: Any, message: jobs_pb2.GetJobRequest) -> None:
        if message.job_id in self.stop_at_start:
            raise JobStopped("what it works on is gone")
        self.started.add(message.job_id)

    async def perform(self, message: jobs_pb2.GetJobRequest, attempt: int) -> str:
        await self.gate.wait()  # every job in flight at once, so their claims and completions meet
        return f"done {message.job_id}"

    async def apply(self, session: Any, message: jobs_pb2.GetJobRequest, outcome: str) -> dict[str, Any]:
        if message.job_id in self.bad_result:
            raise RetryableJobError("the result could not be recorded")
        return {"outcome": outcome}


class _Msg(SimpleNamespace):
    """A JetStream message as the worker uses one: its headers, its delivery count, and how it was settled."""

    def __init__(self, job_id: uuid.UUID) -> None:
        super().__init__(
            headers={MSG_ID: str(job_id)},
            subject="jobs.test.recorder",
            data=jobs_pb2.GetJobRequest(job_id=str(job_id)).SerializeToString(),
            metadata=SimpleNamespace(num_delivered=1),
            settled=[],
        )

    async def ack(self) -> None:
        self.settled.append("ack")

    async def nak(self, delay: float = 0) -> None:
        self.settled.append("nak")

    async def term(self) -> None:
        self.settled.append("term")

    async def in_progress(self) -> None:
        pass


@pytest.fixture
async def worker(scratch_dsn: str) -> Any:
    tables = PlatformTables(MetaData(schema="group_commit_test"), version=2)
    admin = await asyncpg.connect(scratch_dsn)
    await admin.execute("CREATE SCHEMA group_commit_test")
    await admin.close()
    db = Database(scratch_dsn, pool_size=4)
    async with db.engine.begin() as conn:
        await conn.run_sync(tables.jobs.metadata.create_all)
    kind = _Recorder()
    worker = JobWorker(
        service="test",
        db=db,
        bus=None,
        tables=tables,
        kinds=[kind],
        backoff_ms=[10],
        ack_wait_ms=30_000,  # type: ignore[arg-type]
    )
    yield worker, kind, db, tables
    await db.close()


async def _queued(db: Database, tables: PlatformTables, kind: JobKind[Any, Any], count: int) -> list[uuid.UUID]:
    ids = []
    async with db.transaction() as session:
        for _ in range(count):
            message = jobs_pb2.GetJobRequest()
            ids.append(await jobs.enqueue(session, tables, kind, message, org_id=ORG, max_attempts=3))
    return ids


async def test_jobs_in_flight_together_complete_together_and_a_job_s_fault_stays_its_own(worker: Any) -> None:
    worker, kind, db, tables = worker
    ids = await _queued(db, tables, kind, 8)
    stopped, unrecorded = str(ids[2]), str(ids[5])
    kind.stop_at_start.add(stopped)
    kind.bad_result.add(unrecorded)
    claims, completions = worker._claims_of(kind), worker._completions_of(kind)
    claim_batches, completion_batches = _count_batches(claims), _count_batches(completions)

    msgs = [_Msg(job_id) for job_id in ids]
    running = [asyncio.create_task(worker.process(kind, msg)) for msg in msgs]
    await _until(lambda: len(kind.started) == 7)  # every job but the stopped one started
    kind.gate.set()
    outcomes = await asyncio.gather(*running)

    assert outcomes == [COMPLETED, COMPLETED, FAILED, COMPLETED, COMPLETED, RETRIED, COMPLETED, COMPLETED]
    assert [m.settled for m in msgs] == [["ack"], ["ack"], ["term"], ["ack"], ["ack"], ["nak"], ["ack"], ["ack"]]
    # Shared: 8 claims in fewer transactions than jobs (the batch with the stopped job was claimed again one by
    # one), and the 7 completions too.
    assert len(claim_batches) < 8 and max(claim_batches) > 1
    assert len(completion_batches) < 7 and max(completion_batches) > 1
    async with db.transaction() as session:
        rows = {r.id: r for r in await session.execute(select(tables.jobs))}
    assert rows[ids[2]].status == FAILED and rows[ids[2]].error == "what it works on is gone"
    assert rows[ids[5]].status == jobs.QUEUED and rows[ids[5]].result is None  # to be retried
    for job_id in (ids[0], ids[1], ids[3], ids[4], ids[6], ids[7]):
        assert rows[job_id].status == COMPLETED
        assert rows[job_id].result == {"outcome": f"done {job_id}"}
        assert rows[job_id].attempts == 1 and rows[job_id].finished_at is not None


def _count_batches(group: GroupCommit[Any, Any]) -> list[int]:
    """The sizes of the batches the group runs, from now on."""
    sizes: list[int] = []
    run = group._run

    async def counted(items: list[Any]) -> Any:
        sizes.append(len(items))
        return await run(items)

    group._run = counted  # type: ignore[method-assign]
    return sizes


async def _until(check: Any, timeout_s: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def test_the_part_of_a_batch_done_for_a_caller_runs_in_that_caller_s_context() -> None:
    caller: contextvars.ContextVar[str] = contextvars.ContextVar("caller", default="nobody")

    async def whose() -> str:
        return caller.get()

    async def run(batch: list[Submitted[int]]) -> list[str]:
        return [f"{caller.get()} / {await one.within(whose)}" for one in batch]

    group: GroupCommit[int, str] = GroupCommit(run, max_batch=10)

    async def submit_as(name: str) -> str:
        caller.set(name)
        return await group.submit(0)

    results = await asyncio.gather(*(submit_as(name) for name in ("ann", "bob", "cy")))
    # The batch itself belongs to nobody (not to the first caller); each caller's part is theirs.
    assert results == ["nobody / ann", "nobody / bob", "nobody / cy"]


class _Batcher(_Recorder):
    """A kind that starts and records its jobs a batch at a time (on_start_many, apply_many); a batch holding a job
    in `stop_at_start` or `bad_result` fails as a whole, so the worker falls back to each job's own hook."""

    type = "test.batcher"

    def __init__(self) -> None:
        super().__init__()
        self.start_batches: list[int] = []
        self.apply_batches: list[int] = []

    async def on_start_many(self, session: Any, messages: list[jobs_pb2.GetJobRequest]) -> None:
        self.start_batches.append(len(messages))
        if any(m.job_id in self.stop_at_start for m in messages):
            raise JobStopped("one of them is gone")
        self.started.update(m.job_id for m in messages)

    async def apply_many(self, session: Any, done: list[tuple[jobs_pb2.GetJobRequest, str]]) -> list[dict[str, Any]]:
        self.apply_batches.append(len(done))
        if any(m.job_id in self.bad_result for m, _ in done):
            raise RetryableJobError("one result could not be recorded")
        return [{"outcome": outcome, "batched": True} for _, outcome in done]


async def test_a_kind_that_batches_starts_and_records_a_batch_at_once_and_a_job_s_fault_stays_its_own(
    worker: Any,
) -> None:
    worker, _, db, tables = worker
    kind = _Batcher()
    worker.kinds = [kind]
    ids = await _queued(db, tables, kind, 8)
    kind.stop_at_start.add(str(ids[2]))
    kind.bad_result.add(str(ids[5]))

    msgs = [_Msg(job_id) for job_id in ids]
    running = [asyncio.create_task(worker.process(kind, msg)) for msg in msgs]
    await _until(lambda: len(kind.started) == 7)
    kind.gate.set()
    outcomes = await asyncio.gather(*running)

    assert outcomes == [COMPLETED, COMPLETED, FAILED, COMPLETED, COMPLETED, RETRIED, COMPLETED, COMPLETED]
    assert [m.settled for m in msgs] == [["ack"], ["ack"], ["term"], ["ack"], ["ack"], ["nak"], ["ack"], ["ack"]]
    # The batch hooks ran for the batches of more than one job, and their fallbacks each job's own.
    assert max(kind.start_batches) > 1 and max(kind.apply_batches) > 1
    async with db.transaction() as session:
        rows = {r.id: r for r in await session.execute(select(tables.jobs))}
    assert rows[ids[2]].status == FAILED and rows[ids[2]].error == "what it works on is gone"
    assert rows[ids[5]].status == jobs.QUEUED and rows[ids[5]].result is None
    for job_id in (ids[0], ids[1], ids[3], ids[4], ids[6], ids[7]):
        assert rows[job_id].status == COMPLETED
        # Recorded alone (apply) after a batch's fault, or a batch at a time (apply_many): either way, once.
        assert rows[job_id].result in ({"outcome": f"done {job_id}"}, {"outcome": f"done {job_id}", "batched": True})
