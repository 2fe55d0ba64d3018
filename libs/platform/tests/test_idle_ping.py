"""Pooled connections are pinged only after sitting idle: a dead idle one is replaced unseen, a
connection that died within the idle window fails one statement and the pool recovers."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from leadflood_platform.db import Database

IDLE_S = 0.3
BACKEND = text("SELECT pg_backend_pid()")


async def _backend(db: Database) -> int:
    async with db.transaction() as session:
        return (await session.execute(BACKEND)).scalar_one()


async def _terminate(admin_dsn: str, pid: int) -> None:
    admin = await asyncpg.connect(admin_dsn)
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await admin.close()


async def test_a_connection_killed_while_idle_is_replaced_before_use(scratch_dsn: str) -> None:
    db = Database(scratch_dsn, pool_size=1, idle_before_ping_s=IDLE_S)
    try:
        first = await _backend(db)
        assert await _backend(db) == first  # back to back: the same pooled connection, not pinged
        await _terminate(scratch_dsn, first)
        await asyncio.sleep(IDLE_S * 2)
        second = await _backend(db)  # the ping found it dead: a new connection, no error
        assert second != first
    finally:
        await db.close()


async def test_a_connection_killed_within_the_idle_window_fails_once_then_the_pool_recovers(
    scratch_dsn: str,
) -> None:
    db = Database(scratch_dsn, pool_size=1, idle_before_ping_s=60)
    try:
        first = await _backend(db)
        await _terminate(scratch_dsn, first)
        await asyncio.sleep(0.1)  # let the server's close reach the client
        with pytest.raises(DBAPIError) as failed:
            await _backend(db)  # not idle long enough to be pinged: the statement meets the dead socket
        assert failed.value.connection_invalidated
        assert await _backend(db) != first  # the retry gets a fresh connection
    finally:
        await db.close()
