"""GET /v1/leads over 1,000,000 leads: page latency at the gateway, beside the same SQL run directly.

1,000,000 leads are generated server-side into the demo org (leads.leads, admin connection), the
table is vacuumed and analysed, then each list variant is requested sequentially, on three sides in
turn: the gateway (GET /v1/leads), the leads service alone (gRPC ListLeads, the request the gateway
builds) and the SQL alone (asyncpg). The SQL is the statement the leads service itself builds
(leads.listing.page_query), so a change to the query shows up here unasked.
"""

from __future__ import annotations

import json
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx

from bench.context import Context, Limit
from bench.report import Row
from bench.walking_slice import login, percentile
from leadflood_platform import identity

LEADS = 1_000_000
CHUNK = 100_000
REQUESTS = 300
WARMUP = 20
CAP_S = 20.0  # per variant and side: a pathologically slow variant is reported on fewer requests
TARGET_P95_MS = 50.0
FRAGMENT = "nakam"  # the beginning of a last name (Nakamura): about 1 lead in 48
DEEP = 500_000
SETTINGS = {
    "leads": LEADS,
    "requests": REQUESTS,
    "warmup": WARMUP,
    "capSecondsPerVariant": CAP_S,
    "fragment": FRAGMENT,
    "deepPage": DEEP,
    "targetP95Ms": TARGET_P95_MS,
}

# One explanation like the scorer's (6 rules), stored once and named by every lead, as sourcing does.
EXPLANATION_ID = 4242
EXPLANATION = json.dumps(
    [
        {"rule": "title", "matched": True, "weight": 30, "detail": "title matches VP Sales"},
        {"rule": "seniority", "matched": True, "weight": 20, "detail": "seniority vp"},
        {"rule": "industry", "matched": True, "weight": 15, "detail": "industry Software"},
        {"rule": "company_size", "matched": False, "weight": 15, "detail": "no size rule"},
        {"rule": "location", "matched": False, "weight": 10, "detail": "location Paris, France"},
        {"rule": "keyword", "matched": False, "weight": 10, "detail": "no keywords"},
    ]
)
# $1 org, $2..$7 the sandbox's name lists, $8 explanation id, $9/$10 the chunk's first and last number.
# Scores 0-100; filtered = the lowest ~10% of scores; ~10% without email (de-duplicated by provider id
# instead); created_at spread over a year in an order unrelated to g.
LOAD = """
INSERT INTO leads.leads (id, org_id, email, external_id, first_name, last_name, company_name, company_domain, title,
                         seniority, industry, location, company_size, linkedin_url, source, status, score,
                         score_explanation_id, filtered, created_at, updated_at)
SELECT gen_random_uuid(), $1::uuid,
       CASE WHEN g % 10 = 5 THEN NULL ELSE 'bench' || g || '@example' || (g % 1000) || '.com' END,
       CASE WHEN g % 10 = 5 THEN 'bench-' || g END,
       ($2::text[])[1 + g % cardinality($2::text[])],
       ($3::text[])[1 + (g / 7) % cardinality($3::text[])],
       ($4::text[])[1 + (g / 3) % cardinality($4::text[])],
       ($5::text[])[1 + (g / 3) % cardinality($5::text[])],
       ($6::text[])[1 + (g / 11) % cardinality($6::text[])],
       (ARRAY['vp', 'head', 'director', 'manager', 'senior'])[1 + g % 5],
       (ARRAY['Software', 'Fintech', 'Healthcare', 'Retail'])[1 + (g / 5) % 4],
       ($7::text[])[1 + (g / 13) % cardinality($7::text[])],
       10 + (g * 7) % 5000,
       'https://www.linkedin.com/in/bench-' || g,
       'bench',
       (ARRAY['new', 'new', 'enriched', 'failed'])[1 + (g / 17) % 4],
       (g * 37) % 101,
       $8::bigint,
       (g * 37) % 101 < 10,
       now() - make_interval(secs => ((g::bigint * 7919) % 31536000)::double precision),
       now() - make_interval(secs => ((g::bigint * 7919) % 31536000)::double precision)
FROM generate_series($9::int, $10::int) AS g
"""


@dataclass
class Variant:
    key: str
    label: str
    params: dict[str, Any]  # GET /v1/leads query parameters
    filters: dict[str, Any] = field(default_factory=dict)  # the same as leads.listing.LeadFilter fields
    sort: str = "-created_at"  # the same as leads.listing sorts it
    follow: bool = False  # each request asks for the next page, following the cursors
    depth: int = 0  # each request asks for the page after this many leads (a cursor made from the table)
    requests: int = REQUESTS
    warmup: int = WARMUP


VARIANTS = [
    Variant("first", "first page", {"limit": 50}),
    Variant("next", "next pages (cursor)", {"limit": 50}, follow=True),
    # Where a user paging (or an export) ends up: few requests, it may be slow.
    Variant("deep", f"page at depth {DEEP // 1000}k (cursor)", {"limit": 50}, depth=DEEP, requests=5, warmup=1),
    Variant("score", "sort=-score", {"sort": "-score", "limit": 50}, sort="-score"),
    Variant("q", f"q={FRAGMENT}", {"q": FRAGMENT, "limit": 50}, {"query": FRAGMENT}),
    Variant(
        "min",
        "minScore=80&hasEmail=yes",
        {"minScore": 80, "hasEmail": "yes", "limit": 50},
        {"min_score": 80, "has_email": True},
    ),
]
# GET /v1/leads parameters -> the gateway's ListQuery arguments, to send the leads service the same request.
LIST_QUERY_ARGS = {"q": "q", "sort": "sort", "minScore": "min_score", "hasEmail": "has_email"}


def name_lists() -> list[list[str]]:
    """First names, last names, companies, their domains, titles, locations: the sandbox provider's own."""
    from icp.providers import sandbox

    return [
        list(sandbox.FIRST),
        list(sandbox.LAST),
        [name for name, _ in sandbox.COMPANIES],
        [domain for _, domain in sandbox.COMPANIES],
        list(sandbox.TITLES),
        list(sandbox.LOCATIONS),
    ]


async def load(ctx: Context, org_id: str) -> float:
    """LEADS leads for the org in chunks of CHUNK, a transaction each, VACUUM ANALYZE, CHECKPOINT: the seconds."""
    conn = await asyncpg.connect(ctx.app_dsn, command_timeout=None)
    try:
        # This session's inserts: a larger pending list for the word-search GIN index, merged less often.
        await conn.execute("SET gin_pending_list_limit = '32MB'; SET maintenance_work_mem = '256MB'")
        await conn.execute(
            "INSERT INTO leads.score_explanations (org_id, id, rules) VALUES ($1, $2, $3::jsonb)"
            " ON CONFLICT DO NOTHING",
            uuid.UUID(org_id),
            EXPLANATION_ID,
            EXPLANATION,
        )
        lists, started = name_lists(), time.perf_counter()
        for first in range(1, LEADS + 1, CHUNK):
            await conn.execute(LOAD, uuid.UUID(org_id), *lists, EXPLANATION_ID, first, min(first + CHUNK - 1, LEADS))
            done = min(first + CHUNK - 1, LEADS)
            ctx.progress(f"leads list: loaded {done:,}/{LEADS:,} leads ({time.perf_counter() - started:.0f}s)")
        ctx.progress("leads list: VACUUM (ANALYZE) leads.leads, CHECKPOINT...")
        # VACUUM, not only ANALYZE: the state of a table autovacuum has visited (visibility map set, the GIN
        # pending list merged), and no autovacuum of a million fresh rows running under the measurement.
        await conn.execute("VACUUM (ANALYZE) leads.leads")
        # And the load's dirty pages written out now, not by a checkpoint in the middle of the measurement.
        await conn.execute("CHECKPOINT")
        return time.perf_counter() - started
    finally:
        await conn.close()


@dataclass
class Series:
    """One variant on one side (gateway, gRPC, SQL): the cursor of every request and the measured latencies."""

    cursors: list[str]  # warm-up requests' included
    ms: list[float] = field(default_factory=list)
    capped: bool = False


async def series(
    variant: Variant, call: Callable[[str], Awaitable[str]], first: str = "", replay: list[str] | None = None
) -> Series:
    """variant.warmup untimed calls, then variant.requests timed ones (fewer if CAP_S runs out), one at a time.

    `call(cursor)` returns the next page's cursor. The first side to run starts at `first` (following the
    returned cursors if variant.follow); the others `replay` its cursors, so every side asks for the same pages.
    """
    count = len(replay) if replay is not None else variant.warmup + variant.requests
    result, cursor, deadline = Series([]), first, 0.0
    for i in range(count):
        if replay is not None:
            cursor = replay[i]
        if i == variant.warmup:
            deadline = time.perf_counter() + CAP_S
        result.cursors.append(cursor)
        started = time.perf_counter()
        after = await call(cursor)
        if i >= variant.warmup:
            result.ms.append(1000 * (time.perf_counter() - started))
            if time.perf_counter() > deadline and i + 1 < count:
                result.capped = True
                break
        if variant.follow:
            cursor = after
    return result


async def service_sql(org_id: str, variant: Variant, cursor: str) -> tuple[str, list[Any]]:
    """The SQL and parameters the leads service runs for this page, as asyncpg takes them."""
    from leads import listing

    query = listing.page_query(
        org_id=uuid.UUID(org_id),
        filters=listing.LeadFilter(**variant.filters),
        sort=variant.sort,
        size=variant.params["limit"],
        cursor=cursor,
    )
    return query.sql, query.params


def plan_summary(plan: dict[str, Any]) -> str:
    """One line: the plan's scan nodes, its time, rows filtered away, buffers, the planner's estimate; Seq Scans."""
    scans, removed, seq, expected = [], 0, False, None

    def walk(node: dict[str, Any]) -> None:
        nonlocal removed, seq, expected
        kind = node["Node Type"]
        if "Scan" in kind:
            target = node.get("Index Name") or node.get("Relation Name", "")
            scans.append(f"{kind} {'using' if 'Index Name' in node else 'on'} {target}".strip())
            seq = seq or kind == "Seq Scan"
            expected = node["Plan Rows"] if expected is None else expected  # the outermost scan's
        removed += int(node.get("Rows Removed by Filter", 0)) + int(node.get("Rows Removed by Index Recheck", 0))
        for child in node.get("Plans", []):
            walk(child)

    root = plan["Plan"]
    walk(root)
    hit, read = root.get("Shared Hit Blocks", 0), root.get("Shared Read Blocks", 0)
    text = (
        f"{' > '.join(scans) or root['Node Type']}; {plan['Execution Time']:.1f} ms; "
        f"{removed:,} rows read and discarded; buffers hit {hit:,} read {read:,}; "
        f"the planner expected {expected or 0:,.0f} matching rows"
    )
    return text + (" -- SEQ SCAN over the table" if seq else "")


async def start_cursor(conn: asyncpg.Connection, http: httpx.AsyncClient, org_id: str, variant: Variant) -> str:
    """Where the variant's first request starts: page 1, page 2 (following), or the page after `depth` leads."""
    if variant.follow:
        reply = await http.get("/v1/leads", params=variant.params)
        reply.raise_for_status()
        return reply.json()["nextCursor"] or ""
    if variant.depth:
        from leads import listing

        row = await conn.fetchrow(
            "SELECT created_at, id FROM leads.leads WHERE org_id = $1 AND filtered IS false"
            " ORDER BY created_at DESC, id DESC OFFSET $2 LIMIT 1",
            uuid.UUID(org_id),
            variant.depth - 1,
        )
        return listing.encode_cursor("-created_at", row["created_at"], row["id"])  # as the default sort makes it
    return ""


async def grpc_side(ctx: Context, org_id: str, variant: Variant, cursors: list[str]) -> Series:
    """The leads service alone: ListLeads over gRPC, the request the gateway builds for these parameters."""
    import grpc

    from gateway.routes.leads import ListQuery
    from leadflood.leads.v1 import leads_pb2_grpc

    args = {LIST_QUERY_ARGS[name]: value for name, value in variant.params.items() if name in LIST_QUERY_ARGS}
    request = ListQuery(**args).request
    request.page_size = variant.params["limit"]
    metadata = identity.metadata_for(org_id)  # what the gateway's client interceptor sends for the signed-in user
    async with grpc.aio.insecure_channel(ctx.grpc_targets["leads"]) as channel:
        stub = leads_pb2_grpc.LeadsServiceStub(channel)

        async def call(cursor: str) -> str:
            request.cursor = cursor
            return (await stub.ListLeads(request, metadata=metadata, timeout=30)).next_cursor

        return await series(variant, call, replay=cursors)


async def sql_side(conn: asyncpg.Connection, org_id: str, variant: Variant, cursors: list[str]) -> tuple[Series, str]:
    """The service's SQL alone through asyncpg, and the plan of the last (for following: the deepest) page."""
    # Compiled before the clock starts: building the statement is the service's Python, not the query.
    statements = {cursor: await service_sql(org_id, variant, cursor) for cursor in set(cursors)}

    async def call(cursor: str) -> str:
        await conn.fetch(statements[cursor][0], *statements[cursor][1])
        return ""

    result = await series(variant, call, replay=cursors)
    sql, params = statements[result.cursors[-1]]
    explained = await conn.fetchval(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}", *params)
    return result, plan_summary(json.loads(explained)[0])


async def rows(ctx: Context) -> list[Row]:
    if "postgres" not in ctx.pids or not ctx.app_dsn:
        ctx.notes.append("leads list: skipped, the stack uses an external database (the bench loads 1M rows only "
                         "into its own throwaway cluster)")  # fmt: skip
        return []
    token = await login(ctx.base_url)
    headers = {"authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=ctx.base_url, headers=headers, timeout=30) as http:
        reply = await http.get("/v1/me")
        reply.raise_for_status()
        org_id = reply.json()["orgId"]
        load_s = await load(ctx, org_id)
        conn = await asyncpg.connect(ctx.app_dsn)
        try:
            total = await conn.fetchval("SELECT count(*) FROM leads.leads WHERE org_id = $1", uuid.UUID(org_id))
            ctx.progress(f"leads list: {total:,} leads in the org, loaded in {load_s:.0f}s", last=True)
            ctx.notes.append(
                f"leads list: {LEADS:,} leads generated server-side in {LEADS // CHUNK} transactions, then VACUUM "
                f"(ANALYZE) and CHECKPOINT, in {load_s:.0f}s ({LEADS / load_s:,.0f} rows/s, every index of "
                f"leads.leads kept); {total:,} leads in the demo org"
            )
            return await measure(ctx, http, conn, org_id, total)
        finally:
            await conn.close()


async def measure(
    ctx: Context, http: httpx.AsyncClient, conn: asyncpg.Connection, org_id: str, total: int
) -> list[Row]:
    async def health(_: str) -> str:
        (await http.get("/health")).raise_for_status()
        return ""

    floor_ms = sorted((await series(Variant("health", "GET /health", {}), health)).ms)
    floor = Limit("gateway_health_p95", "GET /health p95 (HTTP floor)", percentile(floor_ms, 95), "ms")
    out = [
        Row("raw: GET /health at the gateway p50", statistics.median(floor_ms), "ms"),
        Row("raw: GET /health at the gateway p95", floor.value, "ms"),
    ]
    breakdown, plans = [], []
    for variant in VARIANTS:
        ctx.progress(f"leads list: {variant.label}: gateway, gRPC, SQL...")

        async def get(cursor: str, variant: Variant = variant) -> str:
            reply = await http.get("/v1/leads", params={**variant.params, **({"cursor": cursor} if cursor else {})})
            reply.raise_for_status()
            return reply.json()["nextCursor"] or ""

        gateway = await series(variant, get, first=await start_cursor(conn, http, org_id, variant))
        rpc = await grpc_side(ctx, org_id, variant, gateway.cursors)
        direct, plan = await sql_side(conn, org_id, variant, gateway.cursors)
        page = f", its last request (page {len(gateway.cursors) + 1})" if variant.follow else ""
        plans.append(f"  {variant.label}{page}: {plan}")
        ms, sql_ms = sorted(gateway.ms), sorted(direct.ms)
        n = f", n={len(ms)}" + (f" (capped at {CAP_S:.0f}s)" if gateway.capped else "") if len(ms) < REQUESTS else ""
        tag = f"GET /v1/leads {variant.label}{n}"
        met = "met" if percentile(ms, 95) < TARGET_P95_MS else "NOT met"

        def sql(p: float, sql_ms: list[float] = sql_ms, key: str = variant.key) -> Limit:
            return Limit(f"list_sql_{key}_p{p:g}", f"same SQL, asyncpg, p{p:g}", percentile(sql_ms, p), "ms")

        out += [
            Row(f"{tag} p50", statistics.median(ms), "ms", sql(50)),
            Row(f"{tag} p95", percentile(ms, 95), "ms", sql(95), f"target p95 < {TARGET_P95_MS:g} ms: {met}"),
            Row(f"{tag} p95", percentile(ms, 95), "ms", floor),
            Row(f"{tag} p99", percentile(ms, 99), "ms", sql(99)),
        ]
        at_gateway, in_service, in_sql = statistics.median(ms), statistics.median(rpc.ms), statistics.median(sql_ms)
        breakdown.append(
            f"  {variant.label}: {at_gateway:.1f} ms = SQL {in_sql:.1f} + leads service {_ms(in_service - in_sql)} "
            f"(SQLAlchemy, protobuf, gRPC; ListLeads called directly: {in_service:.1f}) + gateway "
            f"{_ms(at_gateway - in_service)} (HTTP, auth, JSON)"
        )
    ctx.progress("leads list: done", last=True)
    ctx.notes.append("leads list, where a page's time goes (medians, each side measured alone, subtracted):")
    ctx.notes += breakdown
    ctx.notes += await in_process(ctx, http, org_id)
    ctx.notes.append(f"leads list query plans (EXPLAIN (ANALYZE, BUFFERS) of the service's SQL, {total:,} leads):")
    ctx.notes += plans
    return out


def _ms(difference: float) -> str:
    """A difference of two medians; below zero it is noise between the two sides, not time."""
    return f"{difference:.1f}" if difference >= 0 else f"~0 ({difference:.1f}, noise)"


async def in_process(ctx: Context, http: httpx.AsyncClient, org_id: str) -> list[str]:
    """The first page's Python, timed alone in the bench process with the services' own code (medians of 50).

    The leads service: leads.listing.page on the pool's own asyncpg connection (one hand-written statement
    outside a transaction, as ListLeads runs it), then listed_lead_to_proto per lead and serialising the reply.
    The gateway:
    FastAPI turns a returned dict into JSON with jsonable_encoder before json.dumps; both are timed on the
    page's body as the gateway returned it.
    """
    try:
        from fastapi.encoders import jsonable_encoder

        from leadflood.leads.v1 import leads_pb2
        from leadflood_platform.db import Database
        from leads import listing
        from leads.convert import listed_lead_to_proto
    except ImportError:  # the bench run without the services' packages
        return []
    db = Database(ctx.app_dsn, pool_size=1)
    loading, proto, reply = [], [], []
    try:
        for i in range(WARMUP + 50):
            started = time.perf_counter()
            async with db.driver(transaction=False) as driver:
                found = await listing.page(
                    driver=driver,
                    org_id=uuid.UUID(org_id),
                    filters=listing.LeadFilter(),
                    sort="",
                    size=50,
                    cursor="",
                )
                loaded = time.perf_counter()
                leads = [listed_lead_to_proto(lead) for lead in found.rows]
                message = leads_pb2.ListLeadsResponse(leads=leads, next_cursor=found.next_cursor)
                converted = time.perf_counter()
            message.SerializeToString()
            if i >= WARMUP:
                loading.append(loaded - started)
                proto.append(converted - loaded)
                reply.append(time.perf_counter() - converted)
    finally:
        await db.close()
    body = (await http.get("/v1/leads", params={"limit": 50})).json()
    encode, dump = [], []
    for _ in range(50):
        started = time.perf_counter()
        jsonable_encoder(body)
        encoded = time.perf_counter()
        json.dumps(body)
        encode.append(encoded - started)
        dump.append(time.perf_counter() - encoded)

    def med(values: list[float]) -> str:
        return f"{1000 * statistics.median(values):.1f} ms"

    return [
        f"  first page in the bench process: leads.listing.page on asyncpg {med(loading)} (incl. pool check-out), "
        f"listed_lead_to_proto x {len(leads)} {med(proto)}, check-in + serialise {med(reply)}; FastAPI's "
        f"jsonable_encoder on the page's JSON body ({len(json.dumps(body)):,} bytes) {med(encode)}, json.dumps "
        f"{med(dump)}"
    ]
