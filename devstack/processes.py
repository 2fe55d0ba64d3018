"""A small supervisor for the stack's named child processes: start, stop, kill, restart, capture logs."""

from __future__ import annotations

import collections
import ctypes
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1
# Resolved now, not in the forked child: dlopen between fork and exec can deadlock in a threaded parent.
_prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith("linux") else None
_TAIL_LINES = 500
_echo_lock = threading.Lock()  # keep lines from different children from interleaving mid-line


def pid_alive(pid: int, name: str | None = None) -> bool:
    """True if `pid` is a live, non-zombie process (and, where /proc exists, named `name` if given).

    Zombies count as dead: where PID 1 does not reap orphans (containers, this sandbox) they linger.
    The name check stops a pid file from an old run from matching an unrelated process that reused the pid.
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return not Path("/proc/self/stat").exists()  # no procfs (macOS): kill(0) is all we can know
    except OSError:
        return True
    comm, state = stat[stat.index("(") + 1 : stat.rindex(")")], stat[stat.rindex(")") + 2]
    return state not in "ZXx" and (name is None or comm == name[:15])


def _die_with_parent(parent: int) -> None:
    """preexec_fn: ask the kernel to SIGTERM this child when its parent dies (Linux only)."""
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os.kill(os.getpid(), signal.SIGTERM)


@dataclass
class _Child:
    argv: list[str]
    env: dict[str, str]
    cwd: Path | None
    proc: subprocess.Popen[bytes] | None = None
    reader: threading.Thread | None = None
    tail: collections.deque[str] = field(default_factory=lambda: collections.deque(maxlen=_TAIL_LINES))


class Supervisor:
    """Named child processes, each in its own process group, output captured to files and/or our stdout."""

    def __init__(self, log_dir: Path | None = None, echo: bool = False) -> None:
        self.log_dir = Path(log_dir) if log_dir is not None else None
        self.echo = echo
        self._children: dict[str, _Child] = {}  # insertion order = start order

    def start(self, name: str, argv: Sequence[str], env: Mapping[str, str], cwd: Path | None = None) -> int:
        """Launch `argv` under `name` (replacing a dead one of that name); returns its pid."""
        if self.alive(name):
            raise RuntimeError(f"process {name!r} is already running (pid {self.pid(name)})")
        child = self._children.pop(name, None) or _Child(list(argv), dict(env), cwd)
        child.argv, child.env, child.cwd = list(argv), dict(env), cwd
        self._children[name] = child  # re-insert so stop_all sees the latest start order
        parent = os.getpid()
        # Own process group: signals reach the child's own children too (e.g. uvicorn workers), and the
        # terminal's Ctrl-C reaches only us, so we decide the shutdown order.
        # PDEATHSIG fires when the *thread* that forked exits, so call start() from a long-lived thread.
        child.proc = subprocess.Popen(
            child.argv, env=child.env, cwd=child.cwd, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=lambda: _die_with_parent(parent),  # noqa: PLW1509 - only calls prctl/getppid/kill
        )  # fmt: skip
        logfile = self._open_log(name, child.proc.pid)
        child.reader = threading.Thread(
            target=self._pump, args=(name, child.proc.stdout, logfile, child.tail), name=f"log-{name}", daemon=True
        )
        child.reader.start()
        log.info("process started", extra={"child": name, "pid": child.proc.pid})
        return child.proc.pid

    def stop(self, name: str, timeout: float = 10.0) -> int | None:
        """SIGTERM the process group, SIGKILL it after `timeout`; returns the exit code (None if never started)."""
        proc = self._proc(name)
        if proc is None:
            return None
        # Signal only while the leader is unreaped: once reaped, its pid (= our group id) may be reused.
        if proc.returncode is None:
            if not self._exited(proc):
                self._signal(proc, signal.SIGTERM)
                deadline = time.monotonic() + timeout
                while not self._exited(proc) and time.monotonic() < deadline:
                    time.sleep(0.02)
                if not self._exited(proc):
                    log.warning("process ignored SIGTERM, killing", extra={"child": name, "pid": proc.pid})
            # Kills a leader that ignored SIGTERM, and sweeps grandchildren that outlived their leader.
            self._signal(proc, signal.SIGKILL)
            proc.wait()
            log.info("process stopped", extra={"child": name, "returncode": proc.returncode})
        self._join(name)
        return proc.returncode

    def forget(self, name: str, timeout: float = 10.0) -> int | None:
        """stop() a process started for a while (a test's extra worker), and no longer supervise it: a stack
        that checks its processes must not take it for one that died."""
        code = self.stop(name, timeout)
        self._children.pop(name, None)
        return code

    def kill(self, name: str) -> int | None:
        """SIGKILL the process group at once and reap it: a crash, for tests."""
        proc = self._proc(name)
        if proc is None:
            return None
        if proc.returncode is None:
            self._signal(proc, signal.SIGKILL)
            proc.wait()
            log.info("process killed", extra={"child": name, "returncode": proc.returncode})
        self._join(name)
        return proc.returncode

    def restart(self, name: str, timeout: float = 10.0) -> int:
        """Stop (if alive) and start again with the same argv, env and cwd; returns the new pid."""
        child = self._children[name]
        self.stop(name, timeout)
        return self.start(name, child.argv, child.env, child.cwd)

    def stop_all(self, timeout: float = 10.0) -> None:
        """Stop every process, the last started first (the gateway before the services it calls)."""
        for name in reversed(list(self._children)):
            self.stop(name, timeout)

    def alive(self, name: str) -> bool:
        proc = self._proc(name)
        return proc is not None and proc.poll() is None

    def pid(self, name: str) -> int | None:
        proc = self._proc(name)
        return proc.pid if proc is not None else None

    def returncode(self, name: str) -> int | None:
        """The exit code (negative: killed by that signal), or None while running / never started."""
        proc = self._proc(name)
        return proc.poll() if proc is not None else None

    def names(self) -> list[str]:
        return list(self._children)

    def log_tail(self, name: str, lines: int = 40) -> str:
        """The last `lines` lines the process printed (kept in memory across restarts)."""
        child = self._children.get(name)
        return "\n".join(list(child.tail)[-lines:]) if child else ""

    # -- helpers ---------------------------------------------------------------------------------

    def _proc(self, name: str) -> subprocess.Popen[bytes] | None:
        child = self._children.get(name)
        return child.proc if child else None

    @staticmethod
    def _exited(proc: subprocess.Popen[bytes]) -> bool:
        """Has the leader exited? Checked without reaping it, so its pid stays ours until proc.wait()."""
        if proc.returncode is not None:
            return True
        try:
            return os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
        except ChildProcessError:
            return True  # reaped behind Popen's back

    @staticmethod
    def _signal(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
        try:
            os.killpg(proc.pid, sig)  # pgid == pid thanks to start_new_session
        except (ProcessLookupError, PermissionError):
            pass  # group already empty

    def _join(self, name: str) -> None:
        reader = self._children[name].reader
        if reader is not None:
            reader.join(timeout=5)  # output already in the pipe still lands in the log

    def _open_log(self, name: str, pid: int) -> IO[bytes] | None:
        if self.log_dir is None:
            return None
        self.log_dir.mkdir(parents=True, exist_ok=True)
        # Append, to keep earlier runs' output; the reader thread owns and closes the file.
        logfile = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115
        logfile.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} started pid {pid} ---\n".encode())
        logfile.flush()
        return logfile

    def _pump(self, name: str, stream: IO[bytes], logfile: IO[bytes] | None, tail: collections.deque[str]) -> None:
        """Reader thread: copy the child's output line by line to the log file, the tail and maybe our stdout."""
        try:
            for raw in iter(stream.readline, b""):
                if logfile is not None:
                    logfile.write(raw)
                    logfile.flush()  # so a crash's last words are on disk for log_tail/humans
                line = raw.decode(errors="replace").rstrip("\r\n")
                tail.append(line)
                if self.echo:
                    with _echo_lock:
                        sys.stdout.write(f"{name} | {line}\n")  # looked up each time so pytest's capture works
                        sys.stdout.flush()
        finally:
            stream.close()
            if logfile is not None:
                logfile.close()
