"""`python -m bench`: start a throwaway stack, measure raw limits and figures, print one table, save JSON."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from bench import (
    classifier,
    gateway_load,
    ingest,
    jetstream_cluster,
    lead_list,
    lead_runs,
    mail_room,
    raw_limits,
    sequences,
    walking_slice,
)
from bench.context import Context
from bench.report import Row, table, write_json
from devstack.nats import find_nats_server
from devstack.stack import DATABASE, ROOT, Ports, Stack, StackConfig
from leadflood_platform import identity

# The sandbox provider's simulated latency is switched off, so the figures measure our system, not a sleep;
# its searches repeat 20% of people, the duplicate share the ingest figure is asked for.
# The mail part's orgs get default mailboxes whose daily cap its sends never reach (mail_room.STACK_ENV).
STACK_ENV = {
    "SANDBOX_ENRICH_DELAY_MS": "0",
    "SANDBOX_SEARCH_DUPLICATE_RATE": str(ingest.DUPLICATE_RATE),
    **mail_room.STACK_ENV,
    **lead_runs.STACK_ENV,
    **gateway_load.STACK_ENV,
}
OUTPUT = ROOT / ".local" / "bench" / "latest.json"

# Add a figure: write `async def rows(ctx) -> list[Row]` somewhere and list it here (raw limits it
# needs go in raw_limits.RAW_LIMITS). The table shows them in this order, and they run in it: the
# leads list loads a million rows, so it comes last.
FIGURES: dict[str, Callable[[Context], Awaitable[list[Row]]]] = {
    "raw": raw_limits.rows,
    "slice": walking_slice.rows,
    "ingest": ingest.rows,
    "classifier": classifier.rows,
    "mail": mail_room.rows,
    "sequences": sequences.rows,
    "runs": lead_runs.rows,
    "cluster": jetstream_cluster.rows,
    "gateway": gateway_load.rows,  # before the list: its million leads would make every page's total cost more
    "list": lead_list.rows,
}

SETTINGS = {
    "durable": True,
    "env": STACK_ENV,
    "rawCount": raw_limits.COUNT,
    "leads": walking_slice.LEADS,
    "warmupLeads": walking_slice.WARMUP,
    "concurrency": walking_slice.CONCURRENCY,
    "pollMs": walking_slice.POLL_S * 1000,
    "pgUnnestRows": raw_limits.UNNEST_ROWS,
    "pgUnnestBatch": raw_limits.UNNEST_BATCH,
    "pgUnnestLeadsRows": raw_limits.UNNEST_LEADS_ROWS,
    "ingest": ingest.SETTINGS,
    "leadsList": lead_list.SETTINGS,
    "classifier": classifier.SETTINGS,
    "mail": mail_room.SETTINGS,
    "sequences": sequences.SETTINGS,
    "runs": lead_runs.SETTINGS,
    "cluster": jetstream_cluster.SETTINGS,
    "gatewayLoad": gateway_load.SETTINGS,
}


def new_stack() -> tuple[Stack, Path]:
    state = Path(tempfile.mkdtemp(prefix="leadflood-bench-"))
    state.chmod(0o755)  # the postgres user must reach its data folder inside
    # durable=True like `make run`: commits wait for fsync, as they would for a user.
    gateways = gateway_load.GATEWAY_PROCESSES  # a process per core, on one port
    config = StackConfig(
        state_dir=state,
        ports=Ports.free(gateways=gateways),
        durable=True,
        echo=False,
        env=STACK_ENV,
        gateway_processes=gateways,
    )
    return Stack(config), state


def context(stack: Stack) -> Context:
    # Superuser DSN: our own cluster's, or that of the server the user pointed the stack at.
    dsn = stack.postgres.admin_dsn() if stack.postgres else stack.config.database_url or os.environ["DATABASE_URL"]
    parts = urlsplit(dsn)
    app_dsn = urlunsplit(parts._replace(path=f"/{DATABASE}"))  # the same superuser, on the app's database
    supervisor = stack.supervisor  # its finished migrations are left out
    pids = {name: pid for name in supervisor.names() if supervisor.alive(name) and (pid := supervisor.pid(name))}
    if stack.postgres:  # the postmaster: its children are the backends, walwriter, checkpointer...
        with contextlib.suppress(OSError, ValueError):
            pids["postgres"] = int((stack.postgres.data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
    if stack.nats and (nats_pid := stack.nats.pid()):
        pids["nats-server"] = nats_pid
    return Context(
        base_url=f"http://127.0.0.1:{stack.config.ports.http}",
        admin_dsn=dsn,
        nats_url=stack.env["leads"]["NATS_URL"],
        app_dsn=app_dsn,
        log_dir=stack.config.state_dir / "logs",
        grpc_targets={service: f"127.0.0.1:{port}" for service, port in stack.config.ports.grpc.items()},
        pids=pids,
        kill=supervisor.kill,
        start_worker=stack.start_worker,
    )


def machine_facts(stack: Stack, load_before: float) -> dict[str, Any]:
    nats = subprocess.run([str(find_nats_server()), "--version"], capture_output=True, text=True, check=False)
    return {
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "python": platform.python_version(),
        # Another workload on the machine (a test run, a build) moves every figure; this shows it.
        "loadAverage1m": round(load_before, 2),
        "natsServer": nats.stdout.strip() + ("" if stack.nats else " (external NATS_URL)"),
    }


async def measure(ctx: Context, figures: list[str]) -> tuple[str, list[Row]]:
    """The server's PostgreSQL version, then the raw limits, then every figure, one at a time."""
    conn = await asyncpg.connect(ctx.admin_dsn)
    try:
        # "PostgreSQL 15.x (Debian ...) on x86_64-pc-linux-gnu, compiled by ...": the compiler adds nothing.
        pg_version = (await conn.fetchval("select version()")).split(", compiled by")[0]
    finally:
        await conn.close()
    await raw_limits.measure(ctx)
    rows: list[Row] = []
    for name in figures:
        rows += await FIGURES[name](ctx)
    return pg_version, rows


def header(machine: dict[str, Any]) -> str:
    s = SETTINGS
    return "\n".join(
        [
            f"Lead Flood bench, {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC",
            f"  machine: {machine['nproc']} CPUs (load average {machine['loadAverage1m']} before start), "
            f"Python {machine['python']}, {machine['natsServer']}",
            f"  {machine['postgres']}",
            "  stack: durable (fsync on, as `make run`); SANDBOX_ENRICH_DELAY_MS=0: the provider's simulated",
            "         latency is off, so the figures measure our system, not a sleep",
            f"  raw limits: {s['rawCount']} operations each, one at a time, after a short warm-up",
            f"  walking slice: {s['leads']} leads ({s['warmupLeads']} warm-up leads not counted), "
            f"{s['concurrency']} in flight, GET every {s['pollMs']:g} ms until enriched;",
            "         latency = sending the POST to seeing `enriched`; the bench client shares the CPUs",
            *(f"  per lead: {line}" for line in walking_slice.WORK_PER_LEAD),
            f"  PG unnest: {s['pgUnnestRows']:,} rows (a leads.leads copy with its indexes: "
            f"{s['pgUnnestLeadsRows']:,}) in INSERT ... SELECT FROM unnest batches of {s['pgUnnestBatch']:,}, "
            "a commit each",
            f"  ingest: {ingest.RUNS} search runs (the median shown) of {ingest.PEOPLE:,} sandbox people, "
            "SANDBOX_SEARCH_DUPLICATE_RATE="
            f"{ingest.DUPLICATE_RATE:g}; leads/s = fetched / (POST to the run's finishedAt), polled every "
            f"{ingest.POLL_S * 1000:g} ms like the web client",
            f"  leads list: {lead_list.LEADS:,} leads loaded into the demo org, then per variant {lead_list.WARMUP} "
            f"warm-up + {lead_list.REQUESTS} sequential GETs (at most {lead_list.CAP_S:g}s each);",
            "         raw: the service's own SQL for the same pages through asyncpg, and GET /health; the leads",
            "         service's gRPC ListLeads, called directly with the same requests, splits the rest",
            f"  mail: {mail_room.EMAILS:,} emails through the inbox's gRPC SendMessage ({mail_room.CONCURRENCY} in "
            "flight) into the capture SMTP server, timed to the last one stored,",
            f"         then a reply to each through the inbound SMTP listener ({mail_room.CONCURRENCY} connections), "
            "timed to the last filed; raw: a plain aiosmtpd sink",
            f"  sequences: the scheduler's claim of {sequences.DUE:,} due enrollments among {sequences.NOT_DUE_SMALL:,}"
            f" and {sequences.NOT_DUE_LARGE:,} waiting (median of {sequences.CLAIM_REPEATS}, rolled back);",
            f"         {sequences.EMAILS:,} leads enrolled by filter in a one-step sequence, timed to the capture"
            " server's (the SMTP sink's) storing of the last, beside the plain sink's rate",
            f"  cluster: {jetstream_cluster.JOBS:,} do-nothing jobs queued, then timed through the outbox relay and "
            f"{jetstream_cluster.WORKERS} job workers to the last completed, on one nats-server (R1) and on a "
            "3-node cluster (R3),",
            f"         {jetstream_cluster.ROUNDS} rounds of each, interleaved",
            f"  gateway: GET /v1/leads?limit={gateway_load.PAGE} from {gateway_load.CLIENTS} kept-alive connections (a "
            "session each), beside a bare FastAPI app calling ListLeads for the same page; GET /health, one",
            f"         connection, alone and beside {gateway_load.SIGN_IN_CLIENTS} clients posting wrong passwords "
            "(an account and an address each)",
            "  ratio = value / raw limit; latency floor = the critical path's commits and publishes at the raw rates",
        ]
    )


def interrupt(*_: object) -> None:
    # SIGTERM takes Ctrl-C's path: asyncio.run cancels the measurement (its cleanup runs), then
    # KeyboardInterrupt reaches the finally that stops the stack. Raised here, it would land mid-I/O.
    signal.raise_signal(signal.SIGINT)


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--only",
        default=",".join(FIGURES),
        help=f"comma-separated figures to run, in the table's order (default: all of {','.join(FIGURES)})",
    )
    args = parser.parse_args()
    args.figures = [name for name in FIGURES if name in args.only.split(",")]
    unknown = set(args.only.split(",")) - set(FIGURES)
    if unknown:
        parser.error(f"unknown figures: {', '.join(sorted(unknown))}")
    return args


def main() -> int:
    args = arguments()
    # Ctrl-C raises KeyboardInterrupt even when started with SIGINT ignored (`cmd &` in a script); SIGTERM too.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, interrupt)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    stack, state = new_stack()
    started, keep_logs, load_before = time.monotonic(), False, os.getloadavg()[0]
    try:
        print("starting a throwaway stack...", file=sys.stderr, flush=True)
        stack.start(timeout_s=120)  # from the main thread: children die with the thread that forked them
        print(f"stack ready in {time.monotonic() - started:.1f}s", file=sys.stderr, flush=True)
        # The figures that call a service's gRPC directly do it with an identity of their own, `bench`.
        identity.install(identity.Signer(stack.secrets.internal_token_key, "bench"))
        machine = machine_facts(stack, load_before)
        ctx = context(stack)
        machine["postgres"], rows = asyncio.run(measure(ctx, args.figures))
        machine["postgres"] += "" if stack.postgres else " (external DATABASE_URL)"
        print(header(machine) + "\n\n" + table(rows))
        if ctx.notes:
            print("\n" + "\n".join(ctx.notes))
        write_json(OUTPUT, machine=machine, settings=SETTINGS, rows=rows, notes=ctx.notes)
        print(f"\nsaved {OUTPUT.relative_to(ROOT)}; whole run {time.monotonic() - started:.0f}s")
        return 0
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        keep_logs = True
        print(f"bench failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        for name in stack.dead_processes():
            print(f"--- {name} exited:\n{stack.supervisor.log_tail(name)}", file=sys.stderr)
        return 1
    finally:
        # A second Ctrl-C must not cut the shutdown short and leave servers running.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("stopping the stack...", file=sys.stderr, flush=True)
        stack.stop()
        if keep_logs:  # the services' logs say why it failed
            print(f"logs kept in {state / 'logs'}", file=sys.stderr)
        else:
            shutil.rmtree(state, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
