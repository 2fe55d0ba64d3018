"""Free TCP ports for throwaway instances, and waiting for a port to accept connections."""

from __future__ import annotations

import logging
import os
import random
import socket
import time
from pathlib import Path

log = logging.getLogger(__name__)


# The ports free_port handed out in this process: a stack asks for a dozen at once, before any is bound.
_given: set[int] = set()


def free_port() -> int:
    """A port free on 127.0.0.1 now, not reserved (bind soon), below the kernel's ephemeral range.

    A port the kernel hands out for bind(0) comes from the ephemeral range, which every outgoing connection
    also draws from: between choosing it and the server binding it (a stack starts a dozen processes, each
    opening connections), a client socket could take it, and the server failed with "address in use". Ports
    under that range are never given to outgoing connections.
    """
    low, high = _own_slice(*_below_ephemeral())
    for _ in range(200):
        port = random.randrange(low, high)
        if port in _given:  # handed out already, maybe not bound yet: never twice in one process
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("0.0.0.0", port))  # noqa: S104 (a check: the servers bind every address)
            except OSError:
                continue
        _given.add(port)
        return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:  # a crowded machine: as the kernel picks
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _own_slice(low: int, high: int) -> tuple[int, int]:
    """This process's share of the span when several choose ports at once: pytest-xdist's workers each start a
    stack in the same seconds, and `_given` keeps one process from handing a port out twice, not two. A gRPC
    server would not even notice (it binds with SO_REUSEPORT by default, leadflood_platform.server turns it off):
    two workers' services on one port would answer each other's calls."""
    worker, count = os.environ.get("PYTEST_XDIST_WORKER", ""), os.environ.get("PYTEST_XDIST_WORKER_COUNT", "")
    if not (worker.startswith("gw") and worker[2:].isdigit() and count.isdigit() and int(count) > 1):
        return low, high
    size = (high - low) // int(count)
    first = low + size * (int(worker[2:]) % int(count))
    return first, first + size


def _below_ephemeral() -> tuple[int, int]:
    """A span of ports under the kernel's ephemeral range (Linux's ip_local_port_range; 32768 if unknown)."""
    try:
        first = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        first = 32768
    return (max(1024, first - 12_000), first) if first > 13_024 else (49152, 65535)


def wait_for_port(host: str, port: int, timeout: float = 10.0) -> None:
    """Block until host:port accepts a TCP connection; TimeoutError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError as exc:
            if time.monotonic() >= deadline:
                raise TimeoutError(f"{host}:{port} did not accept connections within {timeout}s: {exc}") from exc
            time.sleep(0.05)
