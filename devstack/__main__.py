"""`python -m devstack run`: the whole system locally, until Ctrl-C."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from devstack.healing import CrashLoop, Healer
from devstack.lock import AlreadyRunning, StackLock
from devstack.stack import ROOT, Ports, Stack, StackConfig
from leadflood_platform.logs import JsonFormatter

STATE_DIR = ROOT / ".local"
# How often the healer looks for exited processes: a crashed one is noticed within this.
TEND_INTERVAL_S = 0.25


def run(state_dir: Path = STATE_DIR, *, free_ports: bool = False, env: dict[str, str] | None = None) -> int:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter("devstack"))  # the services' format: one JSON object per line
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    logging.getLogger("httpx").setLevel(logging.WARNING)  # the readiness polls are not news
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    lock = StackLock(state_dir / "stack.lock")
    ports = Ports.free() if free_ports else Ports()
    # A job a killed worker held goes to another worker after the ack wait: 10 s here rather than the
    # deployed 30 s, so a user sees it go on soon after the worker is back (a live job's worker tells
    # JetStream it is alive every third of that, so a long job is not handed on meanwhile).
    env = {"JOB_ACK_WAIT_MS": "10000", **(env or {})}
    # GATEWAY_PROCESSES=2: the gateway as two processes on the one port (a core each on a 2-core machine).
    gateways = int(os.environ.get("GATEWAY_PROCESSES", "1"))
    stack = Stack(StackConfig(state_dir=state_dir, ports=ports, env=env, gateway_processes=gateways))
    try:
        lock.acquire({"url": stack.url})
    except AlreadyRunning as exc:
        print(exc, file=sys.stderr)
        return 1
    try:
        print("Starting PostgreSQL, NATS JetStream, the services, their workers and the gateway...")
        try:
            stack.start()
        except Exception as exc:  # start-up failures: say what, then stop what did start
            print(f"start-up failed: {exc}", file=sys.stderr)
            return 1
        print(
            f"\n  Lead Flood is running at {stack.url}\n"
            "  Sign in as demo@leadflood.local / demo (local default only)\n"
            f"  Logs: {state_dir / 'logs'}    Stop: Ctrl-C",
            flush=True,
        )
        for (service, name), port in sorted(stack.config.ports.named.items()):
            print(f"  {service} {name.replace('_', ' ')}: localhost:{port}", flush=True)
        print("  Prometheus metrics, one /metrics per process:", flush=True)
        for process in stack.config.ports.metrics:
            print(f"    {process + ':':<18}{stack.metrics_url(process)}", flush=True)
        print(flush=True)
        # A process that exits is restarted (the rest keeps serving meanwhile); only a crash loop stops all.
        healer = Healer(stack.supervisor)
        while not stop.wait(TEND_INTERVAL_S):
            try:
                healer.tend()
            except CrashLoop as loop:
                print(f"Stopping Lead Flood: {loop}", file=sys.stderr)
                return 1
        return 0
    finally:
        print("Stopping...", flush=True)
        stack.stop()
        lock.release()
        print("Stopped.", flush=True)


def _assignment(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack")
    sub = parser.add_subparsers(dest="command")
    run_args = sub.add_parser("run", help="start everything; Ctrl-C stops it all (the default)")
    run_args.add_argument(
        "--state-dir", type=Path, default=STATE_DIR, help=f"data, logs and secrets (default {STATE_DIR})"
    )
    run_args.add_argument(
        "--free-ports", action="store_true", help="any free ports instead of the fixed ones (the URL is printed)"
    )
    run_args.add_argument(
        "--env", type=_assignment, action="append", default=[], metavar="KEY=VALUE",
        help="a setting for every service process, e.g. --env JOB_ACK_WAIT_MS=2000 (repeatable)",
    )  # fmt: skip
    args = parser.parse_args(argv or ["run"])
    return run(args.state_dir.absolute(), free_ports=args.free_ports, env=dict(args.env))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
