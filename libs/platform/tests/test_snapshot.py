"""Database.snapshot: a list's page and its total read in one read-only REPEATABLE READ transaction see one
moment, whatever commits between them; and the pool's next session is READ COMMITTED and writable again."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from leadflood_platform.db import Database


async def test_two_statements_of_a_snapshot_see_one_moment(scratch_dsn: str) -> None:
    admin = await asyncpg.connect(scratch_dsn)
    await admin.execute("CREATE TABLE snap (n int)")
    db = Database(scratch_dsn, pool_size=1)  # one connection: the same one serves every block below
    try:
        async with db.snapshot() as session:
            before = await session.scalar(text("SELECT count(*) FROM snap"))
            await admin.execute("INSERT INTO snap VALUES (1), (2), (3)")  # committed between the two reads
            after = await session.scalar(text("SELECT count(*) FROM snap"))
            assert (before, after) == (0, 0)
            with pytest.raises(DBAPIError, match="read-only"):
                await session.execute(text("INSERT INTO snap VALUES (4)"))
        async with db.transaction() as session:  # back in the pool as it was: each statement sees the latest
            assert await session.scalar(text("SHOW transaction_isolation")) == "read committed"
            assert await session.scalar(text("SELECT count(*) FROM snap")) == 3
            await session.execute(text("INSERT INTO snap VALUES (4)"))
            await admin.execute("INSERT INTO snap VALUES (5)")
            assert await session.scalar(text("SELECT count(*) FROM snap")) == 5
    finally:
        await db.close()
        await admin.close()
