"""`sequences`: the scheduler's claim cost against the enrollments waiting; emails/s from enrollment to the SMTP sink.

Claim: the scheduler's own claim (sequences.scheduler: DUE_ORGS_SQL, then CLAIM_SQL) for DUE enrollments
whose step is due, among
NOT_DUE_SMALL and then NOT_DUE_LARGE active enrollments not due yet (loaded by bulk SQL straight into the
sequences schema of a sequence of its own, in one transaction the stack's scheduler never sees); each time
is the median of CLAIM_REPEATS claims of all DUE at once, each rolled back to a savepoint so the next finds
them due again. The issue's bound: the ratio
of the two stays under MAX_CLAIM_RATIO, as a claim by the partial index on the due time costs what is due.

Send: EMAILS leads imported into a new org (the leads service's gRPC ImportLeads), enrolled by the lead
list's filter (EnrollByFilter: the background job a user starts from the lead table) in an active
one-step sequence whose window is always open, the org's default mailbox capped far above EMAILS (the
stack's DEFAULT_MAILBOX_DAILY_CAP); after WARMUP leads of another org sent the same way, not counted.
emails/s = EMAILS / (the EnrollByFilter call to the capture server's storing of the last one, its
inbox.captured_mail.received_at): enrollment, the scheduler (the leads read, SendMessages), the mail room's
send job and its SMTP hand-over to the local sink. Read beside the plain aiosmtpd sink's rate from the mail
part of the same run (measured here, on copies of a captured email, when that part did not run), with the
CPU each process spent per email. The time to the mail room's accept (inbox.messages.created_at) is shown
too, and every email is checked to be captured once.
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

from bench import mail_room
from bench.context import Context, Limit
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
# Enrolled first in an org of their own, not counted: the first sends pay for channels, pools and consumers.
WARMUP = 50
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
    conn = await asyncpg.connect(ctx.app_dsn or ctx.admin_dsn)
    try:
        async with (
            grpc.aio.insecure_channel(ctx.grpc_targets["leads"]) as leads_channel,
            grpc.aio.insecure_channel(ctx.grpc_targets["sequences"]) as sequences_channel,
        ):
            stubs = (
                leads_pb2_grpc.LeadsServiceStub(leads_channel),
                sequences_pb2_grpc.SequencesServiceStub(sequences_channel),
            )
            # Warm-up, in an org of its own, through to the sink: the first sends pay for channels, pools, consumers.
            warm_org, warm_tag = str(uuid.uuid4()), f"Seqwarm{uuid.uuid4().hex[:8]}"
            warm_sequence = await _ready(ctx, stubs, warm_org, warm_tag, WARMUP)
            await _enroll(stubs, warm_org, warm_sequence, warm_tag)
            await _wait(ctx, conn, warm_org, WARMUP, "sequences warm-up")
            org, tag = str(uuid.uuid4()), f"Seqbench{uuid.uuid4().hex[:8]}"
            sequence_id = await _ready(ctx, stubs, org, tag, EMAILS)
            meter = mail_room.Meter(ctx.pids)
            started_at = await conn.fetchval("SELECT extract(epoch FROM clock_timestamp())::float8")
            await _enroll(stubs, org, sequence_id, tag)
            await _wait(ctx, conn, org, EMAILS, "sequences")
            usage = meter.stop()
        ends = await conn.fetchrow(_ENDS, uuid.UUID(org))
        sink = ctx.limits.get(mail_room.SMTP_SINK) or await _sink(ctx, conn, org)
    finally:
        await conn.close()
    captured_rate = EMAILS / (ends["captured"] - started_at)
    accepted_rate = EMAILS / (ends["accepted"] - started_at)
    duplicates, missing = ends["copies"] - ends["captured_once"], EMAILS - ends["captured_once"]
    once = ends["steps"] == EMAILS and ends["completed"] == EMAILS
    verdict = "met" if captured_rate >= TARGET_EMAILS_PER_S else "MISSED"
    ctx.notes += mail_room.cpu_line(
        f"sequences, {EMAILS:,} enrolled to captured (the enrollment job, the scheduler, the mail room, its sink)",
        usage, EMAILS, "email", "emails",
    )  # fmt: skip
    return [
        Row(
            f"sequences: {EMAILS:,} enrolled -> captured by the SMTP sink",
            captured_rate,
            "emails/s",
            sink,
            note=f"target >= {TARGET_EMAILS_PER_S}: {verdict}, {captured_rate / TARGET_EMAILS_PER_S:.2g} of it",
        ),
        Row("  wall, EnrollByFilter to the last captured", ends["captured"] - started_at, "s"),
        Row("  enrolled -> accepted by the mail room (SendMessages)", accepted_rate, "emails/s"),
        Row(
            "sequences: duplicates captured",
            duplicates,
            "emails",
            note=f"must be 0: {'met' if duplicates == 0 else 'MISSED'}; missing {missing}; one step row each and"
            f" every enrollment completed: {'yes' if once else 'NO'}",
        ),
    ]


# When the org's last message was stored by the mail room and by its capture server (the local SMTP sink), the
# sink's copies and distinct messages, the step rows and completed enrollments.
_ENDS = """
SELECT
    (SELECT extract(epoch FROM max(created_at))::float8 FROM inbox.messages WHERE org_id = $1 AND origin = 'sequences')
        AS accepted,
    (SELECT extract(epoch FROM max(c.received_at))::float8 FROM inbox.captured_mail c
        JOIN inbox.messages m ON m.rfc822_message_id = c.rfc822_message_id WHERE m.org_id = $1) AS captured,
    (SELECT count(*) FROM inbox.captured_mail c JOIN inbox.messages m ON m.rfc822_message_id = c.rfc822_message_id
        WHERE m.org_id = $1) AS copies,
    (SELECT count(DISTINCT c.rfc822_message_id) FROM inbox.captured_mail c
        JOIN inbox.messages m ON m.rfc822_message_id = c.rfc822_message_id WHERE m.org_id = $1) AS captured_once,
    (SELECT count(*) FROM sequences.step_sends WHERE org_id = $1 AND outcome = 'queued') AS steps,
    (SELECT count(*) FROM sequences.enrollments WHERE org_id = $1 AND state = 'completed') AS completed
"""
_COUNTS = """
SELECT count(DISTINCT m.id) AS accepted, count(DISTINCT c.rfc822_message_id) AS captured FROM inbox.messages m
LEFT JOIN inbox.captured_mail c ON c.rfc822_message_id = m.rfc822_message_id
WHERE m.org_id = $1 AND m.origin = 'sequences'
"""


async def _ready(ctx: Context, stubs: tuple, org: str, tag: str, count: int) -> str:  # type: ignore[type-arg]
    """`count` leads imported into the org, and an active one-step sequence: its id."""
    leads, sequences = stubs
    metadata = identity.metadata_for(org)
    ctx.progress(f"sequences: importing {count:,} leads")
    imported = await leads.ImportLeads(_import_parts(tag, count), metadata=metadata, timeout=300)
    if imported.created != count:
        raise RuntimeError(f"the import created {imported.created} leads of {count}: {list(imported.errors)[:3]}")
    definition = sequences_pb2.SequenceDefinition(
        name=f"bench {tag}",
        window=sequences_pb2.SendingWindow(
            days=list(range(1, 8)), start_time="00:00", end_time="23:59", time_zone="UTC"
        ),
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
    await sequences.ActivateSequence(
        sequences_pb2.ActivateSequenceRequest(sequence_id=created.sequence.id), metadata=metadata, timeout=30
    )
    return str(created.sequence.id)


async def _enroll(stubs: tuple, org: str, sequence_id: str, tag: str) -> None:  # type: ignore[type-arg]
    """Every lead of the tag enrolled by the lead list's filter (the background job a user starts)."""
    request = sequences_pb2.EnrollByFilterRequest(
        sequence_id=sequence_id, filter=leads_pb2.ListLeadsRequest(query=tag, filtered=leads_pb2.FILTERED_VIEW_ALL)
    )
    await stubs[1].EnrollByFilter(request, metadata=identity.metadata_for(org), timeout=30)


def _import_parts(tag: str, count: int):  # type: ignore[no-untyped-def]
    async def parts():  # type: ignore[no-untyped-def]
        for start in range(0, count, IMPORT_PART):
            rows = [
                leads_pb2.ImportRow(line=n + 2, email=f"p{n}.{tag.lower()}@company{n % 1009}.example",
                                    first_name=f"Person{n % 997}", last_name=tag, company_name=f"Company {n % 1009}")
                for n in range(start, min(start + IMPORT_PART, count))
            ]  # fmt: skip
            yield leads_pb2.ImportLeadsRequest(rows=rows, last=start + IMPORT_PART >= count)

    return parts()


async def _wait(ctx: Context, conn: asyncpg.Connection, org: str, count: int, label: str) -> None:
    """Until the capture server holds `count` of the org's messages from sequences; fails on a stall."""
    seen, last_change = None, time.perf_counter()
    while True:
        counts = tuple(await conn.fetchrow(_COUNTS, uuid.UUID(org)))
        if counts != seen:
            seen, last_change = counts, time.perf_counter()
            ctx.progress(f"{label}: {counts[0]:,} accepted, {counts[1]:,} captured of {count:,}", milestone=False)
        if counts[1] >= count:
            return
        if time.perf_counter() - last_change > STALL_S:
            waiting = await conn.fetch(
                "SELECT state, waiting_reason, count(*) AS n, max(waiting_detail) AS detail"
                " FROM sequences.enrollments WHERE org_id = $1 GROUP BY 1, 2",
                uuid.UUID(org),
            )
            raise RuntimeError(
                f"{label}: {counts[0]:,} accepted, {counts[1]:,} captured of {count:,};"
                f" enrollments: {[dict(r) for r in waiting]}; {await mail_room.statuses(conn, org)}"
            )
        await asyncio.sleep(POLL_S)


async def _sink(ctx: Context, conn: asyncpg.Connection, org: str) -> Limit:
    """The plain aiosmtpd sink's rate (mail_room.sink_rate), fed copies of one of the org's captured emails: when
    the mail part did not measure it in this run."""
    sample = await conn.fetchrow(
        "SELECT c.mail_from, c.rcpt_to[1] AS rcpt, c.raw, c.rfc822_message_id FROM inbox.captured_mail c"
        " JOIN inbox.messages m ON m.rfc822_message_id = c.rfc822_message_id WHERE m.org_id = $1 LIMIT 1",
        uuid.UUID(org),
    )
    domain = sample["rfc822_message_id"].rpartition("@")[2].rstrip(">")
    raws = mail_room.copies(sample["raw"], sample["rfc822_message_id"], EMAILS, domain)
    sink, _ = await mail_room.sink_rate(ctx, [(sample["mail_from"], sample["rcpt"], raw) for raw in raws])
    ctx.limits[mail_room.SMTP_SINK] = sink
    return sink
