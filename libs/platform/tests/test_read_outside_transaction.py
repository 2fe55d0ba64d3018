"""Database.read: a pooled connection with no transaction around its statements."""

from __future__ import annotations

from sqlalchemy import text

from leadflood_platform.db import Database


async def test_each_statement_is_its_own_transaction_and_the_pool_stays_transactional(scratch_dsn: str) -> None:
    db = Database(scratch_dsn, pool_size=1)  # one connection: the same one serves every block below
    xid = text("SELECT pg_current_xact_id()::text")
    try:
        async with db.read() as connection:
            first, second = (await connection.scalar(xid)), (await connection.scalar(xid))
        assert first != second  # no BEGIN before them: each committed on its own
        async with db.transaction() as session:  # the connection went back to the pool transactional again
            assert (await session.scalar(xid)) == (await session.scalar(xid))
    finally:
        await db.close()
