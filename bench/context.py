"""What every figure function is given: where the running stack is, and the raw limits measured beside it."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Limit:
    """One raw limit of a part (e.g. PostgreSQL single-row commits), measured in this run."""

    key: str
    label: str
    value: float
    unit: str


@dataclass
class Context:
    base_url: str
    admin_dsn: str  # superuser, on the server's default database
    nats_url: str
    app_dsn: str = ""  # superuser, on the app's database (where the services' schemas live)
    log_dir: Path | None = None  # the services' log files, <process name>.log
    grpc_targets: dict[str, str] = field(default_factory=dict)  # service name -> host:port
    # Process name -> pid, for CPU accounting (a process's children count as its own): the supervisor's
    # processes (gateway, icp, icp-worker, leads, ...), plus postgres and nats-server when the stack runs them.
    pids: dict[str, int] = field(default_factory=dict)
    limits: dict[str, Limit] = field(default_factory=dict)
    # Lines printed under the table (query plans, breakdowns): what a number alone would not say.
    notes: list[str] = field(default_factory=list)
    # A crash, for the figures that measure recovery: SIGKILL a supervised process by name; start a service's
    # worker process again.
    kill: Callable[[str], object] | None = None
    start_worker: Callable[[str], object] | None = None

    def progress(self, text: str, *, milestone: bool = True, last: bool = False) -> None:
        """A progress line on stderr: rewritten in place on a terminal; off one (CI logs), milestones only."""
        if sys.stderr.isatty():
            sys.stderr.write(f"\r\033[K{text}" + ("\n" if last else ""))
        elif milestone or last:
            sys.stderr.write(text + "\n")
        sys.stderr.flush()
