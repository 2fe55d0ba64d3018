"""Jobs through an R3 stream against an R1 one: the product's job machinery (jobs.enqueue, the outbox relay, two job
workers) on one nats-server and on a three-node cluster with the streams at NATS_STREAM_REPLICAS=3, the same load."""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncSession

from bench.context import Context
from bench.raw_limits import JS_PUBLISH
from bench.report import Row
from devstack.nats import LocalNats
from devstack.nats_cluster import LocalNatsCluster
from devstack.ports import free_port
from leadflood.jobs.v1 import jobs_pb2
from leadflood_platform import jobs
from leadflood_platform.bus import Bus
from leadflood_platform.db import Database
from leadflood_platform.jobs import JobKind, JobWorker
from leadflood_platform.outbox import OutboxRelay
from leadflood_platform.tables import PlatformTables

JOBS = 1000
ROUNDS = 3
WORKERS = 2
DEADLINE_S = 300
SCHEMA = "js_bench"
COMPLETED = f"SELECT count(*) FROM {SCHEMA}.job_executions WHERE status = 'completed'"
SETTINGS = {"jobs": JOBS, "workers": WORKERS, "rounds": ROUNDS, "replicas": [1, 3]}


class Nothing(JobKind[jobs_pb2.GetJobRequest, None]):
    """A job whose handler does nothing: what is left is the machinery's cost (claim, completion, ack, publish)."""

    type = "jsbench.nothing"
    message_type = jobs_pb2.GetJobRequest

    async def perform(self, message: jobs_pb2.GetJobRequest, attempt: int) -> None:
        return None

    async def apply(self, session: AsyncSession, message: jobs_pb2.GetJobRequest, outcome: None) -> dict[str, Any]:
        return {}


async def rows(ctx: Context) -> list[Row]:
    """Each replication measured ROUNDS times, interleaved (R1 R3 R3 R1 R1 R3): other work on the machine moves both
    alike; the medians and the median of each round's R3 / R1 are shown."""
    figures: dict[int, list[float]] = {1: [], 3: []}
    for round_ in range(ROUNDS):
        for replicas in (1, 3) if round_ % 2 == 0 else (3, 1):
            ctx.progress(f"jetstream: round {round_ + 1} of {ROUNDS}, {JOBS} jobs at R{replicas}...")
            with tempfile.TemporaryDirectory(prefix="leadflood-bench-js-") as state:
                figures[replicas].append(await _jobs_per_s(ctx, Path(state), replicas))
    ctx.progress("jetstream: done", last=True)
    publish = ctx.limits.get(JS_PUBLISH)
    ratios = [r3 / r1 for r1, r3 in zip(figures[1], figures[3], strict=True)]
    ctx.notes.append(
        "jobs through JOBS, each round (jobs/s): "
        + ", ".join(f"R1 {r1:.0f} / R3 {r3:.0f}" for r1, r3 in zip(figures[1], figures[3], strict=True))
    )
    r1, r3 = statistics.median(figures[1]), statistics.median(figures[3])
    return [
        Row(f"jobs through JOBS, 1 server, R1 ({WORKERS} workers)", r1, "jobs/s", publish),
        Row(f"jobs through JOBS, 3-node cluster, R3 ({WORKERS} workers)", r3, "jobs/s", publish),
        Row("  R3 / R1, median of the rounds", 100 * statistics.median(ratios), "%"),
    ]


async def _jobs_per_s(ctx: Context, state: Path, replicas: int) -> float:
    """JOBS jobs queued, then timed from the relay and workers' start to the last one completed."""
    servers: LocalNats | LocalNatsCluster
    if replicas == 1:
        servers = LocalNats(state / "nats", free_port(), free_port())
        servers.start(state / "nats.log")
        url = servers.url
    else:
        servers = LocalNatsCluster(state / "nats")
        servers.start()
        url = servers.urls[0]
    database = f"js_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(ctx.admin_dsn)
    await admin.execute(f'CREATE DATABASE "{database}"')
    dsn = ctx.admin_dsn.rsplit("/", 1)[0] + f"/{database}"
    previous = os.environ.get("NATS_STREAM_REPLICAS")
    os.environ["NATS_STREAM_REPLICAS"] = str(replicas)
    stop, parts, running = asyncio.Event(), [], []
    try:
        tables = PlatformTables(MetaData(schema=SCHEMA), version=2)
        db = Database(dsn, pool_size=4)
        async with db.engine.begin() as conn:
            await conn.exec_driver_sql(f"CREATE SCHEMA {SCHEMA}")
            await conn.run_sync(tables.outbox.metadata.create_all)
        for start in range(0, JOBS, 100):
            async with db.transaction() as session:
                for _ in range(min(100, JOBS - start)):
                    message = jobs_pb2.GetJobRequest()
                    await jobs.enqueue(session, tables, Nothing, message, org_id=uuid.uuid4(), max_attempts=3)
        for name in ("relay", *(f"worker-{n}" for n in range(WORKERS))):
            parts.append((Database(dsn, pool_size=6), await Bus.connect(url, name=f"bench-{name}")))
        started = time.monotonic()
        (relay_db, relay_bus), *workers = parts
        running.append(asyncio.create_task(OutboxRelay(relay_db, relay_bus, tables).run(stop, poll_interval_s=0.2)))
        for worker_db, bus in workers:
            worker = JobWorker(
                service="jsbench", db=worker_db, bus=bus, tables=tables, kinds=[Nothing()], backoff_ms=[100],
                ack_wait_ms=30_000,
            )  # fmt: skip
            running.append(asyncio.create_task(worker.run(stop)))
        counter = await asyncpg.connect(dsn)
        try:
            deadline = started + DEADLINE_S
            while await counter.fetchval(COMPLETED) < JOBS:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{JOBS} jobs at R{replicas} not done in {DEADLINE_S} s")
                await asyncio.sleep(0.05)
        finally:
            await counter.close()
        took = time.monotonic() - started
        await db.close()
        return JOBS / took
    finally:
        stop.set()
        await asyncio.gather(*running, return_exceptions=True)
        for part_db, bus in parts:
            await bus.close()
            await part_db.close()
        if previous is None:
            os.environ.pop("NATS_STREAM_REPLICAS", None)
        else:
            os.environ["NATS_STREAM_REPLICAS"] = previous
        await admin.execute(f'DROP DATABASE "{database}" WITH (FORCE)')
        await admin.close()
        servers.stop()
