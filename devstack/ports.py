"""Free TCP ports for throwaway instances, and waiting for a port to accept connections."""

from __future__ import annotations

import logging
import socket
import time

log = logging.getLogger(__name__)


def free_port() -> int:
    """A port the kernel just handed out on 127.0.0.1; free now, not reserved (bind soon)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
