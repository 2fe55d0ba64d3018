"""Restarting the supervisor's processes that exit unexpectedly, with backoff, until one crash-loops."""

from __future__ import annotations

import collections
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from devstack.processes import Supervisor

log = logging.getLogger(__name__)

# Processes named so run once (migrations) and are done when they exit.
ONE_SHOT_PREFIX = "migrate-"


class CrashLoop(RuntimeError):
    """A process exited too often too quickly: restarting it again would only hide the fault."""

    def __init__(self, name: str, exits: int, window_s: float, returncode: int | None, tail: str) -> None:
        self.name, self.returncode, self.tail = name, returncode, tail
        super().__init__(
            f"{name} exited {exits} times within {window_s:g} s (last exit code {returncode}); "
            f"its last lines:\n{tail or '(it printed nothing)'}"
        )


@dataclass
class _Patient:
    exits: collections.deque[float] = field(default_factory=collections.deque)
    attempt: int = 0  # restarts since it last stayed up for `stable_s`
    restart_at: float | None = None  # set while a restart waits out its backoff
    started_at: float = 0.0


class Healer:
    """Watches a Supervisor's long-running processes: restarts one that exits, after a doubling delay
    (reset once it stays up), and raises CrashLoop when one exits `loop_exits` times within `loop_window_s`.

    Call `tend()` every fraction of a second from a long-lived thread: restarts fork from the calling
    thread, and the children's parent-death signal is tied to it.
    """

    def __init__(
        self,
        supervisor: Supervisor,
        *,
        first_delay_s: float = 0.5,
        max_delay_s: float = 8.0,
        stable_s: float = 10.0,
        loop_exits: int = 5,
        loop_window_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.supervisor = supervisor
        self.first_delay_s, self.max_delay_s, self.stable_s = first_delay_s, max_delay_s, stable_s
        self.loop_exits, self.loop_window_s = loop_exits, loop_window_s
        self.clock = clock
        self._patients: dict[str, _Patient] = {}

    def tend(self) -> None:
        """One round: note exits, restart those whose backoff is over. Raises CrashLoop."""
        now = self.clock()
        for name in self.supervisor.names():
            if name.startswith(ONE_SHOT_PREFIX):
                continue
            patient = self._patients.setdefault(name, _Patient(started_at=now))
            if self.supervisor.alive(name):
                if patient.attempt and now - patient.started_at >= self.stable_s:
                    patient.attempt = 0
                continue
            if patient.restart_at is None:
                self._exited(name, patient, now)
            elif now >= patient.restart_at:
                patient.restart_at, patient.started_at = None, now
                self.supervisor.restart(name)

    def _exited(self, name: str, patient: _Patient, now: float) -> None:
        returncode = self.supervisor.returncode(name)
        patient.exits.append(now)
        while patient.exits and now - patient.exits[0] > self.loop_window_s:
            patient.exits.popleft()
        if len(patient.exits) >= self.loop_exits:
            raise CrashLoop(name, len(patient.exits), self.loop_window_s, returncode, self.supervisor.log_tail(name))
        delay = min(self.first_delay_s * 2**patient.attempt, self.max_delay_s)
        patient.attempt += 1
        patient.restart_at = now + delay
        log.warning(
            "process exited unexpectedly; restarting",
            extra={"child": name, "returncode": returncode, "attempt": patient.attempt, "delay_s": delay},
        )
