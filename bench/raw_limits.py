"""Raw limits of the parts, each a short bounded measurement: what our figures are read against."""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable

import asyncpg
import nats
from nats.js.api import StorageType, StreamConfig
from nats.js.errors import NotFoundError

from bench.context import Context, Limit
from bench.report import Row

COUNT = 2000
WARMUP = 50  # first round trips pay for connection set-up and cold caches, not the steady rate
PAYLOAD = b"x" * 128  # about the size of one of our job messages

JS_PUBLISH = "js_publish_ack"
PG_COMMIT = "pg_commit"
PG_UNNEST = "pg_unnest"
PG_UNNEST_LEADS = "pg_unnest_leads"
# Batched inserts: the shape of one page of a search run reaching the database.
UNNEST_ROWS, UNNEST_BATCH = 100_000, 1000
# The same into a copy of leads.leads with all its indexes (the word-search GIN included): slower, so fewer rows.
UNNEST_LEADS_ROWS = 20_000


async def _rate(operation: Callable[[int], Awaitable[object]]) -> float:
    """Operations per second of `operation(i)` awaited COUNT times, one at a time, after WARMUP untimed ones
    (numbered below zero)."""
    for i in range(-WARMUP, 0):
        await operation(i)
    started = time.perf_counter()
    for i in range(COUNT):
        await operation(i)
    return COUNT / (time.perf_counter() - started)


async def js_publish_ack(ctx: Context) -> Limit:
    """JetStream publishes awaited one at a time, to a throwaway file stream like the app's (not JOBS/EVENTS)."""
    nc = await nats.connect(ctx.nats_url, name="bench")
    js = nc.jetstream()
    try:
        try:  # a killed earlier run may have left it behind
            await js.delete_stream("BENCH")
        except NotFoundError:
            pass
        await js.add_stream(StreamConfig(name="BENCH", subjects=["bench.>"], storage=StorageType.FILE))
        try:
            rate = await _rate(lambda i: js.publish(f"bench.{i % 16}", PAYLOAD))
        finally:
            await js.delete_stream("BENCH")
    finally:
        await nc.close()
    return Limit(JS_PUBLISH, "JetStream publish, await each ack", rate, "msgs/s")


async def pg_commit(ctx: Context) -> Limit:
    """Single-row INSERTs, each in its own BEGIN/INSERT/COMMIT like the services' transactions.

    A regular table, not TEMP: temp tables skip the WAL, so their commits never wait for fsync
    and would overstate what the app's tables can do.
    """
    conn = await asyncpg.connect(ctx.admin_dsn)
    try:
        await conn.execute("DROP SCHEMA IF EXISTS bench CASCADE")
        await conn.execute("CREATE SCHEMA bench")
        await conn.execute(
            "CREATE TABLE bench.rows (id bigserial PRIMARY KEY, email text NOT NULL, at timestamptz DEFAULT now())"
        )
        try:

            async def insert_one(i: int) -> None:
                async with conn.transaction():
                    await conn.execute("INSERT INTO bench.rows (email) VALUES ($1)", f"row{i}@example.com")

            rate = await _rate(insert_one)
        finally:
            await conn.execute("DROP SCHEMA bench CASCADE")
    finally:
        await conn.close()
    return Limit(PG_COMMIT, "PG 1-row insert + commit", rate, "rows/s")


_UNNEST_COLUMNS = "id, org_id, email, first_name, last_name, company_name, title, score, score_explanation_id"
_UNNEST_INSERT = (
    "INSERT INTO {table} (" + _UNNEST_COLUMNS + ") SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], "
    "$4::text[], $5::text[], $6::text[], $7::text[], $8::int[], $9::bigint[])"
)


def _unnest_batches(count: int) -> list[tuple[list[object], ...]]:
    """Rows like a sourced lead's, one org, made before the clock starts (their making is not PostgreSQL's)."""
    org = uuid.uuid4()
    batches = []
    for start in range(0, count, UNNEST_BATCH):
        n = range(start, min(start + UNNEST_BATCH, count))
        batches.append(
            (
                [uuid.uuid4() for _ in n],
                [org] * len(n),
                [f"person{i}@company{i % 997}.com" for i in n],
                [f"First{i % 50}" for i in n],
                [f"Last{i % 50}" for i in n],
                [f"Company {i % 997}" for i in n],
                ["VP Sales"] * len(n),
                [i % 101 for i in n],
                [i % 37 for i in n],  # leads scored alike share an explanation
            )
        )
    return batches


async def _unnest_rate(conn: asyncpg.Connection, table: str, count: int) -> float:
    """Rows/s of `count` rows in batches of UNNEST_BATCH, one INSERT ... SELECT FROM unnest and commit each."""
    insert = _UNNEST_INSERT.format(table=table)
    warmup, batches = _unnest_batches(UNNEST_BATCH), _unnest_batches(count)
    async with conn.transaction():  # parses, plans and caches the statement
        await conn.execute(insert, *warmup[0])
    started = time.perf_counter()
    for batch in batches:
        async with conn.transaction():
            await conn.execute(insert, *batch)
    return count / (time.perf_counter() - started)


async def pg_unnest(ctx: Context) -> Limit:
    """Batched inserts into a plain table shaped like leads (primary key only): PostgreSQL's rate for a page."""
    conn = await asyncpg.connect(ctx.app_dsn or ctx.admin_dsn)
    try:
        await conn.execute("DROP SCHEMA IF EXISTS bench CASCADE")  # a killed earlier run may have left it
        await conn.execute("CREATE SCHEMA bench")
        await conn.execute(
            "CREATE TABLE bench.plain_leads (id uuid PRIMARY KEY, org_id uuid NOT NULL, email text,"
            " first_name text NOT NULL, last_name text NOT NULL, company_name text NOT NULL, title text NOT NULL,"
            " score int NOT NULL, score_explanation_id bigint)"
        )
        try:
            rate = await _unnest_rate(conn, "bench.plain_leads", UNNEST_ROWS)
        finally:
            await conn.execute("DROP SCHEMA bench CASCADE")
    finally:
        await conn.close()
    return Limit(PG_UNNEST, f"PG unnest insert, {UNNEST_BATCH}/commit", rate, "rows/s")


async def pg_unnest_leads(ctx: Context) -> Limit:
    """The same batches into a copy of leads.leads with all its indexes: what the table itself costs.

    Left out when the app's database is not reachable (no leads.leads to copy).
    """
    conn = await asyncpg.connect(ctx.app_dsn)
    try:
        await conn.execute("DROP SCHEMA IF EXISTS bench CASCADE")  # a killed earlier run may have left it
        await conn.execute("CREATE SCHEMA bench")
        # Columns, defaults, the generated search document, constraints and every index, the word GIN among them.
        await conn.execute("CREATE TABLE bench.leads_copy (LIKE leads.leads INCLUDING ALL)")
        try:
            rate = await _unnest_rate(conn, "bench.leads_copy", UNNEST_LEADS_ROWS)
            # What the word-search index alone costs: the same again without it (its copy's name is PostgreSQL's).
            gin = await conn.fetch(
                "SELECT i.indexrelid::regclass::text AS name FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
                " JOIN pg_am a ON a.oid = c.relam WHERE i.indrelid = 'bench.leads_copy'::regclass AND a.amname = 'gin'"
            )
            indexes = await conn.fetchval("SELECT count(*) FROM pg_index WHERE indrelid = 'bench.leads_copy'::regclass")
            if gin:
                await conn.execute("TRUNCATE bench.leads_copy")
                for row in gin:
                    await conn.execute(f"DROP INDEX {row['name']}")
                without = await _unnest_rate(conn, "bench.leads_copy", UNNEST_LEADS_ROWS)
                ctx.notes.append(
                    f"PG unnest insert, {UNNEST_BATCH}/commit, into a copy of leads.leads: with its {indexes} indexes "
                    f"{rate:,.0f} rows/s; without its {len(gin)} GIN (word search) index {without:,.0f} rows/s"
                )
        finally:
            await conn.execute("DROP SCHEMA bench CASCADE")
    finally:
        await conn.close()
    return Limit(PG_UNNEST_LEADS, f"same, into a leads.leads copy ({UNNEST_LEADS_ROWS // 1000}k)", rate, "rows/s")


# Add a raw limit here and figures can find it in ctx.limits by its key.
RAW_LIMITS: list[Callable[[Context], Awaitable[Limit]]] = [js_publish_ack, pg_commit, pg_unnest, pg_unnest_leads]


async def measure(ctx: Context) -> None:
    """Fill ctx.limits, one measurement at a time so they do not compete for the CPU."""
    for measure_one in RAW_LIMITS:
        if measure_one is pg_unnest_leads and not ctx.app_dsn:
            continue
        ctx.progress(f"raw limits: {measure_one.__name__}...")
        limit = await measure_one(ctx)
        ctx.limits[limit.key] = limit
    ctx.progress("raw limits: done", last=True)


async def rows(ctx: Context) -> list[Row]:
    """The raw limits themselves, listed first so every later ratio can be checked against them."""
    return [Row(f"raw: {limit.label}", limit.value, limit.unit) for limit in ctx.limits.values()]
