"""The outbox relay against real PostgreSQL and NATS: its LISTEN connection lost (as in a PostgreSQL
restart) is replaced at once, so messages keep going out on NOTIFY, not on the next poll."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable

import asyncpg
from sqlalchemy import MetaData, func, select

from devstack.stack import Stack
from leadflood.jobs.v1 import jobs_pb2
from leadflood_platform import outbox
from leadflood_platform.bus import Bus
from leadflood_platform.db import Database
from leadflood_platform.tables import PlatformTables

POLL_S = 30.0  # far longer than the test waits: only a NOTIFY can explain a prompt publish


async def _listener_pids(admin: asyncpg.Connection) -> list[int]:
    rows = await admin.fetch(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN %'"
    )
    return [row["pid"] for row in rows]


async def _until(check: Callable[[], Awaitable[bool]], timeout_s: float = 5.0) -> float:
    started = time.monotonic()
    while not await check():
        assert time.monotonic() - started < timeout_s, "timed out"
        await asyncio.sleep(0.05)
    return time.monotonic() - started


async def test_a_lost_listen_connection_is_replaced_and_notify_still_publishes(stack: Stack, scratch_dsn: str) -> None:
    assert stack.nats is not None
    tables = PlatformTables(MetaData(schema="relay_test"))
    db = Database(scratch_dsn, pool_size=2)
    admin = await asyncpg.connect(scratch_dsn)
    bus = await Bus.connect(stack.nats.url, name="relay-test")
    relay = outbox.OutboxRelay(db, bus, tables)
    stop = asyncio.Event()
    try:
        await admin.execute("CREATE SCHEMA relay_test")
        async with db.engine.begin() as conn:
            await conn.run_sync(tables.outbox.metadata.create_all)
        running = asyncio.create_task(relay.run(stop, poll_interval_s=POLL_S))

        async def send_and_time() -> float:
            async with db.transaction() as session:
                message = jobs_pb2.GetJobRequest(job_id=str(uuid.uuid4()))
                await outbox.enqueue(session, tables, subject="leads.relay", message=message, msg_id=message.job_id)

            async def drained() -> bool:
                async with db.transaction() as session:
                    return await session.scalar(select(func.count()).select_from(tables.outbox)) == 0

            return await _until(drained)

        await _until(lambda: _listening(admin))
        assert await send_and_time() < 2
        [first] = await _listener_pids(admin)
        await admin.execute("SELECT pg_terminate_backend($1)", first)  # what a restart does to it
        await _until(lambda: _listening(admin, other_than=first))
        assert await send_and_time() < 2  # published on NOTIFY through the new listener
        stop.set()
        await asyncio.wait_for(running, 5)
    finally:
        stop.set()
        await bus.close()
        await admin.close()
        await db.close()


async def _listening(admin: asyncpg.Connection, *, other_than: int | None = None) -> bool:
    return any(pid != other_than for pid in await _listener_pids(admin))
