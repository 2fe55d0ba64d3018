"""Password hashes in processes of their own, each in a session (a scheduling group) of its own: as threads of the
gateway's process, a flood of wrong passwords (each a 64 MiB Argon2 check over 4 lanes, 4 threads) crowded the
event loop's thread out of its own process's share of the CPU: beside 20 such clients GET /health's p99 was
71-87 ms (8-23 ms alone); with these processes, 19.8 ms (8.5 alone), and 3.4 sign-ins/s instead of 1.5-2.1
(load 14-17, bench/gateway_load.py). Small on purpose: each process imports this module, argon2 and little
else (17 MB resident, 83 MB at the peak of a check, its 64 MiB of Argon2 memory as a thread needed too)."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError

hasher = PasswordHasher()
# Where autogroups are off, a nice value is what keeps the event loop ahead: 5 weighs a third of nice 0 (CFS).
HASH_NICE = 5
_PR_SET_PDEATHSIG = 1


def start(parent: int) -> None:
    """A hashing process's start: it dies with the gateway's process that spawned it (in a session of its own,
    its group's signals no longer reach it), and it runs in a session of its own. With Linux's autogroups
    (each session a scheduling group) it then competes with the gateway's process as a whole, not with its
    event loop's thread alone, and the loop, mostly asleep, takes the CPU at once when it wakes. The group's
    own weight is left as it is: lowered (autogroup nice 5), it weighed a third of every other process on a
    busy machine, and a single sign-in at load 15 took 3.2 s at the median instead of 0.2-1.1 s. Niced as a
    process too: where autogroups are off, that keeps the loop ahead, as the hashing threads' nice did before."""
    _die_with(parent)
    with contextlib.suppress(OSError):
        os.setsid()
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, 0, HASH_NICE)


def _die_with(parent: int) -> None:
    """SIGKILL from the kernel when the parent dies (Linux's PR_SET_PDEATHSIG); elsewhere, nothing."""
    with contextlib.suppress(AttributeError, OSError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def check(password_hash: str, password: str) -> bool:
    try:
        return hasher.verify(password_hash, password)
    except (VerifyMismatchError, InvalidHashError):
        return False


def make(password: str) -> str:
    return hasher.hash(password)


def ready() -> bool:
    return True
