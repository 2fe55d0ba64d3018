"""The healer over real child processes: a killed one comes back, a crash loop stops with its last words."""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from devstack.healing import CrashLoop, Healer
from devstack.processes import Supervisor

SLEEPER = "import time; print('sleeper up', flush=True); time.sleep(60)"
CRASHER = "print('crasher: the config is wrong', flush=True); raise SystemExit(3)"
RESTARTING = "process exited unexpectedly; restarting"


@pytest.fixture
def supervisor(tmp_path: Path) -> Iterator[Supervisor]:
    sup = Supervisor(tmp_path / "logs")
    yield sup
    sup.stop_all(timeout=1.0)


class FakeClock:
    """Backoff and stability windows without waiting them out."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _until(predicate: Callable[[], bool], timeout: float = 10.0, tend: Healer | None = None) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if tend is not None:
            tend.tend()
        if predicate():
            return
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def _restart_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.getMessage() == RESTARTING]


def _start(sup: Supervisor, name: str, code: str) -> int:
    return sup.start(name, [sys.executable, "-c", code], dict(os.environ))


def test_a_killed_process_comes_back_and_the_restart_is_logged(
    supervisor: Supervisor, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    healer = Healer(supervisor, first_delay_s=0.2)
    first = _start(supervisor, "sleeper", SLEEPER)
    _start(supervisor, "neighbour", SLEEPER)
    neighbour = supervisor.pid("neighbour")
    healer.tend()
    os.kill(first, signal.SIGKILL)

    _until(lambda: supervisor.alive("sleeper") and supervisor.pid("sleeper") != first, tend=healer)
    _until(lambda: "sleeper up" in supervisor.log_tail("sleeper", lines=1))
    assert supervisor.pid("neighbour") == neighbour and supervisor.alive("neighbour")  # untouched
    (line,) = _restart_lines(caplog)
    assert (line.child, line.returncode, line.attempt, line.delay_s) == ("sleeper", -signal.SIGKILL, 1, 0.2)


def test_a_crash_loop_stops_with_the_name_exit_code_and_last_lines(
    supervisor: Supervisor, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    healer = Healer(supervisor, first_delay_s=0.01, max_delay_s=0.03, loop_exits=5, loop_window_s=60)
    _start(supervisor, "crasher", CRASHER)

    with pytest.raises(CrashLoop) as caught:
        _until(lambda: False, tend=healer)
    loop = caught.value
    assert (loop.name, loop.returncode) == ("crasher", 3)
    assert str(loop).startswith("crasher exited 5 times within 60 s (last exit code 3)")
    assert "crasher: the config is wrong" in str(loop)
    lines = _restart_lines(caplog)
    assert [(r.attempt, r.delay_s) for r in lines] == [(1, 0.01), (2, 0.02), (3, 0.03), (4, 0.03)]
    assert {(r.child, r.returncode) for r in lines} == {("crasher", 3)}


def test_a_process_that_stays_up_starts_its_backoff_over(
    supervisor: Supervisor, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    clock = FakeClock()
    healer = Healer(supervisor, first_delay_s=1, stable_s=10, loop_exits=10, clock=clock)
    _start(supervisor, "sleeper", SLEEPER)

    def crash_and_restart(up_for: float) -> float:
        """Let it run `up_for` (by the clock), kill it, return the backoff the healer chose."""
        clock.now += up_for
        healer.tend()
        pid = supervisor.pid("sleeper")
        supervisor.kill("sleeper")
        healer.tend()
        delay = _restart_lines(caplog)[-1].delay_s
        healer.tend()
        assert supervisor.pid("sleeper") == pid, "restarted before its backoff was over"
        clock.now += delay
        healer.tend()
        assert supervisor.alive("sleeper") and supervisor.pid("sleeper") != pid
        return delay

    assert [crash_and_restart(up_for=1) for _ in range(3)] == [1, 2, 4]
    assert crash_and_restart(up_for=10) == 1


def test_one_shot_processes_are_never_restarted(supervisor: Supervisor, caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    healer = Healer(supervisor, first_delay_s=0.01, clock=clock)
    pid = _start(supervisor, "migrate-leads", "raise SystemExit(0)")
    _until(lambda: not supervisor.alive("migrate-leads"))
    for _ in range(3):
        healer.tend()
        clock.now += 60
    assert supervisor.pid("migrate-leads") == pid and not supervisor.alive("migrate-leads")
    assert not _restart_lines(caplog)
