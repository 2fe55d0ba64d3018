"""A caller that gives up mid-transaction (a cancelled call, an expired deadline) leaves nothing behind.

Its statement is stopped and its transaction rolled back, and the pooled connection serves the next
caller at once: not idle in a transaction, not holding the row locks it took.
"""

from __future__ import annotations

import asyncio
import time

import asyncpg

from leadflood_platform.db import Database


async def test_a_cancelled_driver_transaction_rolls_back_and_frees_its_connection(scratch_dsn: str) -> None:
    admin = await asyncpg.connect(scratch_dsn)
    await admin.execute("CREATE TABLE cancelled_tx (id int PRIMARY KEY, note text)")
    await admin.execute("INSERT INTO cancelled_tx VALUES (1, 'before')")
    db = Database(scratch_dsn, pool_size=1)  # one connection: the cancelled caller's is the next caller's
    holding = asyncio.Event()

    async def gives_up() -> None:
        async with db.driver_transaction() as connection:
            await connection.execute("UPDATE cancelled_tx SET note = 'cancelled' WHERE id = 1")
            holding.set()
            await connection.execute("SELECT pg_sleep(30)")

    try:
        task = asyncio.create_task(gives_up())
        await asyncio.wait_for(holding.wait(), timeout=10)
        await asyncio.sleep(0.2)  # inside pg_sleep
        task.cancel()
        started = time.monotonic()
        await asyncio.gather(task, return_exceptions=True)
        async with db.driver_transaction() as connection:  # the same pooled connection, usable at once
            assert await connection.fetchval("SELECT note FROM cancelled_tx WHERE id = 1") == "before"
        assert time.monotonic() - started < 5, "the cancelled statement was stopped, not waited for"
        # Nobody holds the row: another connection updates it without waiting.
        await admin.execute("SET lock_timeout = '2s'")
        await admin.execute("UPDATE cancelled_tx SET note = 'after' WHERE id = 1")
        stuck = await admin.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()"
        )
        assert stuck == 0
    finally:
        await db.close()
        await admin.close()


async def test_a_transaction_cancelled_again_while_it_rolls_back_is_not_pooled(scratch_dsn: str) -> None:
    admin = await asyncpg.connect(scratch_dsn)
    await admin.execute("CREATE TABLE twice (id int PRIMARY KEY)")
    db = Database(scratch_dsn, pool_size=1)
    holding = asyncio.Event()

    async def gives_up() -> None:
        async with db.driver_transaction() as connection:
            await connection.execute("INSERT INTO twice VALUES (1)")
            holding.set()
            await connection.execute("SELECT pg_sleep(30)")

    try:
        task = asyncio.create_task(gives_up())
        await asyncio.wait_for(holding.wait(), timeout=10)
        await asyncio.sleep(0.2)
        for _ in range(3):  # cancelled, and cancelled again while it cleans up
            task.cancel()
            await asyncio.sleep(0)
        await asyncio.gather(task, return_exceptions=True)
        async with db.driver_transaction() as connection:  # the pool's one connection, or its replacement
            await connection.execute("INSERT INTO twice VALUES (2)")
        # Committed for everyone: not a savepoint inside the first caller's transaction, left open.
        assert await admin.fetchval("SELECT array_agg(id) FROM twice") == [2]
        stuck = await admin.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()"
        )
        assert stuck == 0
    finally:
        await db.close()
        await admin.close()
