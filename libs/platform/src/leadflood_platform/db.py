"""The service's connection pool to its own schema, and the one-transaction-per-unit-of-work helper."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from sqlalchemy import MetaData, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase

log = logging.getLogger(__name__)

# SQLSTATE of a transaction PostgreSQL aborted to break a deadlock: nothing of it was written.
DEADLOCK_DETECTED = "40P01"

# Names for constraints, so migrations and models agree on them.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def declarative_base(schema: str) -> type[DeclarativeBase]:
    """A model base whose tables live in the service's own schema."""

    class Base(DeclarativeBase):
        metadata = MetaData(schema=schema, naming_convention=NAMING)

    return Base


def asyncpg_url(url: str) -> str:
    """A postgresql:// (or postgres://) URL with SQLAlchemy's asyncpg dialect; other URLs as given."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    return url


class Database:
    """One engine and session factory per process; `url` may be a plain postgresql:// URL."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.engine: AsyncEngine = create_async_engine(
            asyncpg_url(url),
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_pre_ping=True,
            # A statement that hangs must not hold a request forever.
            connect_args={"command_timeout": 30, "timeout": 10},
        )
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction: committed on success, rolled back on any error."""
        async with self.sessions() as session, session.begin():
            yield session

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("select 1"))

    async def close(self) -> None:
        await self.engine.dispose()


async def deadlock_retries(attempts: int = 3) -> AsyncIterator[contextlib.AbstractContextManager[None]]:
    """Attempts at a unit of work, the next one only after PostgreSQL broke a deadlock by aborting the last.

        async for attempt in deadlock_retries():
            with attempt:
                async with db.transaction() as session: ...

    Any other error, or a deadlock on the last attempt, propagates.
    """
    for number in range(1, attempts + 1):
        attempt = _Attempt(last=number == attempts)
        yield attempt
        if not attempt.deadlocked:
            return
        log.warning("deadlock: transaction rolled back, trying again", extra={"attempt": number})


class _Attempt(contextlib.AbstractContextManager[None]):
    def __init__(self, *, last: bool) -> None:
        self.last, self.deadlocked = last, False

    def __exit__(self, kind: object, error: BaseException | None, trace: object) -> bool:
        deadlock = isinstance(error, DBAPIError) and getattr(error.orig, "sqlstate", None) == DEADLOCK_DETECTED
        self.deadlocked = deadlock and not self.last
        return self.deadlocked  # swallowed: the caller's loop runs the next attempt
