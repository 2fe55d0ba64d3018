"""The transactional outbox: messages written with the data they describe, published after commit."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
from collections.abc import Sequence

import asyncpg
from google.protobuf.message import Message
from sqlalchemy import delete, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood_platform import metrics, tracing
from leadflood_platform.bus import TYPE_HEADER, Bus
from leadflood_platform.db import Database
from leadflood_platform.tables import PlatformTables

log = logging.getLogger(__name__)


async def enqueue(
    into: AsyncSession | asyncpg.Connection,
    tables: PlatformTables,
    *,
    subject: str,
    message: Message | bytes,
    msg_id: str,
    headers: dict[str, str] | None = None,
) -> None:
    """Write a message to the outbox in the caller's transaction; the relay publishes it after commit.

    `into` is a session, or the bare connection of a Database.driver(transaction=True): one statement for both.
    `message` may be one serialised already (a job's kept message, replayed).
    """
    typed = {TYPE_HEADER: message.DESCRIPTOR.full_name} if isinstance(message, Message) else {}
    headers = tracing.message_headers() | typed | (headers or {})
    payload = message.SerializeToString() if isinstance(message, Message) else message
    # JSON as text: what the pool's connections take for jsonb, through SQLAlchemy or not.
    params = (subject, msg_id, payload, json.dumps(headers))
    if isinstance(into, AsyncSession):
        await (await into.connection()).exec_driver_sql(_enqueue_sql(tables), params)
    else:
        await into.execute(_enqueue_sql(tables), *params)


async def enqueue_many(
    into: AsyncSession | asyncpg.Connection, tables: PlatformTables, messages: Sequence[tuple[str, str, Message]]
) -> None:
    """Many messages (subject, msg_id, message) to the outbox in one statement, published in this order; the
    rows and headers enqueue writes for each (the caller's trace context, the message's type), so a consumer
    cannot tell the two apart. A batch's hundreds of events or jobs are one round trip, not one each."""
    if not messages:
        return
    carried = tracing.message_headers()
    params = (
        [subject for subject, _, _ in messages],
        [msg_id for _, msg_id, _ in messages],
        [message.SerializeToString() for _, _, message in messages],
        [json.dumps(carried | {TYPE_HEADER: message.DESCRIPTOR.full_name}) for _, _, message in messages],
    )
    if isinstance(into, AsyncSession):
        await (await into.connection()).exec_driver_sql(_enqueue_many_sql(tables), params)
    else:
        await into.execute(_enqueue_many_sql(tables), *params)


@functools.cache
def _enqueue_many_sql(tables: PlatformTables) -> str:
    # In the order given: the outbox's ids, and so the relay's publishing order, follow the ordinality.
    return (
        f"WITH stored AS (INSERT INTO {tables.schema}.outbox (subject, msg_id, payload, headers)"
        " SELECT m.subject, m.msg_id, m.payload, m.headers"
        " FROM unnest($1::text[], $2::text[], $3::bytea[], $4::jsonb[]) WITH ORDINALITY AS m(subject, msg_id, payload,"
        " headers, n) ORDER BY m.n)"
        f" SELECT pg_notify('{tables.outbox_channel}', '')"
    )


@functools.cache
def _enqueue_sql(tables: PlatformTables) -> str:
    # The row and the relay's wake-up in one round trip (a data-modifying WITH runs whether or not it
    # is read). NOTIFY is delivered on commit only, so the relay never wakes for a rolled-back message.
    return (
        f"WITH stored AS (INSERT INTO {tables.schema}.outbox (subject, msg_id, payload, headers) "
        f"VALUES ($1, $2, $3, $4)) SELECT pg_notify('{tables.outbox_channel}', '')"
    )


class OutboxRelay:
    """Publishes outbox rows to JetStream in order, with Nats-Msg-Id so a re-publish is de-duplicated."""

    def __init__(self, db: Database, bus: Bus, tables: PlatformTables, *, batch: int = 500) -> None:
        self.db, self.bus, self.tables, self.batch = db, bus, tables, batch
        self._wake = asyncio.Event()

    async def publish_pending(self) -> int:
        """Publish one batch and delete it in the same transaction; returns how many were sent."""
        outbox = self.tables.outbox
        async with self.db.transaction() as session:
            rows = (
                await session.execute(
                    select(outbox).order_by(outbox.c.id).limit(self.batch).with_for_update(skip_locked=True)
                )
            ).all()
            if not rows:
                return 0
            # If the commit below fails after these acks, the rows are published again and the
            # stream drops them as duplicates of their Nats-Msg-Id.
            await asyncio.gather(
                *(self.bus.publish(row.subject, row.payload, msg_id=row.msg_id, headers=row.headers) for row in rows)
            )
            await session.execute(delete(outbox).where(outbox.c.id.in_([row.id for row in rows])))
        return len(rows)

    async def measure_backlog(self) -> tuple[int, float]:
        """The rows not yet published and the oldest one's age in seconds, into the outbox gauges."""
        outbox = self.tables.outbox
        async with self.db.transaction() as session:
            waited = func.extract("epoch", func.now() - func.min(outbox.c.created_at))
            count, age = (await session.execute(select(func.count(), func.coalesce(waited, 0)))).one()
        metrics.OUTBOX_BACKLOG.labels(self.tables.schema).set(count)
        metrics.OUTBOX_OLDEST_AGE.labels(self.tables.schema).set(max(0.0, float(age)))
        return int(count), float(age)

    async def report_backlog(self, stop: asyncio.Event, *, every_s: float = 10.0) -> None:
        """measure_backlog every `every_s` until stopped: one statement a period, none on the publish path."""
        while not stop.is_set():
            try:
                await self.measure_backlog()
            except Exception as error:  # the database away: the relay says so; the gauge keeps its last value
                log.warning("outbox: cannot measure the backlog", extra={"error": str(error)})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=every_s)

    async def run(self, stop: asyncio.Event, *, poll_interval_s: float = 1.0) -> None:
        """Publish on every NOTIFY, and poll as a fallback for notifications missed while away."""
        listener: asyncpg.Connection | None = None
        try:
            while not stop.is_set():
                if listener is None or listener.is_closed():
                    # First, or PostgreSQL restarted: without LISTEN again, every message would wait
                    # for the next poll from now on.
                    listener = await self._listen()
                self._wake.clear()
                try:
                    sent = await self.publish_pending()
                except Exception:
                    log.exception("outbox publish failed; retrying")
                    sent = 0
                    await asyncio.sleep(poll_interval_s)
                if sent == self.batch:
                    continue
                waiters = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
                await asyncio.wait(waiters, timeout=poll_interval_s, return_when=asyncio.FIRST_COMPLETED)
                for waiter in waiters:
                    waiter.cancel()
        finally:
            if listener is not None:
                await listener.close()

    async def _listen(self) -> asyncpg.Connection | None:
        """A connection LISTENing for the outbox's NOTIFY; None while PostgreSQL cannot be reached."""
        url = make_url(self.db.engine.url).set(drivername="postgresql")
        try:
            conn = await asyncpg.connect(url.render_as_string(hide_password=False), timeout=10)
            await conn.add_listener(self.tables.outbox_channel, lambda *_: self._wake.set())
        except (OSError, TimeoutError, asyncpg.PostgresError) as error:
            log.warning("outbox: cannot LISTEN yet; polling meanwhile", extra={"error": str(error)})
            return None
        # Losing it wakes the loop, which listens again at once rather than after a poll interval.
        conn.add_termination_listener(lambda _: self._wake.set())
        return conn
