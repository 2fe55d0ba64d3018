"""The walking slice end to end: POST /v1/leads, then poll GET /v1/leads/{id} until the lead is enriched."""

from __future__ import annotations

import asyncio
import math
import os
import statistics
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.context import Context, Limit
from bench.raw_limits import JS_PUBLISH, PG_COMMIT
from bench.report import Row

LEADS = 200
CONCURRENCY = 4
WARMUP = 8  # not counted: the first leads pay for gRPC channels, pool connections and statement caches
POLL_S = 0.005
LEAD_TIMEOUT_S = 30

# Counted from the code (leads servicer, jobs.JobWorker, outbox.OutboxRelay), per lead:
WORK_PER_LEAD = (
    "POST -> gRPC CreateLead: tx 1 (lead + job + 2 outbox rows); relay: tx 2 publishes job + lead.created",
    "worker consumes; tx 3 claims (processing); read-only tx; tx 4 applies (enriched + outbox row); ack_sync",
    "after enriched is visible: relay tx 5 publishes lead.updated; each poll: 1 GET + 1 gRPC + 1 read tx",
)
# On the path from POST to a visible `enriched`: txs 1-4 each wait for a commit fsync, and the job's
# publish (tx 2) waits for its ack; lead.created is published concurrently with it.
CRITICAL_COMMITS, CRITICAL_PUBLISHES = 4, 1


async def one_lead(http: httpx.AsyncClient, email: str) -> tuple[float, int]:
    """Seconds from sending the POST to first seeing the lead enriched, and how many GETs that took."""
    started, polls = time.perf_counter(), 0
    reply = await http.post("/v1/leads", json={"email": email, "firstName": "Bench", "lastName": "Mark"})
    reply.raise_for_status()
    lead_id = reply.json()["leadId"]
    deadline = started + LEAD_TIMEOUT_S
    while True:
        reply = await http.get(f"/v1/leads/{lead_id}")
        polls += 1
        reply.raise_for_status()
        status = reply.json()["status"]
        if status == "enriched":
            return time.perf_counter() - started, polls
        if status == "failed" or time.perf_counter() > deadline:
            raise RuntimeError(f"lead {lead_id} ({email}) ended {status!r}: {reply.text}")
        await asyncio.sleep(POLL_S)


def machine_cpu() -> tuple[float, float] | None:
    """(busy, total) CPU seconds of the whole machine since boot, from /proc/stat; None off Linux."""
    try:
        ticks = [int(t) for t in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return None
    hz = os.sysconf("SC_CLK_TCK")
    idle = ticks[3] + ticks[4]  # idle + iowait
    return (sum(ticks) - idle) / hz, sum(ticks) / hz


@dataclass
class Result:
    latencies_s: list[float]
    polls: int
    wall_s: float
    client_cpu_s: float  # this process: the HTTP client and the stack's log-pump threads
    machine: tuple[float, float] | None  # (busy, total) CPU seconds of the whole machine


async def run(ctx: Context, token: str, run_id: str) -> Result:
    """LEADS leads, CONCURRENCY in flight: their latencies, and the time and CPU they took together."""
    headers = {"authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=CONCURRENCY * 2)
    async with httpx.AsyncClient(base_url=ctx.base_url, headers=headers, timeout=10, limits=limits) as http:
        # Unique per run, so a re-run against a kept database never hits "already exists".
        await asyncio.gather(*(one_lead(http, f"warmup-{run_id}-{i}@example.com") for i in range(WARMUP)))
        pending = iter(range(LEADS))
        latencies: list[float] = []
        polls = 0

        async def worker() -> None:
            nonlocal polls
            for i in pending:  # a shared iterator: each lead is taken by exactly one worker
                latency, lead_polls = await one_lead(http, f"bench-{run_id}-{i}@example.com")
                latencies.append(latency)
                polls += lead_polls
                n = len(latencies)
                ctx.progress(f"walking slice: {n}/{LEADS}", milestone=n % 50 == 0, last=n == LEADS)

        started, cpu_before, client_before = time.perf_counter(), machine_cpu(), time.process_time()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        wall_s, cpu_after = time.perf_counter() - started, machine_cpu()
        machine = None
        if cpu_before and cpu_after:
            machine = (cpu_after[0] - cpu_before[0], cpu_after[1] - cpu_before[1])
        return Result(latencies, polls, wall_s, time.process_time() - client_before, machine)


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile: an observed value, never an interpolation between two."""
    rank = max(1, min(len(sorted_values), math.ceil(p / 100 * len(sorted_values))))
    return sorted_values[rank - 1]


async def login(base_url: str) -> str:
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as http:
        reply = await http.post("/v1/auth/login", json={"email": "demo@leadflood.local", "password": "demo"})
        reply.raise_for_status()
        return reply.json()["accessToken"]


async def rows(ctx: Context) -> list[Row]:
    """Latency percentiles against the critical path's raw floor, throughput against the raw rates."""
    token = await login(ctx.base_url)
    result = await run(ctx, token, uuid.uuid4().hex[:10])
    ms = sorted(s * 1000 for s in result.latencies_s)
    pg, js = ctx.limits[PG_COMMIT], ctx.limits[JS_PUBLISH]
    floor = Limit(
        "slice_floor",
        f"{CRITICAL_COMMITS} commits + {CRITICAL_PUBLISHES} publish",
        1000 * (CRITICAL_COMMITS / pg.value + CRITICAL_PUBLISHES / js.value),
        "ms",
    )
    tag = f"walking slice ({CONCURRENCY} in flight)"
    throughput = len(ms) / result.wall_s
    rows = [
        Row(f"{tag} p50", statistics.median(ms), "ms", floor),
        Row(f"{tag} p95", percentile(ms, 95), "ms", floor),
        Row(f"{tag} p99", percentile(ms, 99), "ms", floor),
        Row(f"{tag} max", ms[-1], "ms", floor),
        Row(f"{tag} throughput", throughput, "leads/s", pg),
        Row(f"{tag} throughput", throughput, "leads/s", js),
        # Where the time goes: the polling is load too, and near 100% busy means the slice is CPU-bound.
        Row("  GET polls per lead", result.polls / len(ms), "GETs"),
        Row("  bench process CPU (client, log pump)", 100 * result.client_cpu_s / result.wall_s, "% of 1 CPU"),
    ]
    if result.machine:
        busy_s, total_s = result.machine
        rows += [
            Row("  machine CPU busy, all CPUs", 100 * busy_s / total_s, "%"),
            Row("  machine CPU time per lead, all processes", 1000 * busy_s / len(ms), "ms"),
        ]
    return rows
