"""A three-node JetStream cluster with the product's streams at R3 (NATS_STREAM_REPLICAS=3): one node killed mid-load
loses no job and no event and doubles none, the job workers carry on, and the two nodes left keep serving.

The product's own machinery end to end: jobs queued with `jobs.enqueue` (job row and outbox row in one
transaction), published by the OutboxRelay, run by two JobWorkers sharing the durable consumer; each job's
completion writes an event through the outbox, published to EVENTS. The witnesses are the test's own:

- `executions`: one row per execution of a job's handler (`perform`), committed on its own connection, outside the
  job's transaction, so an execution whose job later rolled back, was redelivered or redone still shows;
- `done`: one row per completion, written by the handler's `apply` in the transaction that completes the job (no
  unique key, so a completion committed twice shows as two rows);
- the EVENTS stream itself, read back from its start.

What "done once" means here: JetStream delivers at least once, and the product makes a job's effect happen once
by its job row (a delivery of a job already completed is acked without running it again). So: every job queued
has exactly one `done` row and exactly one event, and (ack waits being far longer than a job here) one execution.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import nats
import pytest
from nats.js.api import DeliverPolicy
from sqlalchemy import MetaData, text
from sqlalchemy.ext.asyncio import AsyncSession

from devstack.nats_cluster import LocalNatsCluster
from leadflood.jobs.v1 import jobs_pb2
from leadflood_platform import jobs, outbox
from leadflood_platform.bus import JOBS, Bus, events_stream
from leadflood_platform.db import Database
from leadflood_platform.jobs import COMPLETED, JobKind, JobWorker
from leadflood_platform.outbox import OutboxRelay
from leadflood_platform.tables import PlatformTables
from tests.e2e.helpers import until_async

log = logging.getLogger(__name__)

SCHEMA = "cluster_test"
SERVICE = "clustertest"
EVENT_SUBJECT = "leads.clustertest.done"  # under a registered service's tree: the EVENTS stream's subjects
TOTAL = 300  # jobs queued in all
KILL_AFTER = 100  # jobs done (as the witness sees them) when a node is killed
BACKLOG = 60  # jobs queued ahead of the workers at most: a steady load rather than one burst
# Far longer than a job takes here, even on a loaded machine (a job redelivered while its first delivery still
# runs would run twice: the product's ack wait is 30 s); a lost ack is redelivered after it.
ACK_WAIT_MS = 10_000
# Generous: the machine is shared with other test runs; a passing run takes a few seconds.
DEADLINE_S = 120


class Work(JobKind[jobs_pb2.GetJobRequest, str]):
    """A job whose handler records each execution outside the job's transaction, and its completion inside it."""

    type = f"{SERVICE}.work"
    message_type = jobs_pb2.GetJobRequest

    def __init__(self, *, worker: str, witness: asyncpg.Pool, tables: PlatformTables) -> None:
        self.worker, self.witness, self.tables = worker, witness, tables

    async def perform(self, message: jobs_pb2.GetJobRequest, attempt: int) -> str:
        await self.witness.execute(
            f"INSERT INTO {SCHEMA}.executions (job_id, worker, attempt) VALUES ($1, $2, $3)",
            uuid.UUID(message.job_id), self.worker, attempt,
        )  # fmt: skip
        return self.worker

    async def apply(self, session: AsyncSession, message: jobs_pb2.GetJobRequest, outcome: str) -> dict[str, Any]:
        await session.execute(
            text(f"INSERT INTO {SCHEMA}.done (job_id, worker) VALUES (:job_id, :worker)"),
            {"job_id": uuid.UUID(message.job_id), "worker": outcome},
        )
        # The job's domain event, as a service's completion writes one: through the outbox, keyed by the job.
        await outbox.enqueue(
            session, self.tables, subject=EVENT_SUBJECT, message=message, msg_id=f"done:{message.job_id}"
        )
        return {"worker": outcome}


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[LocalNatsCluster]:
    nodes = LocalNatsCluster(tmp_path / "nats")
    nodes.start(timeout=DEADLINE_S)
    try:
        yield nodes
    finally:
        nodes.stop()


@pytest.fixture
async def tables(scratch_dsn: str) -> AsyncIterator[PlatformTables]:
    made = PlatformTables(MetaData(schema=SCHEMA), version=2)
    admin = await asyncpg.connect(scratch_dsn)
    try:
        await admin.execute(f"CREATE SCHEMA {SCHEMA}")
        await admin.execute(
            f"CREATE TABLE {SCHEMA}.executions (id bigserial PRIMARY KEY, job_id uuid NOT NULL, worker text NOT NULL,"
            " attempt int NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())"
        )
        await admin.execute(
            f"CREATE TABLE {SCHEMA}.done (id bigserial PRIMARY KEY, job_id uuid NOT NULL, worker text NOT NULL)"
        )
    finally:
        await admin.close()
    db = Database(scratch_dsn, pool_size=2)
    async with db.engine.begin() as conn:
        await conn.run_sync(made.outbox.metadata.create_all)
    await db.close()
    yield made


async def test_a_node_killed_mid_load_loses_and_doubles_nothing_and_the_workers_carry_on(
    cluster: LocalNatsCluster, tables: PlatformTables, scratch_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NATS_STREAM_REPLICAS", "3")
    started = time.monotonic()
    setup = await Bus.connect(cluster.urls[0], name="cluster-test-setup")  # creates JOBS and EVENTS at R3
    for stream in (JOBS.name, events_stream().name):
        info = await setup.js.stream_info(stream)
        assert info.config.num_replicas == 3 and info.cluster is not None and len(info.cluster.replicas or []) == 2
    # The node to kill: the one leading the JOBS stream, with a worker and the outbox relay connected to it, so the
    # stream's leader, a worker's connection and the publisher's all have to move.
    victim = cluster.node((await setup.js.stream_info(JOBS.name)).cluster.leader)
    survivor = next(node for node in cluster.nodes if node is not victim)

    witness = await asyncpg.create_pool(scratch_dsn, min_size=2, max_size=6)
    producer_db, stop = Database(scratch_dsn, pool_size=2), asyncio.Event()
    parts: list[tuple[Database, Bus]] = []
    running: list[asyncio.Task[None]] = []
    producing: asyncio.Task[None] | None = None
    try:
        for name, node in (("relay", victim), ("worker-a", victim), ("worker-b", survivor)):
            # One URL each, as a service's NATS_URL: the client learns the other members from the cluster itself.
            parts.append((Database(scratch_dsn, pool_size=6), await Bus.connect(node.url, name=f"cluster-test-{name}")))
        (relay_db, relay_bus), *workers = parts
        running.append(asyncio.create_task(OutboxRelay(relay_db, relay_bus, tables).run(stop, poll_interval_s=0.2)))
        for (db, bus), name in zip(workers, ("worker-a", "worker-b"), strict=True):
            worker = JobWorker(
                service=SERVICE, db=db, bus=bus, tables=tables, backoff_ms=[100, 200, 400], ack_wait_ms=ACK_WAIT_MS,
                kinds=[Work(worker=name, witness=witness, tables=tables)],
            )  # fmt: skip
            running.append(asyncio.create_task(worker.run(stop)))

        async def done() -> int:
            return int(await witness.fetchval(f"SELECT count(*) FROM {SCHEMA}.done"))

        queued: list[uuid.UUID] = []

        async def produce() -> None:
            """Queue TOTAL jobs, ten a transaction, keeping at most BACKLOG ahead of the workers, through the kill."""
            while len(queued) < TOTAL:
                await until_async(
                    lambda: _at_least(done, len(queued) - BACKLOG), DEADLINE_S, "the workers to take the backlog"
                )
                async with producer_db.transaction() as session:
                    for _ in range(min(10, TOTAL - len(queued))):
                        message = jobs_pb2.GetJobRequest()
                        queued.append(
                            await jobs.enqueue(session, tables, Work, message, org_id=uuid.uuid4(), max_attempts=5)
                        )

        producing = asyncio.create_task(produce())

        await until_async(lambda: _at_least(done, KILL_AFTER), DEADLINE_S, f"{KILL_AFTER} jobs done before the kill")
        queued_at_kill = len(queued)
        mark = await witness.fetchval(f"SELECT max(id) FROM {SCHEMA}.executions")
        killed_at = time.monotonic()
        await asyncio.to_thread(victim.kill)
        log.warning("node killed", extra={"node": victim.url, "done": await done(), "queued": queued_at_kill})

        await asyncio.wait_for(producing, DEADLINE_S)
        assert queued_at_kill < TOTAL, "jobs were queued after the kill, not only before it"
        await until_async(lambda: _at_least(done, TOTAL), DEADLINE_S, f"all {TOTAL} jobs done")
        elapsed = time.monotonic() - started

        # Every job queued is done, and done once: exactly one completion each (the witness in its transaction).
        completions = collections.Counter(
            row["job_id"] for row in await witness.fetch(f"SELECT job_id FROM {SCHEMA}.done")
        )
        assert set(completions) == set(queued) and len(queued) == TOTAL
        assert [job for job, times in completions.items() if times != 1] == []
        # Each ran once: no execution of a job that was already done, no second one running beside the first.
        executions = collections.Counter(
            row["job_id"] for row in await witness.fetch(f"SELECT job_id FROM {SCHEMA}.executions")
        )
        assert set(executions) == set(queued)
        assert {job: times for job, times in executions.items() if times != 1} == {}
        # The product's own record agrees.
        statuses = await witness.fetch(f"SELECT status, count(*) AS n FROM {SCHEMA}.job_executions GROUP BY status")
        assert {row["status"]: row["n"] for row in statuses} == {COMPLETED: TOTAL}

        # Both workers carried on after the kill, the one whose server was killed now on another member.
        after = await witness.fetch(f"SELECT DISTINCT worker FROM {SCHEMA}.executions WHERE id > $1", mark)
        assert {row["worker"] for row in after} == {"worker-a", "worker-b"}
        for _, bus in parts:
            assert bus.nc.is_connected and bus.nc.connected_url.port != victim.port

        # Every completion's event is in EVENTS once: nothing the relay published was lost with the node, and its
        # republishes after lost acks were dropped as duplicates of their Nats-Msg-Id.
        reader = parts[-1][1]

        async def all_events() -> list[str] | None:
            events = await _events(reader, EVENT_SUBJECT)
            return events if len(events) >= TOTAL else None

        events = await until_async(all_events, DEADLINE_S, f"{TOTAL} events in EVENTS")
        assert collections.Counter(events) == collections.Counter(str(job) for job in queued)

        # The two members left carry the streams: a leader among them, the killed one's replica offline, and the
        # work queue emptied (every job acked, including those whose first ack was lost with the node).
        async def queue_empty() -> bool:
            return (await reader.js.stream_info(JOBS.name)).state.messages == 0

        await until_async(queue_empty, DEADLINE_S, "every job acked")
        for stream in (JOBS.name, events_stream().name):
            placed = (await reader.js.stream_info(stream)).cluster
            assert placed is not None and placed.leader != victim.cluster.server_name
            assert [peer.name for peer in placed.replicas or [] if peer.offline or not peer.current] == [
                victim.cluster.server_name
            ]
        figures = {
            "jobs": TOTAL, "seconds": round(elapsed, 2), "jobs_per_s": round(TOTAL / elapsed, 1),
            "kill_to_all_done_s": round(time.monotonic() - killed_at, 2),
        }  # fmt: skip
        log.warning("cluster test figures", extra=figures)

        # Back on its own store, the killed member catches up and the streams are whole again.
        await asyncio.to_thread(cluster.restart, victim, DEADLINE_S)

        async def replicas_current() -> bool:
            for stream in (JOBS.name, events_stream().name):
                placed = (await reader.js.stream_info(stream)).cluster
                if placed is None or any(peer.offline or not peer.current for peer in placed.replicas or []):
                    return False
            return True

        await until_async(replicas_current, DEADLINE_S, "the restarted member current on every stream")
    finally:
        stop.set()
        if producing is not None and not producing.done():  # a failed wait leaves it queueing
            producing.cancel()
            running.append(producing)
        await asyncio.wait_for(asyncio.gather(*running, return_exceptions=True), 30)
        for db, bus in parts:
            await bus.close()
            await db.close()
        await setup.close()
        await producer_db.close()
        await witness.close()


async def _at_least(count: Any, n: int) -> bool:
    return await count() >= n


async def _events(bus: Bus, subject: str) -> list[str]:
    """The job ids of every event on `subject`, read from the stream's start by a consumer of the test's own."""
    sub = await bus.js.subscribe(subject, ordered_consumer=True, deliver_policy=DeliverPolicy.ALL)
    ids: list[str] = []
    try:
        while True:
            try:
                msg = await sub.next_msg(timeout=1)
            except nats.errors.TimeoutError:
                return ids
            ids.append(jobs_pb2.GetJobRequest.FromString(msg.data).job_id)
    finally:
        await sub.unsubscribe()
