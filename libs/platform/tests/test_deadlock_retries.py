"""deadlock_retries: a real deadlock in a scratch database, the victim's work run again to success."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from leadflood_platform.db import Database, deadlock_retries


async def _waiting(conn: asyncpg.Connection, pid: int) -> bool:
    """Whether backend `pid` waits for another transaction's lock. pg_locks is the whole server's: counting every
    waiter there took another test's (or the stack's) waiting transaction for this one's."""
    query = "SELECT count(*) FROM pg_locks WHERE locktype = 'transactionid' AND NOT granted AND pid = $1"
    return bool(await conn.fetchval(query, pid))


async def _until_waiting(conn: asyncpg.Connection, pid: int) -> None:
    for _ in range(500):
        if await _waiting(conn, pid):
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"backend {pid} never started waiting")


@pytest.mark.parametrize("victim_path", ["session", "driver"])
async def test_the_transaction_picked_to_break_a_deadlock_runs_again(scratch_dsn: str, victim_path: str) -> None:
    setup = await asyncpg.connect(scratch_dsn)
    await setup.execute("CREATE TABLE rows (id int PRIMARY KEY, touched_by text[] NOT NULL DEFAULT '{}')")
    await setup.execute("INSERT INTO rows (id) VALUES (1), (2)")
    db = Database(scratch_dsn, pool_size=2)
    touch = text("UPDATE rows SET touched_by = touched_by || CAST(:who AS text) WHERE id = :id")
    bare_touch = "UPDATE rows SET touched_by = touched_by || CAST($1 AS text) WHERE id = $2"
    victim_locked_2, other_waits, attempts = asyncio.Event(), asyncio.Event(), 0

    # Which of two deadlocked transactions PostgreSQL aborts is the one whose deadlock_timeout runs out first
    # while the cycle exists. So the cycle is closed by the victim, last, after `other` is waiting with a
    # minute's timeout: the victim's own one-second check is then the one that finds it, however slow the
    # machine (closing it the other way round failed when `other` came to wait over a second late).
    async def victim() -> None:  # takes row 2, then row 1 once `other` waits for row 2: PostgreSQL aborts it
        nonlocal attempts
        async for attempt in deadlock_retries():
            with attempt:
                attempts += 1
                if victim_path == "driver":  # the hot paths' bare asyncpg connection
                    async with db.driver(transaction=True) as driver:
                        await driver.execute(bare_touch, "victim", 2)
                        victim_locked_2.set()
                        await other_waits.wait()
                        await driver.execute(bare_touch, "victim", 1)
                    return
                async with db.transaction() as session:
                    await session.execute(touch, {"who": "victim", "id": 2})
                    victim_locked_2.set()
                    await other_waits.wait()
                    await session.execute(touch, {"who": "victim", "id": 1})

    try:
        async with db.transaction() as other:
            await other.execute(text("SET LOCAL deadlock_timeout = '60s'"))
            other_pid = (await other.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            await other.execute(touch, {"who": "other", "id": 1})
            running = asyncio.create_task(victim())
            await victim_locked_2.wait()
            blocked = asyncio.create_task(other.execute(touch, {"who": "other", "id": 2}))  # waits on row 2
            await _until_waiting(setup, other_pid)
            other_waits.set()  # the victim now waits on row 1: a deadlock its own check finds, so it loses
            await blocked
        await asyncio.wait_for(running, 10)
        # Run again until it went through: twice, or more when a loaded machine's timing made it lose again.
        assert attempts >= 2
        rows = dict(await setup.fetch("SELECT id, touched_by FROM rows ORDER BY id"))
        assert rows == {1: ["other", "victim"], 2: ["other", "victim"]}  # the first attempt left nothing
    finally:
        await setup.close()
        await db.close()


async def test_other_errors_and_the_last_deadlock_are_raised() -> None:
    calls = 0
    with pytest.raises(IntegrityError):
        async for attempt in deadlock_retries():
            with attempt:
                calls += 1
                raise IntegrityError("INSERT", {}, Exception("duplicate key"))
    assert calls == 1

    class Deadlock(Exception):
        sqlstate = "40P01"

    calls = 0
    with pytest.raises(DBAPIError):
        async for attempt in deadlock_retries(attempts=2):
            with attempt:
                calls += 1
                raise DBAPIError("UPDATE", {}, Deadlock("deadlock detected"))
    assert calls == 2
