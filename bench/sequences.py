"""`sequences`: the scheduler's claim cost against the enrollments waiting; emails/s from enrollment to the mail room.

Claim: the scheduler's own claim (sequences.scheduler: DUE_ORGS_SQL, then CLAIM_SQL) for DUE enrollments
whose step is due, among
NOT_DUE_SMALL and then NOT_DUE_LARGE active enrollments not due yet (loaded by bulk SQL straight into the
sequences schema of a sequence of its own, in one transaction the stack's scheduler never sees); each time
is the median of CLAIM_REPEATS claims of all DUE at once, each rolled back to a savepoint so the next finds
them due again. The issue's bound: the ratio
of the two stays under MAX_CLAIM_RATIO, as a claim by the partial index on the due time costs what is due.

Send: EMAILS leads imported into a new org (the leads service's gRPC ImportLeads), enrolled by the lead
list's filter (EnrollByFilter: the background job a user starts from the lead table) in an active
one-step sequence whose window is always open, the org's default mailbox capped far above EMAILS;
emails/s = EMAILS / (the EnrollByFilter call to the mail room's storing of the last one, its
inbox.messages.created_at), the path a step takes from enrollment to the mail room's accept.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import statistics
import time
import uuid

import asyncpg
import grpc

from bench.context import Context
from bench.report import Row
from leadflood.leads.v1 import leads_pb2, leads_pb2_grpc
from leadflood.sequences.v1 import sequences_pb2, sequences_pb2_grpc
from leadflood_platform import identity
from sequences.scheduler import CLAIM_SQL, DUE_ORGS_SQL

DUE = 1_000
NOT_DUE_SMALL = 10_000
NOT_DUE_LARGE = 1_000_000
CLAIM_REPEATS = 15
MAX_CLAIM_RATIO = 1.5
EMAILS = 10_000
IMPORT_PART = 1_000
TARGET_EMAILS_PER_S = 500  # as for the mail room
POLL_S = 1.0
STALL_S = 60.0
SETTINGS = {
    "due": DUE,
    "notDueSmall": NOT_DUE_SMALL,
    "notDueLarge": NOT_DUE_LARGE,
    "claimRepeats": CLAIM_REPEATS,
    "maxClaimRatio": MAX_CLAIM_RATIO,
    "emails": EMAILS,
    "targetEmailsPerSecond": TARGET_EMAILS_PER_S,
}
# The scheduler's claim with asyncpg's placeholders: the same statement, the same plan.
DUE_ORGS = DUE_ORGS_SQL.replace(":now", "$1").replace(":limit", "$2")
CLAIM = CLAIM_SQL.replace(":orgs", "$1").replace(":now", "$2").replace(":share", "$3").replace(":limit", "$4")


async def rows(ctx: Context) -> list[Row]:
    conn = await asyncpg.connect(ctx.app_dsn or ctx.admin_dsn)
    try:
        claim_rows = await claim_figures(ctx, conn)
    finally:
        await conn.close()
    return claim_rows + await send_figures(ctx)


# --- The claim ----------------------------------------------------------------------------------------------


async def claim_figures(ctx: Context, conn: asyncpg.Connection) -> list[Row]:
    """All in one transaction, rolled back at the end: the stack's running scheduler never sees these rows
    (it would claim the due ones), and nothing is left behind."""
    org, sequence, step = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    transaction = conn.transaction()
    await transaction.start()
    try:
        await conn.execute(
            "INSERT INTO sequences.sequences (id, org_id, name, state, window_days, window_start, window_end,"
            " time_zone, mailbox_id) VALUES ($1, $2, 'bench claim', 'active', '{1,2,3,4,5,6,7}', '00:00', '23:59',"
            " 'UTC', '')",
            sequence,
            org,
        )
        await conn.execute(
            "INSERT INTO sequences.steps (id, org_id, sequence_id, ordinal, channel, delay_amount, delay_unit,"
            " subject_template, body_template, variants, removed)"
            " VALUES ($1, $2, $3, 1, 'email', 0, 'hours', 's', 'b', '[]', false)",
            step,
            org,
            sequence,
        )
        await conn.execute("INSERT INTO sequences.org_turns (org_id, served_at) VALUES ($1, now())", org)
        await _load(conn, org, sequence, step, DUE, due=True)
        await _load(conn, org, sequence, step, NOT_DUE_SMALL, due=False)
        ctx.progress(f"sequences: claiming {DUE:,} due among {NOT_DUE_SMALL:,} waiting")
        small, small_plan = await _claim_time(conn), await _plan(conn)
        ctx.progress(f"sequences: loading {NOT_DUE_LARGE - NOT_DUE_SMALL:,} more waiting enrollments")
        await _load(conn, org, sequence, step, NOT_DUE_LARGE - NOT_DUE_SMALL, due=False)
        ctx.progress(f"sequences: claiming {DUE:,} due among {NOT_DUE_LARGE:,} waiting", last=True)
        large, large_plan = await _claim_time(conn), await _plan(conn)
    finally:
        await transaction.rollback()
    ratio = large / small
    verdict = "met" if ratio < MAX_CLAIM_RATIO else "MISSED"
    ctx.notes += [
        f"sequences claim plan, {NOT_DUE_SMALL:,} waiting: {small_plan}",
        f"sequences claim plan, {NOT_DUE_LARGE:,} waiting: {large_plan}",
    ]
    return [
        Row(f"sequences: claim {DUE:,} due, {NOT_DUE_SMALL:,} waiting", small * 1000, "ms"),
        Row(f"sequences: claim {DUE:,} due, {NOT_DUE_LARGE:,} waiting", large * 1000, "ms"),
        Row(
            "sequences: claim time ratio, 1M / 10k waiting", ratio, "x", note=f"target < {MAX_CLAIM_RATIO:g}: {verdict}"
        ),  # fmt: skip
    ]


async def _load(
    conn: asyncpg.Connection, org: uuid.UUID, sequence: uuid.UUID, step: uuid.UUID, count: int, *, due: bool
) -> None:
    """`count` active enrollments at the step: due an hour ago, or due in 1-30 days (spread, as waiting leads are)."""
    due_at = "now() - interval '1 hour'" if due else "now() + (1 + random() * 29) * interval '1 day'"
    await conn.execute(
        "INSERT INTO sequences.enrollments (id, org_id, sequence_id, lead_id, state, current_step_id, next_due_at,"
        " waiting_reason, waiting_detail, stop_reason, steps_done, thread_id)"
        f" SELECT gen_random_uuid(), $1, $2, gen_random_uuid(), 'active', $3, {due_at}, 'delay', '', '', 0, ''"
        " FROM generate_series(1, $4)",
        org,
        sequence,
        step,
        count,
    )
    await conn.execute("ANALYZE sequences.enrollments")


async def _claim_time(conn: asyncpg.Connection) -> float:
    """The median seconds of one claim of every due enrollment, rolled back each time."""
    times = []
    for _ in range(CLAIM_REPEATS):
        savepoint = conn.transaction()  # inside the caller's transaction: a savepoint
        await savepoint.start()
        try:
            started = time.perf_counter()
            claimed = await _claim(conn)
            times.append(time.perf_counter() - started)
        finally:
            await savepoint.rollback()
        if len(claimed) != DUE:
            raise RuntimeError(f"the claim took {len(claimed)} enrollments, {DUE} are due")
    return statistics.median(times)


async def _plan(conn: asyncpg.Connection) -> str:
    """The claim's plan, one line: its nodes and the buffers it touched."""
    savepoint = conn.transaction()
    await savepoint.start()
    try:
        orgs = [row[0] for row in await conn.fetch(DUE_ORGS, _now(), DUE)]
        share = math.ceil(DUE / len(orgs))
        lines = await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) {CLAIM}", orgs, _now(), share, DUE)
    finally:
        await savepoint.rollback()
    shown = [line[0].strip() for line in lines if not line[0].strip().startswith(("Planning", "Execution"))]
    return " / ".join(shown)


async def _claim(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """The scheduler's claim, its two statements: the orgs with due enrollments, then each one's share."""
    now = _now()
    orgs = [row[0] for row in await conn.fetch(DUE_ORGS, now, DUE)]
    return await conn.fetch(CLAIM, orgs, now, math.ceil(DUE / len(orgs)), DUE)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# --- Enrollment to the mail room ----------------------------------------------------------------------------


async def send_figures(ctx: Context) -> list[Row]:
    org, tag = str(uuid.uuid4()), f"Seqbench{uuid.uuid4().hex[:8]}"
    metadata = identity.metadata_for(org)
    async with (
        grpc.aio.insecure_channel(ctx.grpc_targets["leads"]) as leads_channel,
        grpc.aio.insecure_channel(ctx.grpc_targets["sequences"]) as sequences_channel,
    ):
        leads = leads_pb2_grpc.LeadsServiceStub(leads_channel)
        sequences = sequences_pb2_grpc.SequencesServiceStub(sequences_channel)
        ctx.progress(f"sequences: importing {EMAILS:,} leads")
        imported = await leads.ImportLeads(_import_parts(tag), metadata=metadata, timeout=300)
        if imported.created != EMAILS:
            raise RuntimeError(f"the import created {imported.created} leads of {EMAILS}: {list(imported.errors)[:3]}")
        definition = sequences_pb2.SequenceDefinition(
            name=f"bench {tag}",
            window=sequences_pb2.SendingWindow(
                days=list(range(1, 8)), start_time="00:00", end_time="23:59", time_zone="UTC"
            ),  # fmt: skip
            steps=[
                sequences_pb2.Step(
                    channel=sequences_pb2.CHANNEL_EMAIL,
                    delay_unit=sequences_pb2.DELAY_UNIT_HOURS,
                    subject_template="Quick question about {{ lead.companyName }}",
                    body_template="Hi {{ lead.firstName | default('there') }}, would a short call make sense?",
                )
            ],
        )
        created = await sequences.CreateSequence(
            sequences_pb2.CreateSequenceRequest(sequence=definition), metadata=metadata, timeout=30
        )
        sequence_id = created.sequence.id
        await sequences.ActivateSequence(
            sequences_pb2.ActivateSequenceRequest(sequence_id=sequence_id), metadata=metadata, timeout=30
        )
        conn = await asyncpg.connect(ctx.app_dsn or ctx.admin_dsn)
        try:
            started_at = await conn.fetchval("SELECT extract(epoch FROM clock_timestamp())::float8")
            request = sequences_pb2.EnrollByFilterRequest(
                sequence_id=sequence_id,
                filter=leads_pb2.ListLeadsRequest(query=tag, filtered=leads_pb2.FILTERED_VIEW_ALL),
            )
            await sequences.EnrollByFilter(request, metadata=metadata, timeout=30)
            await _wait_accepted(ctx, conn, org)
            last = await conn.fetchval(
                "SELECT extract(epoch FROM max(created_at))::float8 FROM inbox.messages"
                " WHERE org_id = $1 AND origin = 'sequences'",
                uuid.UUID(org),
            )
        finally:
            await conn.close()
    rate = EMAILS / (last - started_at)
    verdict = "met" if rate >= TARGET_EMAILS_PER_S else "MISSED"
    return [
        Row(
            f"sequences: {EMAILS:,} enrolled -> accepted by the mail room",
            rate,
            "emails/s",
            note=f"target >= {TARGET_EMAILS_PER_S}: {verdict}",
        ),  # fmt: skip
    ]


async def _import_parts(tag: str):  # type: ignore[no-untyped-def]
    for start in range(0, EMAILS, IMPORT_PART):
        rows = [
            leads_pb2.ImportRow(line=n + 2, email=f"p{n}.{tag.lower()}@company{n % 1009}.example",
                                first_name=f"Person{n % 997}", last_name=tag, company_name=f"Company {n % 1009}")
            for n in range(start, min(start + IMPORT_PART, EMAILS))
        ]  # fmt: skip
        yield leads_pb2.ImportLeadsRequest(rows=rows, last=start + IMPORT_PART >= EMAILS)


async def _wait_accepted(ctx: Context, conn: asyncpg.Connection, org: str) -> None:
    """Until the mail room holds EMAILS messages of the org from sequences; fails on a stall."""
    seen, last_change = -1, time.perf_counter()
    while True:
        n = await conn.fetchval(
            "SELECT count(*) FROM inbox.messages WHERE org_id = $1 AND origin = 'sequences'", uuid.UUID(org)
        )
        if n != seen:
            seen, last_change = n, time.perf_counter()
            ctx.progress(f"sequences: {n:,}/{EMAILS:,} accepted by the mail room", milestone=False)
        if n >= EMAILS:
            return
        if time.perf_counter() - last_change > STALL_S:
            waiting = await conn.fetch(
                "SELECT state, waiting_reason, count(*) AS n, max(waiting_detail) AS detail"
                " FROM sequences.enrollments WHERE org_id = $1 GROUP BY 1, 2",
                uuid.UUID(org),
            )
            raise RuntimeError(f"sequences: {n:,}/{EMAILS:,} accepted; enrollments: {[dict(r) for r in waiting]}")
        await asyncio.sleep(POLL_S)
