"""A JetStream cluster on one machine: three nats-server processes routed to each other, each with file storage."""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from devstack.nats import ClusterMember, LocalNats
from devstack.ports import free_port

log = logging.getLogger(__name__)


class LocalNatsCluster:
    """`size` LocalNats servers named n1..nN in one cluster, each storing JetStream data under `state_dir`/<name>.

    Streams created on it with num_replicas=3 keep a copy on each server, so one server lost (killed, its disk
    gone) loses no acknowledged message, and the two left keep a quorum: they go on accepting and delivering.
    """

    def __init__(self, state_dir: Path, size: int = 3, *, name: str = "leadflood") -> None:
        self.state_dir = Path(state_dir).absolute()
        route_ports = [free_port() for _ in range(size)]
        self.nodes: list[LocalNats] = []
        for index, route_port in enumerate(route_ports):
            member = ClusterMember(
                server_name=f"n{index + 1}",
                route_port=route_port,
                peer_route_ports=tuple(port for port in route_ports if port != route_port),
                cluster_name=name,
            )
            self.nodes.append(LocalNats(self.state_dir / member.server_name, free_port(), free_port(), cluster=member))

    @property
    def urls(self) -> list[str]:
        return [node.url for node in self.nodes]

    def node(self, server_name: str) -> LocalNats:
        """The member of that server name (as JetStream names a stream's leader and replicas)."""
        return next(node for node in self.nodes if node.cluster and node.cluster.server_name == server_name)

    def running(self) -> list[LocalNats]:
        return [node for node in self.nodes if node.is_running()]

    def start(self, timeout: float = 60.0) -> None:
        """Launch every member at once, then wait until each one knows the cluster's meta leader."""
        try:
            for node in self.nodes:
                node.launch(self.log_path(node))
            deadline = time.monotonic() + timeout
            for node in self.nodes:
                node.wait_healthy(max(1.0, deadline - time.monotonic()), js_enabled_only=False)
        except Exception:
            self.stop()
            raise
        log.info("nats cluster started", extra={"urls": self.urls})

    def restart(self, node: LocalNats, timeout: float = 60.0) -> None:
        """Start a stopped or killed member again on its own store: it rejoins and catches up from its peers."""
        node.launch(self.log_path(node))
        node.wait_healthy(timeout, js_enabled_only=False)

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def log_path(self, node: LocalNats) -> Path:
        assert node.cluster is not None
        return self.state_dir / "logs" / f"{node.cluster.server_name}.log"

    @staticmethod
    def jsz(node: LocalNats) -> dict[str, Any]:
        """What one member's monitor says of JetStream: its meta leader and peers, its streams' leaders and replicas."""
        query = "?streams=true&consumers=true&config=true&raft=true"
        with urllib.request.urlopen(f"{node.monitor_url}/jsz{query}", timeout=2) as reply:
            return json.loads(reply.read())

    def meta_leader(self) -> str | None:
        """The server the cluster's meta group follows now, as any running member sees it; None during an election."""
        for node in self.running():
            try:
                leader = (self.jsz(node).get("meta_cluster") or {}).get("leader")
            except (urllib.error.URLError, OSError, ValueError):
                continue
            if leader:
                return str(leader)
        return None
