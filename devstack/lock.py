"""A single-instance lock so a second `make run` explains where the first one is instead of clashing."""

from __future__ import annotations

import fcntl
import json
import logging
import os
from pathlib import Path
from types import TracebackType
from typing import Any, Self

log = logging.getLogger(__name__)


class AlreadyRunning(RuntimeError):
    """Another process holds the stack lock; `pid` and `info` are what it wrote into the file."""

    def __init__(self, pid: int | None, info: dict[str, Any]) -> None:
        self.pid = pid
        self.info = info
        where = f" at {info['url']}" if info.get("url") else ""
        super().__init__(
            f"Lead Flood is already running (pid {pid if pid is not None else 'unknown'}){where}; "
            "stop it with Ctrl-C in its terminal"
        )


class StackLock:
    """Exclusive flock on `path`; the kernel drops it when the holder dies, so no stale locks."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._fd: int | None = None

    def acquire(self, info: dict[str, Any] | None = None) -> Self:
        """Take the lock and record our pid and `info` (e.g. {"url": ...}); raise AlreadyRunning if held."""
        if self._fd is not None:
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Open without O_TRUNC: the holder's info must survive until we know we own the lock.
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise AlreadyRunning(*self._read_holder()) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n{json.dumps(info or {})}\n".encode())
        self._fd = fd
        log.debug("stack lock acquired", extra={"path": str(self.path)})
        return self

    def release(self) -> None:
        """Drop the lock (and clear the file so nobody reads our stale pid); safe to call twice."""
        if self._fd is None:
            return
        os.ftruncate(self._fd, 0)
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def _read_holder(self) -> tuple[int | None, dict[str, Any]]:
        # The holder may be between flock() and write(): tolerate an empty or partial file.
        try:
            pid_line, _, info_line = self.path.read_text().partition("\n")
            pid = int(pid_line) if pid_line.strip().isdigit() else None
            info = json.loads(info_line) if info_line.strip() else {}
        except (OSError, ValueError):
            return None, {}
        return pid, info if isinstance(info, dict) else {}

    def __enter__(self) -> Self:
        return self.acquire()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()
