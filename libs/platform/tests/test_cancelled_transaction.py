"""A caller that gives up mid-transaction (a cancelled call, an expired deadline) leaves nothing behind.

Its statement is stopped and its transaction rolled back, and the pooled connection serves the next
caller at once: not idle in a transaction, not holding the row locks it took.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import asyncpg
import pytest
from sqlalchemy import text

from leadflood_platform.db import Database

IDLE_IN_TRANSACTION = (
    "SELECT count(*) FROM pg_stat_activity WHERE state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()"
    # This test's own database: the session's stack shares the cluster, and its schedulers hold a transaction
    # open while they send (idle in transaction between statements, as designed).
    " AND datname = current_database()"
)


async def _cancel_mid_transaction(db: Database, write: str, *, times: int) -> float:
    """Runs `write` then a long sleep in a driver transaction, cancels it `times` times in a row while it
    sleeps (and then cleans up), and waits for it to end; returns when the first cancel was sent."""
    holding = asyncio.Event()

    async def gives_up() -> None:
        async with db.driver(transaction=True) as connection:
            await connection.execute(write)
            holding.set()
            await connection.execute("SELECT pg_sleep(30)")

    task = asyncio.create_task(gives_up())
    await asyncio.wait_for(holding.wait(), timeout=10)
    await asyncio.sleep(0.2)  # inside pg_sleep
    cancelled_at = time.monotonic()
    for _ in range(times):
        task.cancel()
        await asyncio.sleep(0)
    await asyncio.gather(task, return_exceptions=True)
    return cancelled_at


async def test_a_cancelled_driver_transaction_rolls_back_and_frees_its_connection(scratch_dsn: str) -> None:
    admin = await asyncpg.connect(scratch_dsn)
    await admin.execute("CREATE TABLE cancelled_tx (id int PRIMARY KEY, note text)")
    await admin.execute("INSERT INTO cancelled_tx VALUES (1, 'before')")
    db = Database(scratch_dsn, pool_size=1)  # one connection: the cancelled caller's is the next caller's
    try:
        started = await _cancel_mid_transaction(db, "UPDATE cancelled_tx SET note = 'cancelled' WHERE id = 1", times=1)
        async with db.driver(transaction=True) as connection:  # the same pooled connection, usable at once
            assert await connection.fetchval("SELECT note FROM cancelled_tx WHERE id = 1") == "before"
        assert time.monotonic() - started < 5, "the cancelled statement was stopped, not waited for"
        # Nobody holds the row: another connection updates it without waiting.
        await admin.execute("SET lock_timeout = '2s'")
        await admin.execute("UPDATE cancelled_tx SET note = 'after' WHERE id = 1")
        assert await admin.fetchval(IDLE_IN_TRANSACTION) == 0
    finally:
        await db.close()
        await admin.close()


async def test_a_transaction_cancelled_again_while_it_rolls_back_is_not_pooled(scratch_dsn: str) -> None:
    admin = await asyncpg.connect(scratch_dsn)
    await admin.execute("CREATE TABLE twice (id int PRIMARY KEY)")
    db = Database(scratch_dsn, pool_size=1)
    try:
        await _cancel_mid_transaction(db, "INSERT INTO twice VALUES (1)", times=3)  # again while it cleans up
        async with db.driver(transaction=True) as connection:  # the pool's one connection, or its replacement
            await connection.execute("INSERT INTO twice VALUES (2)")
        # Committed for everyone: not a savepoint inside the first caller's transaction, left open.
        assert await admin.fetchval("SELECT array_agg(id) FROM twice") == [2]
        assert await admin.fetchval(IDLE_IN_TRANSACTION) == 0
    finally:
        await db.close()
        await admin.close()


async def _insert_on_driver(db: Database, row: int) -> None:
    async with db.driver(transaction=True) as connection:
        await connection.execute("INSERT INTO anywhere VALUES ($1)", row)


async def _insert_alone(db: Database, row: int) -> None:
    async with db.driver(transaction=False) as connection:
        await connection.execute("INSERT INTO anywhere VALUES ($1)", row)


async def _insert_in_session(db: Database, row: int) -> None:
    async with db.transaction() as session:
        await session.execute(text("INSERT INTO anywhere VALUES (:row)"), {"row": row})


@pytest.mark.parametrize(
    "insert", [_insert_on_driver, _insert_alone, _insert_in_session], ids=["driver", "driver-statement", "session"]
)
async def test_a_unit_of_work_cancelled_at_any_point_leaves_the_pool_committing(
    scratch_dsn: str, insert: Callable[[Database, int], Awaitable[None]]
) -> None:
    """Cancelled at each of its await points in turn (checkout, BEGIN, the write, COMMIT), a caller
    leaves the pooled connection fit for the next one, whose commit is a real commit. (A BEGIN cancelled
    in flight once left the driver's connection inside a transaction asyncpg still counted as open.)"""
    admin = await asyncpg.connect(scratch_dsn)
    await admin.execute("CREATE TABLE anywhere (id int PRIMARY KEY)")
    db = Database(scratch_dsn, pool_size=1)
    try:
        for steps in range(60):  # past the last await point: the later callers are not cancelled at all
            task = asyncio.create_task(insert(db, -1 - steps))
            for _ in range(steps):
                await asyncio.sleep(0)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await insert(db, steps)
            # Seen by another connection: committed, not a savepoint in a transaction the cancel left open.
            assert await admin.fetchval("SELECT count(*) FROM anywhere WHERE id = $1", steps) == 1, steps
        assert await admin.fetchval(IDLE_IN_TRANSACTION) == 0
    finally:
        await db.close()
        await admin.close()
