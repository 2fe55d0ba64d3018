"""`mail`: the mail room's throughput, send and inbound, and that every message is delivered once.

Send: EMAILS emails through the inbox's gRPC DeliveryService/SendMessage (a new org, so a new default
mailbox sending into the local capture SMTP server), CONCURRENCY calls in flight; emails/s = EMAILS /
(the first call to the capture server's storing of the last one, its inbox.captured_mail.received_at),
counted by Message-ID. The path per email: SendMessage's transaction (message, ledger, job, outbox) -> the
outbox relay publishes the job -> the inbox worker claims it (a commit), reads it, hands it over SMTP
(aiosmtplib, on connections kept open, at most 32 at once: smtp.Connections) to the capture server, which stores
it (a commit) before its 250 -> the worker commits `sent` (plus an outbox event) and acks. The worker claims, and
marks sent, the jobs in flight together in one transaction each (group commit).

Inbound: a reply to each sent email (In-Reply-To and References set, from its recipient) through the
inbox's SMTP listener, CONCURRENCY connections at once; messages/s = REPLIES / (the first connection to
the last reply's filing, inbox.messages.created_at), and per message the time from receipt
(inbox.inbound_raw.received_at) to filed in its thread.

Raw limit: a plain aiosmtpd server (the capture server's library, built the same way, answering 250
without storing) in a process of its own, fed SINK_MESSAGES copies of a real sent email (each its own
Message-ID) by aiosmtplib from this process on CONCURRENCY connections kept open, message after message, as the
worker sends (until 2026-12-07 a connection each, which held the sink's rate down to about half). The capture
server itself, fed the same way, shows what storing each message costs.
"""

from __future__ import annotations

import asyncio
import email.policy
import email.utils
import json
import os
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
import asyncpg
import grpc

from bench import cpu
from bench.context import Context, Limit
from bench.report import Row
from bench.walking_slice import machine_cpu, percentile
from leadflood.inbox.v1 import delivery_pb2, delivery_pb2_grpc
from leadflood_platform import identity

EMAILS = 10_000
REPLIES = EMAILS  # one reply to each sent email
SINK_MESSAGES = EMAILS
CONCURRENCY = 50
# Not counted, in an org of their own: the first sends pay for the channel, the pools, the consumer.
WARMUP = 50
# Polls of the database while a phase runs; the figures come from the servers' own timestamps.
POLL_S = 1.0
STALL_S = 60.0  # no progress this long: the phase has failed, say where it stands
TIMEOUT_S = 900.0
TARGET_EMAILS_PER_S = 500  # the target on this 2-core machine
TARGET_SHARE = 0.25  # of the SMTP sink's raw acceptance rate
# Each org's default mailbox gets this cap: the measured org sends EMAILS in a day, and nothing is deferred.
DAILY_CAP = 1_000_000
STACK_ENV = {"DEFAULT_MAILBOX_DAILY_CAP": str(DAILY_CAP)}
SMTP_SINK = "smtp_sink"
SETTINGS = {
    "emails": EMAILS,
    "replies": REPLIES,
    "sinkMessages": SINK_MESSAGES,
    "concurrency": CONCURRENCY,
    "warmup": WARMUP,
    "dailyCap": DAILY_CAP,
    "targetEmailsPerSecond": TARGET_EMAILS_PER_S,
    "targetShareOfSink": TARGET_SHARE,
}

SUBJECT = "Quick question about {company}"
BODY = (
    "Hi {first},\n\n"
    "I noticed {company} is hiring account executives in Berlin, so I thought this might be timely. "
    "Teams like yours use Lead Flood to find the buyers who match their ideal customer profile, enrich "
    "them and reach out in one place, without juggling five tools.\n\n"
    "Would a 15-minute call next week make sense to see whether it fits how your team works today? "
    "If the timing is wrong, just tell me and I will not follow up.\n\n"
    "Best,\nAda Lovelace\nLead Flood\n"
)
REPLY = "Thanks {first} here: yes, Thursday at 10 works for me. Send an invite.\n\nRegards,\n{first}\n"

# A plain aiosmtpd server, made as the capture server is (inbox/capture.py), accepting without storing.
# Prints its port, then on stdin's end how many messages it accepted.
_SINK = """
import asyncio, sys
from aiosmtpd.smtp import SMTP

class Sink:
    accepted = 0

    async def handle_DATA(self, server, session, envelope):
        Sink.accepted += 1
        return "250 2.0.0 Ok: accepted"

async def main():
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(Sink(), data_size_limit=10_000_000, hostname="bench-sink"), "127.0.0.1", 0
    )
    print(server.sockets[0].getsockname()[1], flush=True)
    await loop.run_in_executor(None, sys.stdin.read)
    print(Sink.accepted, flush=True)

asyncio.run(main())
"""


@dataclass(frozen=True)
class Sent:
    """One email the bench sent, as the reply to it needs it."""

    address: str
    first: str
    subject: str
    message_id: str  # RFC 5322, with its angle brackets


@dataclass
class Usage:
    """CPU seconds per process of the stack (and this one) over a phase, and of the whole machine."""

    wall_s: float
    cpu_s: dict[str, float]
    machine: tuple[float, float] | None  # (busy, total)


class Meter:
    """Starts counting at creation: `stop()` gives the CPU each process spent since."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids, self.started, self.own = pids, time.perf_counter(), time.process_time()
        self.cpu, self.machine = cpu.snapshot(pids), machine_cpu()

    def stop(self) -> Usage:
        spent = cpu.spent(self.cpu, cpu.snapshot(self.pids))
        spent["bench (client, log pump)"] = time.process_time() - self.own
        after, machine = machine_cpu(), None
        if self.machine and after:
            machine = (after[0] - self.machine[0], after[1] - self.machine[1])
        used = dict(sorted(spent.items(), key=lambda item: -item[1]))
        return Usage(time.perf_counter() - self.started, used, machine)


# --- Where the inbox listens ------------------------------------------------------------------------------


def inbox_ports(ctx: Context) -> tuple[int, int]:
    """(capture, inbound) SMTP ports of the running inbox: from its process's environment (the stack gives
    them as SMTP_CAPTURE_PORT and SMTP_INBOUND_PORT), else from its "capturing/receiving mail" log lines."""
    env: dict[str, str] = {}
    pid = ctx.pids.get("inbox")
    if pid:
        try:
            pairs = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            env = dict(p.decode(errors="replace").split("=", 1) for p in pairs if b"=" in p)
        except OSError:
            pass
    ports = {name: env.get(f"{name.upper()}_PORT") for name in ("smtp_capture", "smtp_inbound")}
    log = ctx.log_dir / "inbox.log" if ctx.log_dir else None
    if None in ports.values() and log and log.exists():
        for line in log.read_text(errors="replace").splitlines():
            for name, words in (("smtp_capture", '"capturing mail"'), ("smtp_inbound", '"receiving mail"')):
                if words in line:
                    ports[name] = str(json.loads(line)["port"])
    if None in ports.values():
        raise RuntimeError(f"the inbox's SMTP ports are not known (pid {pid}, {ports}): is it started with them?")
    return int(ports["smtp_capture"] or 0), int(ports["smtp_inbound"] or 0)


# --- Sending ------------------------------------------------------------------------------------------------


def send_requests(run: str, count: int) -> list[tuple[delivery_pb2.SendMessageRequest, Sent]]:
    """Distinct keys and recipients, a lead each; made before the clock starts."""
    out = []
    for i in range(count):
        first, company = f"Person{i % 997}", f"Company {i % 1009}"
        address = f"person{i}@company{i % 1009}.example"
        subject = SUBJECT.format(company=company)
        request = delivery_pb2.SendMessageRequest(
            idempotency_key=f"bench:{run}:{i}",
            channel=delivery_pb2.CHANNEL_EMAIL,
            to=delivery_pb2.Recipient(lead_id=str(uuid.uuid4()), email=address, name=f"{first} Example"),
            subject=subject,
            text_body=BODY.format(first=first, company=company),
            origin="bench",
        )
        out.append((request, Sent(address, first, subject, "")))
    return out


async def in_flight(count: int, one: Callable[[int], Awaitable[None]], progress: Callable[[int], None]) -> None:
    """one(0..count-1), CONCURRENCY at a time; progress(done) every 500."""
    todo, done = iter(range(count)), 0

    async def worker() -> None:
        nonlocal done
        for i in todo:
            await one(i)
            done += 1
            if done % 500 == 0:
                progress(done)

    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))


async def send_all(
    ctx: Context, org_id: str, work: list[tuple[delivery_pb2.SendMessageRequest, Sent]], label: str
) -> tuple[list[Sent], float]:
    """Every request through SendMessage; the emails as sent, and the seconds the calls took."""
    metadata = identity.metadata_for(org_id)  # what the gateway's client interceptor sends for the signed-in user
    sent: list[Sent] = [s for _, s in work]
    async with grpc.aio.insecure_channel(ctx.grpc_targets["inbox"]) as channel:
        stub = delivery_pb2_grpc.DeliveryServiceStub(channel)

        async def one(i: int) -> None:
            request, s = work[i]
            reply = await stub.SendMessage(request, metadata=metadata, timeout=60)
            if reply.outcome != delivery_pb2.SEND_OUTCOME_QUEUED or reply.existing:
                outcome = delivery_pb2.SendOutcome.Name(reply.outcome)
                raise RuntimeError(f"SendMessage {request.idempotency_key}: {outcome} {reply.reason}")
            sent[i] = Sent(s.address, s.first, s.subject, reply.rfc822_message_id)

        started = time.perf_counter()
        await in_flight(len(work), one, lambda n: ctx.progress(f"{label}: {n:,}/{len(work):,} SendMessage calls"))
        return sent, time.perf_counter() - started


async def wait_for(
    ctx: Context, label: str, total: int, count: Callable[[], Awaitable[int]], where: Callable[[], Awaitable[str]]
) -> None:
    """Poll count() every POLL_S until it reaches total; fail, saying where() things stand, on a stall."""
    started = last_change = time.perf_counter()
    seen = -1
    while True:
        n = await count()
        now = time.perf_counter()
        if n != seen:
            seen, last_change = n, now
            ctx.progress(f"{label}: {n:,}/{total:,}", milestone=False)
        if n >= total:
            return
        if now - last_change > STALL_S or now - started > TIMEOUT_S:
            raise RuntimeError(f"{label}: {n:,}/{total:,} after {now - started:.0f}s; {await where()}")
        await asyncio.sleep(POLL_S)


async def statuses(conn: asyncpg.Connection, org_id: str) -> str:
    rows = await conn.fetch(
        "SELECT status, count(*) AS n FROM inbox.messages WHERE org_id = $1 AND direction = 'out' GROUP BY 1",
        uuid.UUID(org_id),
    )
    jobs = await conn.fetch(
        "SELECT status, count(*) AS n, max(error) AS error FROM inbox.job_executions WHERE org_id = $1 GROUP BY 1",
        uuid.UUID(org_id),
    )
    messages = ", ".join(f"{r['status']} {r['n']:,}" for r in rows)
    job_lines = ", ".join(f"{r['status']} {r['n']:,}" + (f" ({r['error']})" if r["error"] else "") for r in jobs)
    return f"messages: {messages or 'none'}; send jobs: {job_lines or 'none'}"


async def captured_count(conn: asyncpg.Connection, after_id: int) -> int:
    return await conn.fetchval("SELECT count(*) FROM inbox.captured_mail WHERE id > $1", after_id)


async def captured_of(conn: asyncpg.Connection, message_ids: Sequence[str]) -> list[asyncpg.Record]:
    """Per Message-ID among message_ids: how often the capture server stored it, and when it last did."""
    return await conn.fetch(
        "SELECT rfc822_message_id AS id, count(*) AS n, extract(epoch FROM max(received_at))::float8 AS last"
        " FROM inbox.captured_mail WHERE rfc822_message_id = ANY($1::text[]) GROUP BY 1",
        list(message_ids),
    )


# --- Replying ------------------------------------------------------------------------------------------------


def reply_bytes(sent: Sent, mailbox: str, body: str) -> bytes:
    """The reply a mail client would write: from the recipient, threaded under the sent email, quoting it."""
    reply = EmailMessage(policy=email.policy.SMTP)
    reply["From"] = Address(display_name=f"{sent.first} Example", addr_spec=sent.address)
    reply["To"] = Address(addr_spec=mailbox)
    reply["Subject"] = f"Re: {sent.subject}"
    reply["Date"] = email.utils.formatdate()
    reply["Message-ID"] = f"<{uuid.uuid4().hex}@{sent.address.rpartition('@')[2]}>"
    reply["In-Reply-To"] = sent.message_id
    reply["References"] = sent.message_id
    quoted = "\n".join(f"> {line}" for line in body.splitlines())
    text = REPLY.format(first=sent.first)
    reply.set_content(f"{text}\nOn {reply['Date']}, {mailbox} wrote:\n{quoted}\n")
    return reply.as_bytes()


async def smtp_all(
    ctx: Context, label: str, port: int, messages: list[tuple[str, str, bytes]], *, reuse: bool = False
) -> tuple[float, list[float]]:
    """Each (from, to, bytes) over SMTP to 127.0.0.1:port, CONCURRENCY at once: a connection each (as other mail
    servers deliver replies), or with `reuse` on CONCURRENCY connections kept open, message after message (as the
    inbox's worker sends, smtp.Connections); the seconds from the first connection to the last 250, and each
    message's seconds."""
    took = [0.0] * len(messages)
    idle: list[aiosmtplib.SMTP] = []

    async def one(i: int) -> None:
        sender, recipient, raw = messages[i]
        at = time.perf_counter()
        if not reuse:
            await aiosmtplib.send(
                raw, sender=sender, recipients=[recipient], hostname="127.0.0.1", port=port, timeout=60
            )
        else:
            client = idle.pop() if idle else aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=60)
            if not client.is_connected:
                await client.connect()
            await client.sendmail(sender, [recipient], raw)
            idle.append(client)
        took[i] = time.perf_counter() - at

    started = time.perf_counter()
    try:
        await in_flight(len(messages), one, lambda n: ctx.progress(f"{label}: {n:,}/{len(messages):,}"))
        return time.perf_counter() - started, took
    finally:
        for client in idle:
            client.close()


async def filed_count(conn: asyncpg.Connection, org_id: str) -> int:
    return await conn.fetchval(
        "SELECT count(*) FROM inbox.messages WHERE org_id = $1 AND direction = 'in'", uuid.UUID(org_id)
    )


async def inbound_where(conn: asyncpg.Connection, since: float) -> str:
    rows = await conn.fetch(
        "SELECT status, count(*) AS n, max(error) AS error FROM inbox.inbound_raw"
        " WHERE received_at >= to_timestamp($1) GROUP BY 1",
        since,
    )
    return "inbound_raw since the start: " + (
        ", ".join(f"{r['status']} {r['n']:,}" + (f" ({r['error']})" if r["error"] else "") for r in rows) or "none"
    )


async def filed_of(conn: asyncpg.Connection, org_id: str) -> list[asyncpg.Record]:
    """Each reply filed in the org: receipt, filing, what it was taken for, and whether its thread is the one
    of the email it answers."""
    return await conn.fetch(
        "SELECT m.rfc822_message_id AS id, extract(epoch FROM r.received_at)::float8 AS received,"
        " extract(epoch FROM m.created_at)::float8 AS filed, m.kind, m.unknown_sender,"
        " o.thread_id IS NOT NULL AND o.thread_id = m.thread_id AS right_thread"
        " FROM inbox.messages m JOIN inbox.inbound_raw r ON r.id = m.raw_id"
        " LEFT JOIN inbox.messages o ON o.rfc822_message_id = m.in_reply_to AND o.direction = 'out'"
        " WHERE m.org_id = $1 AND m.direction = 'in'",
        uuid.UUID(org_id),
    )


# --- The raw limit ------------------------------------------------------------------------------------------


async def sink_rate(ctx: Context, messages: list[tuple[str, str, bytes]]) -> tuple[Limit, Usage]:
    """The plain aiosmtpd sink, in a process of its own, fed `messages`: its acceptance rate and the CPU."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _SINK, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
    )
    try:
        assert proc.stdout and proc.stdin
        port = int(await proc.stdout.readline())
        await smtp_all(ctx, "raw: aiosmtpd sink warm-up", port, messages[:WARMUP], reuse=True)
        meter = Meter({"sink": proc.pid})
        wall, _ = await smtp_all(ctx, "raw: aiosmtpd sink", port, messages, reuse=True)
        usage = meter.stop()
        proc.stdin.close()
        accepted = int(await proc.stdout.readline())
    finally:
        try:
            await asyncio.wait_for(proc.wait(), timeout=5)
        except TimeoutError:  # stdin not closed (a failure above), or stuck
            proc.kill()
            await proc.wait()
    if accepted != len(messages) + WARMUP:
        raise RuntimeError(f"the aiosmtpd sink accepted {accepted:,} of {len(messages) + WARMUP:,}")
    ctx.progress(f"raw: aiosmtpd sink: {len(messages) / wall:,.0f} msgs/s", last=True)
    limit = Limit(SMTP_SINK, f"aiosmtpd sink, c{CONCURRENCY} kept connections", len(messages) / wall, "msgs/s")
    return limit, usage


def copies(raw: bytes, message_id: str, count: int, domain: str) -> list[bytes]:
    """`raw` again and again, each with a Message-ID of its own (the same length, so the same size)."""
    return [raw.replace(message_id.encode(), f"<{uuid.uuid4().hex}@{domain}>".encode(), 1) for _ in range(count)]


# --- The figures ---------------------------------------------------------------------------------------------


def cpu_line(title: str, usage: Usage, per: int, unit: str, units: str) -> list[str]:
    """CPU per item by process, the share of one CPU each, and what the CPUs alone would allow."""
    used = [(name, s) for name, s in usage.cpu_s.items() if s >= 0.05]
    parts = ", ".join(f"{name} {1000 * s / per:.2f} ms ({100 * s / usage.wall_s:.0f}%)" for name, s in used)
    total = sum(s for _, s in used)
    lines = [f"{title} ({usage.wall_s:.1f}s wall; CPU per {unit}, % of one CPU): {parts}"]
    if used:
        nproc = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        busiest, busiest_s = used[0]
        lines.append(
            f"  together {1000 * total / per:.2f} ms per {unit}: the {nproc} CPUs alone would allow "
            f"{per * nproc / total:,.0f} {units}/s; {busiest}, one process, alone {per / busiest_s:,.0f}/s"
        )
    if usage.machine:
        busy, all_s = usage.machine
        lines[-1] += f"; machine CPU busy {100 * busy / all_s:.0f}% of all CPUs"
    return lines


def verdict(ok: bool) -> str:
    return "met" if ok else "missed"


async def rows(ctx: Context) -> list[Row]:
    capture_port, inbound_port = inbox_ports(ctx)
    run = uuid.uuid4().hex[:8]
    org_id, warm_org = str(uuid.uuid4()), str(uuid.uuid4())
    conn = await asyncpg.connect(ctx.app_dsn or ctx.admin_dsn)
    try:
        return await measure(ctx, conn, run, org_id, warm_org, capture_port, inbound_port)
    finally:
        await conn.close()


async def measure(
    ctx: Context, conn: asyncpg.Connection, run: str, org_id: str, warm_org: str, capture_port: int, inbound_port: int
) -> list[Row]:
    # Warm-up, in an org of its own: a send and a reply each, through the whole path, waited for.
    after_id = await conn.fetchval("SELECT coalesce(max(id), 0) FROM inbox.captured_mail")
    warm, _ = await send_all(ctx, warm_org, send_requests(f"{run}-warm", WARMUP), "mail warm-up")
    await wait_for(
        ctx, "mail warm-up: captured", WARMUP, lambda: captured_count(conn, after_id), lambda: statuses(conn, warm_org)
    )
    sample = await conn.fetchrow(
        "SELECT mail_from, rcpt_to[1] AS rcpt, raw, rfc822_message_id FROM inbox.captured_mail"
        " WHERE rfc822_message_id = $1",
        warm[0].message_id,
    )
    mailbox, body = sample["mail_from"], BODY.format(first=warm[0].first, company="Company 0")
    warm_replies = [(s.address, mailbox, reply_bytes(s, mailbox, body)) for s in warm]
    await smtp_all(ctx, "mail warm-up: replies", inbound_port, warm_replies)
    await wait_for(
        ctx,
        "mail warm-up: filed",
        WARMUP,
        lambda: filed_count(conn, warm_org),
        lambda: inbound_where(conn, time.time() - 600),
    )
    ctx.progress("mail warm-up: done", last=True)

    # The raw limit: copies of a real sent email, to the plain sink; then to the capture server itself.
    raw_email: bytes = sample["raw"]
    domain = sample["rfc822_message_id"].rpartition("@")[2].rstrip(">")
    envelope = (sample["mail_from"], sample["rcpt"])
    sink_work = [(*envelope, raw) for raw in copies(raw_email, sample["rfc822_message_id"], SINK_MESSAGES, domain)]
    sink, sink_usage = await sink_rate(ctx, sink_work)
    ctx.limits[SMTP_SINK] = sink
    capture_work = [(*envelope, raw) for raw in copies(raw_email, sample["rfc822_message_id"], SINK_MESSAGES, domain)]
    meter = Meter(ctx.pids)
    capture_wall, _ = await smtp_all(ctx, "capture server fed directly", capture_port, capture_work, reuse=True)
    capture_usage = meter.stop()
    capture_rate = len(capture_work) / capture_wall
    ctx.progress(f"capture server fed directly: {capture_rate:,.0f} msgs/s", last=True)

    # Send.
    work = send_requests(run, EMAILS)
    after_id = await conn.fetchval("SELECT coalesce(max(id), 0) FROM inbox.captured_mail")
    meter = Meter(ctx.pids)
    started_at = time.time()
    sending = asyncio.create_task(send_all(ctx, org_id, work, "mail send"))
    try:
        await wait_for(
            ctx, "mail send: captured", EMAILS, lambda: captured_count(conn, after_id), lambda: statuses(conn, org_id)
        )
    finally:
        if not sending.done():
            sending.cancel()
    sent, calls_s = await sending
    send_usage = meter.stop()
    captured = await captured_of(conn, [s.message_id for s in sent])
    last_captured = max(r["last"] for r in captured)
    send_s = last_captured - started_at
    send_rate = EMAILS / send_s
    ctx.progress(f"mail send: {EMAILS:,} captured in {send_s:.1f}s, {send_rate:,.0f} emails/s", last=True)
    lags = await conn.fetch(
        "SELECT extract(epoch FROM c.received_at - m.created_at)::float8 AS captured,"
        " extract(epoch FROM m.sent_at - c.received_at)::float8 AS marked"
        " FROM inbox.messages m JOIN inbox.captured_mail c ON c.rfc822_message_id = m.rfc822_message_id"
        " WHERE m.org_id = $1 AND m.direction = 'out'",
        uuid.UUID(org_id),
    )
    queued_ms = sorted(1000 * r["captured"] for r in lags)
    marked_ms = sorted(1000 * r["marked"] for r in lags if r["marked"] is not None)

    # Inbound: a reply to each sent email.
    replies = [(s.address, mailbox, reply_bytes(s, mailbox, work[i][0].text_body)) for i, s in enumerate(sent)]
    meter = Meter(ctx.pids)
    replied_at = time.time()
    accepting = asyncio.create_task(smtp_all(ctx, "mail inbound: accepted", inbound_port, replies))
    try:
        await wait_for(
            ctx,
            "mail inbound: filed",
            REPLIES,
            lambda: filed_count(conn, org_id),
            lambda: inbound_where(conn, replied_at),
        )
    finally:
        if not accepting.done():
            accepting.cancel()
    accept_s, accept_each = await accepting
    inbound_usage = meter.stop()
    filed = await filed_of(conn, org_id)
    inbound_s = max(r["filed"] for r in filed) - replied_at
    inbound_rate = REPLIES / inbound_s
    ctx.progress(f"mail inbound: {REPLIES:,} filed in {inbound_s:.1f}s, {inbound_rate:,.0f} msgs/s", last=True)
    visible_ms = sorted(1000 * (r["filed"] - r["received"]) for r in filed)
    right = sum(1 for r in filed if r["right_thread"] and r["kind"] == "reply" and not r["unknown_sender"])
    filed_twice = len(filed) - len({r["id"] for r in filed})

    # Exactly once, checked last so that a late second delivery would be seen.
    captured = await captured_of(conn, [s.message_id for s in sent])
    once = sum(1 for r in captured if r["n"] == 1)
    duplicates = sum(r["n"] - 1 for r in captured)
    missing = EMAILS - len(captured)

    share = send_rate / sink.value
    send_ok, share_ok = send_rate >= TARGET_EMAILS_PER_S, share >= TARGET_SHARE
    send_note = (
        f"target >= {TARGET_EMAILS_PER_S} emails/s (issue): {verdict(send_ok)}, {send_rate / TARGET_EMAILS_PER_S:.2g}"
        f" of it; >= {TARGET_SHARE:.0%} of the sink's rate: {verdict(share_ok)} ({share:.1%})"
    )
    rows_out = [
        Row(f"raw: {sink.label}, {SINK_MESSAGES // 1000}k", sink.value, sink.unit),
        Row(f"mail: send {EMAILS // 1000}k, SendMessage to captured", send_rate, "emails/s", sink, send_note),
        Row("  wall, first call to the last stored by the capture server", send_s, "s"),
        Row(f"  SendMessage calls alone, c{CONCURRENCY}", EMAILS / calls_s, "calls/s", note=f"{calls_s:.1f}s"),
        Row("  queued -> captured, p50", percentile(queued_ms, 50), "ms", note="message created_at to received_at"),
        Row("  queued -> captured, p95", percentile(queued_ms, 95), "ms"),
        Row("  captured -> marked sent, p95", percentile(marked_ms, 95), "ms") if marked_ms else None,
        Row(
            f"  capture server fed directly, c{CONCURRENCY}",
            capture_rate,
            "msgs/s",
            sink,
            "the sink as the stack runs it: a commit per message before its 250",
        ),
        Row(f"mail: inbound {REPLIES // 1000}k replies, received to filed", inbound_rate, "msgs/s", sink),
        Row("  wall, first connection to the last filed", inbound_s, "s"),
        Row(f"  SMTP listener accepted, c{CONCURRENCY}", REPLIES / accept_s, "msgs/s", sink, f"{accept_s:.1f}s"),
        Row("  receipt -> filed in its thread, p50", percentile(visible_ms, 50), "ms"),
        Row(
            "  receipt -> filed in its thread, p95",
            percentile(visible_ms, 95),
            "ms",
            note="inbound_raw.received_at to messages.created_at",
        ),
        Row("  receipt -> filed in its thread, max", visible_ms[-1], "ms"),
        Row(
            "  filed as a reply in the right thread",
            right,
            "messages",
            note=f"of {REPLIES:,}: {verdict(right == REPLIES)}; filed twice: {filed_twice}",
        ),
        Row(
            "mail: duplicates captured",
            duplicates,
            "emails",
            note=f"must be 0: {verdict(duplicates == 0)}; captured exactly once {once:,}/{EMAILS:,}, missing {missing}",
        ),
    ]
    accept_ms = sorted(1000 * s for s in accept_each)
    ctx.notes += [
        f"mail: email {len(raw_email):,} bytes as sent (text only, List-Unsubscribe, a lead each); reply "
        f"{sum(len(r[2]) for r in replies) // len(replies):,} bytes (quotes the email); org {org_id}",
        *cpu_line(f"mail send, {EMAILS:,} emails", send_usage, EMAILS, "email", "emails"),
        *cpu_line(f"mail inbound, {REPLIES:,} replies", inbound_usage, REPLIES, "reply", "replies"),
        f"  SMTP listener, per connection (connect to 250 after DATA, c{CONCURRENCY}): "
        f"p50 {percentile(accept_ms, 50):.0f} / p95 {percentile(accept_ms, 95):.0f} ms",
        *cpu_line(f"raw: aiosmtpd sink, {SINK_MESSAGES:,} messages", sink_usage, SINK_MESSAGES, "message", "messages"),
        *cpu_line("capture server fed directly", capture_usage, SINK_MESSAGES, "message", "messages"),
    ]
    return [row for row in rows_out if row is not None]
