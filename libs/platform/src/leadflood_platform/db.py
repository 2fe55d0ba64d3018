"""The service's connection pool to its own schema, and its units of work.

Which to use when:
- `transaction()`: the default. An ORM session in one transaction; the servicer or the job opens it,
  domain functions take the session and never commit.
- `read()`: a list page's single Core statement, outside a transaction (no BEGIN/COMMIT round trips).
- `driver(transaction=...)`: the bare asyncpg connection, for the hot paths the benchmarks measured
  (a search run's pages, a CSV import) and nothing else. Its SQL names tables without their schema:
  each service's role has its own schema as its search_path.
Retry a unit of work that PostgreSQL aborted to break a deadlock with `deadlock_retries()`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

import asyncpg
from opentelemetry import trace
from sqlalchemy import DateTime, MetaData, event, func, text
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, mapped_column

from leadflood_platform import tracing
from leadflood_platform.errors import InvalidArgument, bounded

log = logging.getLogger(__name__)

# SQLSTATE of a transaction PostgreSQL aborted to break a deadlock: nothing of it was written.
DEADLOCK_DETECTED = "40P01"
# Transactions PostgreSQL rolled back because of a concurrent one (a deadlock, a serialization
# failure): nothing was written, and the same request may well succeed when sent again.
CONFLICT_SQLSTATES = frozenset({DEADLOCK_DETECTED, "40001"})

# The data exceptions (SQLSTATE class 22) that mean a value the caller sent cannot be stored as
# given, rather than a fault of ours (a division by zero, say, stays an internal error).
BAD_VALUE_SQLSTATES = frozenset(
    {
        "22001",  # string data right truncation: too long
        "22003",  # numeric value out of range
        "22007",  # invalid datetime format
        "22008",  # datetime field overflow
        "22021",  # character not in repertoire: a NUL in text
        "22P02",  # invalid text representation
        "22P05",  # untranslatable character
    }
)

# A pooled connection is pinged before use only after sitting idle this long. SQLAlchemy's
# pool_pre_ping pings on every checkout, and asyncpg's ping is three round trips (BEGIN, an empty
# statement, ROLLBACK): during a search run that was 3-5% of the services' CPU and some of
# PostgreSQL's, for connections that had been in use a millisecond before.
IDLE_BEFORE_PING_S = 1.0

# Names for constraints, so migrations and models agree on them.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# The timestamps most tables carry, as column types: `created_at: Mapped[CreatedAt]`.
CreatedAt = Annotated[dt.datetime, mapped_column(DateTime(timezone=True), server_default=func.now())]
UpdatedAt = Annotated[
    dt.datetime, mapped_column(DateTime(timezone=True), server_default=func.now(), onupdate=func.now())
]


def declarative_base(schema: str) -> type[DeclarativeBase]:
    """A model base whose tables live in the service's own schema."""

    class Base(DeclarativeBase):
        metadata = MetaData(schema=schema, naming_convention=NAMING)

    return Base


def sqlstate(error: BaseException) -> str | None:
    """The SQLSTATE of a database error, as SQLAlchemy wraps it (on `orig`) or as the driver raised it."""
    return getattr(getattr(error, "orig", error), "sqlstate", None)


def refused_value(error: BaseException) -> InvalidArgument | None:
    """PostgreSQL refusing a caller's value, as the caller's error, for whatever validation missed it.

    None for any other error. The unit of work's transaction rolled back with it: nothing was written.
    """
    if sqlstate(error) not in BAD_VALUE_SQLSTATES:
        return None
    reason = (str(getattr(error, "orig", error)).splitlines() or ["invalid value"])[0]
    return InvalidArgument(f"a value cannot be stored: {bounded(reason, 200)}")


def concurrent_conflict(error: BaseException) -> bool:
    """True when PostgreSQL rolled the unit of work back because of a concurrent one (see CONFLICT_SQLSTATES)."""
    return sqlstate(error) in CONFLICT_SQLSTATES


def asyncpg_url(url: str) -> str:
    """A postgresql:// (or postgres://) URL with SQLAlchemy's asyncpg dialect; other URLs as given."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    return url


class Database:
    """One engine and session factory per process; `url` may be a plain postgresql:// URL."""

    def __init__(self, url: str, *, pool_size: int = 10, idle_before_ping_s: float = IDLE_BEFORE_PING_S) -> None:
        self.engine: AsyncEngine = create_async_engine(
            asyncpg_url(url),
            pool_size=pool_size,
            max_overflow=pool_size,
            # A statement that hangs must not hold a request forever.
            connect_args={"command_timeout": 30, "timeout": 10},
        )
        _ping_when_idle(self.engine, idle_before_ping_s)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._autocommit = self.engine.execution_options(isolation_level="AUTOCOMMIT")

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """The default: an ORM session inside one transaction, committed on success, rolled back on any error."""
        with _transaction_span("orm"):
            async with self.sessions() as session, session.begin():
                yield session

    @contextlib.asynccontextmanager
    async def snapshot(self) -> AsyncIterator[AsyncSession]:
        """An ORM session in one read-only REPEATABLE READ transaction: its statements see one moment, so a list's
        page and its total agree (under READ COMMITTED each statement sees its own: a page read before three new
        rows committed and a total read after them showed "3" over one row)."""
        with _transaction_span("orm"):
            async with self.sessions() as session, session.begin():
                await session.connection(
                    execution_options={"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
                )
                yield session

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A pooled connection outside any transaction, for a read that is a single Core statement.

        A statement is atomic on its own; BEGIN and COMMIT around it were two more round trips and
        a fifth of the leads service's time for a list page (measured in-process, 9.3 -> 7.4 ms).
        """
        async with self._autocommit.connect() as connection:
            yield connection

    @contextlib.asynccontextmanager
    async def driver(self, *, transaction: bool) -> AsyncIterator[asyncpg.Connection]:
        """A pooled connection's own asyncpg connection, for a measured hot path's hand-written SQL.

        SQLAlchemy costs about 165 µs of CPU per statement over asyncpg's own, and its result rows
        more: on a search run's pages, the leads service spent 22% less CPU without it (interleaved
        A/B). `transaction=True` runs the block in one transaction; `False` lets each statement commit
        alone (no BEGIN and COMMIT round trips, and no transaction held open, with its locks, while
        the caller's event loop is busy elsewhere). Errors come out as SQLAlchemy's would (a
        DBAPIError with the SQLSTATE on `orig`, `connection_invalidated` when PostgreSQL went away),
        so deadlock retries, refused values and UNAVAILABLE treat both paths alike. SQLAlchemy's codecs
        stay on the connection: JSON goes in as text and comes out parsed.
        """
        async with self._driver() as driver:
            if not transaction:
                yield driver
                return
            with _transaction_span("asyncpg"):
                async with driver.transaction():
                    yield driver

    @contextlib.asynccontextmanager
    async def _driver(self) -> AsyncIterator[asyncpg.Connection]:
        async with self.engine.connect() as connection:
            driver = (await connection.get_raw_connection()).driver_connection
            try:
                yield driver
            except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as error:
                lost = driver.is_closed() or (isinstance(error, OSError) and not isinstance(error, TimeoutError))
                if lost:  # the pool drops it, as it does when SQLAlchemy's own statement meets a dead connection
                    await connection.invalidate(error)
                raise DBAPIError(None, None, error, connection_invalidated=lost) from error
            except asyncio.CancelledError:
                # Cancelled (a cancelled call, an expired deadline): the connection may be in a state
                # nothing here can see. A BEGIN cancelled in flight leaves asyncpg counting it as the
                # connection's transaction while PostgreSQL may not have seen it end, so the next
                # caller's transaction would nest in it as a savepoint and its commit would commit
                # nothing. Closing it is the one safe way (PostgreSQL rolls back whatever was open); a
                # cancel is rare, and a new connection costs a few ms. (An ordinary error has already
                # been rolled back by the transaction's own exit, and keeps its connection.)
                await connection.invalidate()
                raise
            finally:
                if not driver.is_closed() and driver.is_in_transaction():
                    # Left open however it ended (its rollback failed, say): SQLAlchemy's reset on return
                    # does not see a transaction it did not start, and pooled, it would swallow the next
                    # caller's as above.
                    await connection.invalidate()

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("select 1"))

    async def close(self) -> None:
        await self.engine.dispose()


def _ping_when_idle(engine: AsyncEngine, idle_s: float) -> None:
    """Ping a connection on checkout if it sat in the pool longer than `idle_s`; replace it if dead.

    A connection that breaks within `idle_s` of its last use (PostgreSQL restarted meanwhile) fails
    its next statement instead; SQLAlchemy then invalidates it and every connection pooled before
    it, so the caller's retry gets a fresh one.
    """
    pool = engine.sync_engine.pool

    @event.listens_for(pool, "checkin")
    def idle_since(dbapi_connection: Any, record: Any) -> None:
        if dbapi_connection is not None:  # None: the connection was invalidated
            record.info["idle_since"] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def ping_if_idle(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        since = record.info.get("idle_since")  # absent on a new connection: nothing to check
        if since is not None and time.monotonic() - since > idle_s:
            try:
                dbapi_connection.ping()
            except Exception as error:  # the pool closes it and checks out another
                raise DisconnectionError("pooled connection failed its ping") from error


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
        deadlock = isinstance(error, DBAPIError) and sqlstate(error) == DEADLOCK_DETECTED
        self.deadlocked = deadlock and not self.last
        return self.deadlocked  # swallowed: the caller's loop runs the next attempt


_tracer = trace.get_tracer("leadflood.db")


def _transaction_span(path: str) -> Any:
    """A span from BEGIN to COMMIT (or rollback), so a trace shows each transaction a request or job ran, in the
    service that ran it; none while no tracer is installed (tracing.active)."""
    if not tracing.active():
        return contextlib.nullcontext()
    return _tracer.start_as_current_span(
        "db.transaction",
        kind=trace.SpanKind.CLIENT,
        attributes={"db.system.name": "postgresql", "leadflood.db.path": path},
    )
