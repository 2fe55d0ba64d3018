"""`python -m devstack run`: the whole system locally, until Ctrl-C."""

from __future__ import annotations

import logging
import signal
import sys
import threading

from devstack.lock import AlreadyRunning, StackLock
from devstack.stack import ROOT, Stack, StackConfig

STATE_DIR = ROOT / ".local"


def run() -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # the readiness polls are not news
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    lock = StackLock(STATE_DIR / "stack.lock")
    stack = Stack(StackConfig(state_dir=STATE_DIR))
    try:
        lock.acquire({"url": stack.url})
    except AlreadyRunning as exc:
        print(exc, file=sys.stderr)
        return 1
    try:
        print("Starting PostgreSQL, NATS JetStream, five services, the leads worker and the gateway...")
        stack.start()
        print(
            f"\n  Lead Flood is running at {stack.url}\n"
            "  Sign in as demo@leadflood.local / demo (local default only)\n"
            f"  Logs: {STATE_DIR / 'logs'}    Stop: Ctrl-C\n",
            flush=True,
        )
        while not stop.is_set():
            stop.wait(1)
            for name in stack.dead_processes():
                print(f"{name} exited unexpectedly:\n{stack.supervisor.log_tail(name)}", file=sys.stderr)
                stop.set()
        return 0
    except Exception as exc:  # start-up failures: say what, then stop what did start
        print(f"start-up failed: {exc}", file=sys.stderr)
        return 1
    finally:
        print("Stopping...", flush=True)
        stack.stop()
        lock.release()
        print("Stopped.")


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "run"
    if command != "run":
        raise SystemExit("usage: python -m devstack run")
    sys.exit(run())
