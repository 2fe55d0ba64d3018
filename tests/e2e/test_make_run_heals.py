"""`make run` heals itself: a worker killed mid-job is back within seconds and finishes the job, while the rest
keeps serving; Ctrl-C then stops everything it started."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from tests.e2e.helpers import unique_email

ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")


def _until(what: str, probe: Callable[[], T | None], timeout_s: float) -> T:
    """Poll `probe` until it returns something other than None (or False)."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = probe()
        if found:
            return found
        assert time.monotonic() < deadline, f"{what}: not within {timeout_s} s"
        time.sleep(0.05)


# -- processes, read from /proc ------------------------------------------------------------------


def _stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, start time) of a live process, None once it is gone or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return None if fields[0] in "ZXx" else (int(fields[1]), int(fields[19]))


def _processes() -> dict[int, tuple[int, int]]:
    pids = (int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit())
    return {pid: info for pid in pids if (info := _stat(pid)) is not None}


def _descendants(root: int) -> set[tuple[int, int]]:
    """(pid, start time) of every process below `root`: the start time tells a reused pid apart."""
    table, found, frontier = _processes(), set(), {root}
    while frontier:
        children = {pid for pid, (parent, _) in table.items() if parent in frontier}
        found |= {(pid, table[pid][1]) for pid in children}
        frontier = children
    return found


def _leads_worker(parent: int) -> int | None:
    """The pid of the supervisor's `python -m leads worker` child, if one is running."""
    for pid, (ppid, _) in _processes().items():
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[:-1]
        except OSError:
            continue
        if ppid == parent and argv[-3:] == [b"-m", b"leads", b"worker"]:
            return pid
    return None


# -- `python -m devstack run` as a user starts it --------------------------------------------------


@dataclass
class MakeRun:
    proc: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)

    def pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:  # read all of it: a full pipe would block the stack's output
            self.lines.append(line.rstrip("\n"))

    def output(self, last: int = 60) -> str:
        return "\n".join(self.lines[-last:])

    def url(self) -> str | None:
        assert self.proc.poll() is None, f"devstack exited with {self.proc.returncode}:\n{self.output()}"
        found = (re.search(r"Lead Flood is running at (\S+)", line) for line in list(self.lines))
        return next((match.group(1) for match in found if match), None)


@pytest.fixture
def make_run() -> Iterator[MakeRun]:
    state = Path(tempfile.mkdtemp(prefix="leadflood-make-run-"))
    state.chmod(0o755)  # the postgres user enters it without a relocation
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "NATS_URL")}
    argv = [
        sys.executable, "-m", "devstack", "run", "--state-dir", str(state), "--free-ports",
        # A killed worker's job is handed on after the ack wait: 2 s here instead of 30.
        "--env", "JOB_ACK_WAIT_MS=2000",
    ]  # fmt: skip
    proc = subprocess.Popen(
        argv, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    running = MakeRun(proc)
    reader = threading.Thread(target=running.pump, daemon=True)
    reader.start()
    try:
        yield running
    finally:
        if proc.poll() is None:  # the test failed before its own Ctrl-C
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        reader.join(timeout=10)
        shutil.rmtree(state, ignore_errors=True)


def test_a_killed_worker_is_back_within_seconds_and_finishes_its_job(make_run: MakeRun) -> None:
    devstack = make_run.proc.pid
    url = _until("make run printed its URL", make_run.url, timeout_s=120)
    with httpx.Client(base_url=url, timeout=10) as http:
        login = http.post("/v1/auth/login", json={"email": "demo@leadflood.local", "password": "demo"})
        assert login.status_code == 200, login.text
        http.headers["authorization"] = f"Bearer {login.json()['accessToken']}"
        # "slow" makes the sandbox enricher take 3 s: time to kill the worker while it holds the job.
        created = http.post("/v1/leads", json={"email": unique_email("slow"), "firstName": "S", "lastName": "W"})
        assert created.status_code == 201, created.text
        lead_id, job_id = created.json()["leadId"], created.json()["jobId"]

        def job_status(status: str) -> Callable[[], dict[str, Any] | None]:
            def probe() -> dict[str, Any] | None:
                job = http.get(f"/v1/jobs/{job_id}").json()
                return job if job["status"] == status else None

            return probe

        _until("the job started", job_status("running"), timeout_s=15)
        worker = _leads_worker(devstack)
        assert worker is not None, "no `python -m leads worker` child of devstack"
        os.kill(worker, signal.SIGKILL)

        served_meanwhile = 0

        def back() -> int | None:
            nonlocal served_meanwhile
            new = _leads_worker(devstack)
            if new is None or new == worker:
                listed = http.get("/v1/leads", params={"limit": 5})
                assert listed.status_code == 200, f"the rest stopped serving while the worker was down: {listed.text}"
                served_meanwhile += 1
                return None
            return new

        _until("a new leads worker", back, timeout_s=5)  # "back within seconds"
        assert served_meanwhile >= 1
        assert http.get("/ready").status_code == 200

        _until("the job completed", job_status("completed"), timeout_s=30)
        assert http.get(f"/v1/leads/{lead_id}").json()["status"] == "enriched"

    assert make_run.proc.poll() is None, f"devstack stopped:\n{make_run.output()}"
    restarts = [line for line in make_run.lines if "process exited unexpectedly; restarting" in line]
    assert len(restarts) == 1 and '"child": "leads-worker"' in restarts[0] and '"returncode": -9' in restarts[0]

    started = _descendants(devstack)
    assert started, "devstack has no children"
    make_run.proc.send_signal(signal.SIGINT)  # Ctrl-C
    assert make_run.proc.wait(timeout=60) == 0, make_run.output()

    def all_gone() -> bool:
        return not {(pid, start) for pid, start in started if (_stat(pid) or (0, None))[1] == start}

    _until("every process devstack started has exited", all_gone, timeout_s=10)
