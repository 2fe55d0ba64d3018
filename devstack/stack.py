"""The whole system on one machine: PostgreSQL, NATS, migrations, the registered services, their workers, the gateway.

Used by `make run` (ports fixed, data kept in .local/) and by the test suite (free ports, a tmp dir).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from devstack.healing import ONE_SHOT_PREFIX
from devstack.nats import LocalNats
from devstack.ports import free_port
from devstack.postgres import LocalPostgres, bootstrap_database, role_dsn, service_role
from devstack.processes import Supervisor
from devstack.secrets import LocalSecrets
from leadflood_platform import registry
from leadflood_platform.registry import ServiceEntry

ROOT = Path(__file__).resolve().parents[1]
DATABASE = "leadflood"


@dataclass
class Ports:
    http: int = 8080
    postgres: int = 55432
    nats: int = 4222
    nats_monitor: int = 8222
    # A registered service not named here listens on its registry port.
    grpc: dict[str, int] = field(default_factory=dict)
    # Its other ports by (service, name), likewise.
    named: dict[tuple[str, str], int] = field(default_factory=dict)
    # Each process's Prometheus /metrics (METRICS_PORT), by process name (`gateway`, `leads`, `leads-worker`);
    # a process not named here gets the next after METRICS_BASE (see Stack.__init__).
    metrics: dict[str, int] = field(default_factory=dict)

    @classmethod
    def free(cls, services: tuple[ServiceEntry, ...] | None = None, gateways: int = 1) -> Ports:
        services = services or registry.services()
        grpc = {service.name: free_port() for service in services}
        named = {(service.name, name): free_port() for service in services for name, _ in service.ports}
        metrics = {process: free_port() for process in processes(services, gateways)}
        return cls(free_port(), free_port(), free_port(), free_port(), grpc, named, metrics)


# `make run`'s metrics ports: the gateway's first, then each process of `processes` in turn.
METRICS_BASE = 9464


def processes(services: tuple[ServiceEntry, ...], gateways: int = 1) -> list[str]:
    """The long-running processes of the stack: the gateway, then each service and its worker in the registry's
    order (so a service added at the end of the registry leaves the others' metrics ports as they were), then
    the gateway's further processes (`gateway-2`, ...) when it runs more than one."""
    names = ["gateway"]
    for service in services:
        names += [service.name, f"{service.name}-worker"] if service.worker else [service.name]
    return names + gateway_names(gateways)[1:]


def gateway_names(gateways: int) -> list[str]:
    """The gateway's processes: `gateway`, then `gateway-2`, `gateway-3`..."""
    return ["gateway", *(f"gateway-{i}" for i in range(2, max(1, gateways) + 1))]


@dataclass
class StackConfig:
    state_dir: Path
    ports: Ports = field(default_factory=Ports)
    env_name: str = "local"
    # Tests trade durability for speed: no fsync on a throwaway cluster.
    durable: bool = True
    echo: bool = True
    # Extra environment for every process, e.g. millisecond retry backoffs in tests.
    env: dict[str, str] = field(default_factory=dict)
    # Servers the user already runs, instead of starting our own (admin URL able to create roles).
    database_url: str | None = None
    nats_url: str | None = None
    # Another service registry than services/registry.toml (a test that adds a service).
    registry: Path | None = None
    # Gateway processes on the one HTTP port (SO_REUSEPORT: the kernel spreads connections among them), each
    # with its own metrics port. Each keeps its own per-user rate-limit counts; sign-in limits are shared.
    gateway_processes: int = 1


class Stack:
    def __init__(self, config: StackConfig) -> None:
        self.config = config
        state = config.state_dir
        state.mkdir(parents=True, exist_ok=True)
        self.secrets = LocalSecrets.load_or_create(state / "secrets.json")
        self.supervisor = Supervisor(log_dir=state / "logs", echo=config.echo)
        self.postgres: LocalPostgres | None = None
        self.nats: LocalNats | None = None
        self.env: dict[str, dict[str, str]] = {}
        self.services = registry.services(config.registry)
        for service in self.services:
            config.ports.grpc.setdefault(service.name, service.port)
            for name, port in service.ports:
                config.ports.named.setdefault((service.name, name), port)
        taken = set(config.ports.metrics.values())
        fixed = (port for port in itertools.count(METRICS_BASE) if port not in taken)
        for process in processes(self.services, config.gateway_processes):
            if process not in config.ports.metrics:
                config.ports.metrics[process] = next(fixed)

    @property
    def url(self) -> str:
        return f"http://localhost:{self.config.ports.http}"

    def metrics_url(self, process: str) -> str:
        """Where a process (`gateway`, `leads`, `leads-worker`) serves its Prometheus metrics."""
        return f"http://localhost:{self.config.ports.metrics[process]}/metrics"

    def _process_env(self, schema: str, process: str) -> dict[str, str]:
        """A process's environment: its schema's, and its own metrics port (a worker shares its service's env)."""
        return self.env[schema] | {"METRICS_PORT": str(self.config.ports.metrics[process])}

    def start(self, timeout_s: float = 90) -> None:
        admin_dsn, nats_url = self._start_backends()
        host, port = self._db_address(admin_dsn)
        schemas = (*(service.name for service in self.services), "gateway")
        passwords = {s: self.secrets.role_password(service_role(s)) for s in schemas}
        asyncio.run(bootstrap_database(admin_dsn, DATABASE, passwords))
        common = self._common_env(nats_url)
        for schema in schemas:
            self.env[schema] = (
                common
                | self.service_env(schema)
                | {
                    "DATABASE_URL": role_dsn(host, port, DATABASE, service_role(schema), passwords[schema]),
                    "GRPC_PORT": str(self.config.ports.grpc.get(schema, 0)),
                }
            )
        self._migrate(schemas)
        for service in self.services:
            self.supervisor.start(
                service.name,
                [sys.executable, "-m", service.name, "serve"],
                self._process_env(service.name, service.name),
                cwd=ROOT,
            )
        for service in self.services:
            if service.worker:
                self.start_worker(service.name)
        gateways = gateway_names(self.config.gateway_processes)
        for name in gateways:
            # More than one: each binds the port with SO_REUSEPORT, and listens once its start-up is done, so
            # no connection reaches a process still starting.
            env = self._process_env("gateway", name) | ({"HTTP_REUSE_PORT": "true"} if len(gateways) > 1 else {})
            self.supervisor.start(name, [sys.executable, "-m", "gateway", "serve"], env, cwd=ROOT)
        self.wait_ready(timeout_s)

    def service_env(self, name: str) -> dict[str, str]:
        """What one service's processes get of their own: its named ports, and its local secret."""
        ports = {
            f"{port.upper()}_PORT": str(number)
            for (owner, port), number in self.config.ports.named.items()
            if owner == name
        }
        return ports | {"SERVICE_SECRET": self.secrets.role_password(f"{name}-service-secret")}

    def port(self, service: str, name: str) -> int:
        """A service's named port (registry `ports`), e.g. port("inbox", "smtp_inbound")."""
        return self.config.ports.named[(service, name)]

    def start_worker(self, service: str) -> None:
        name = f"{service}-worker"
        self.supervisor.start(
            name, [sys.executable, "-m", service, "worker"], self._process_env(service, name), cwd=ROOT
        )

    def stop(self) -> None:
        self.supervisor.stop_all()
        if self.nats:
            self.nats.stop()
        if self.postgres:
            self.postgres.stop()

    def wait_ready(self, timeout_s: float) -> None:
        """Until GET /ready is 200; on time-out, says what is down and shows the failing logs."""
        deadline, last = time.monotonic() + timeout_s, "no answer"
        while time.monotonic() < deadline:
            dead = self.dead_processes()
            if dead:
                raise RuntimeError(f"{dead[0]} exited during start-up:\n{self.supervisor.log_tail(dead[0])}")
            try:
                reply = httpx.get(f"http://127.0.0.1:{self.config.ports.http}/ready", timeout=2)
                if reply.status_code == 200:
                    return
                last = reply.text
            except httpx.HTTPError as exc:
                last = str(exc)
            time.sleep(0.2)
        raise RuntimeError(f"the stack was not ready after {timeout_s}s: {last}")

    def dead_processes(self) -> list[str]:
        """Long-running processes that have exited (finished migrations are not counted)."""
        names = self.supervisor.names()
        return [n for n in names if not n.startswith(ONE_SHOT_PREFIX) and not self.supervisor.alive(n)]

    def _start_backends(self) -> tuple[str, str]:
        cfg, state = self.config, self.config.state_dir
        admin_dsn = cfg.database_url or os.environ.get("DATABASE_URL")
        if not admin_dsn:
            self.postgres = LocalPostgres(
                state / "postgres", cfg.ports.postgres, self.secrets.admin_password, durable=cfg.durable
            )
            self.postgres.ensure_initialized()
            self.postgres.start()
            admin_dsn = self.postgres.admin_dsn()
        nats_url = cfg.nats_url or os.environ.get("NATS_URL")
        if not nats_url:
            self.nats = LocalNats(state / "nats", cfg.ports.nats, cfg.ports.nats_monitor)
            self.nats.start(state / "logs" / "nats-server.log")
            nats_url = self.nats.url
        return admin_dsn, nats_url

    @staticmethod
    def _db_address(dsn: str) -> tuple[str, int]:
        parts = urlsplit(dsn)
        return parts.hostname or "127.0.0.1", parts.port or 5432

    def _common_env(self, nats_url: str) -> dict[str, str]:
        ports = self.config.ports
        env = {key: value for key, value in os.environ.items() if key in ("PATH", "HOME", "LANG", "PYTHONPATH")}
        env |= {
            "LEADFLOOD_ENV": self.config.env_name,
            "NATS_URL": nats_url,
            "HTTP_PORT": str(ports.http),
            # Where users reach the web client: links in what the services send (unsubscribe) point here.
            "PUBLIC_BASE_URL": self.url,
            "AUTH_JWT_SECRET": self.secrets.jwt_secret,
            "INTERNAL_TOKEN_KEY": self.secrets.internal_token_key,
            "DEMO_LOGIN": "true",
            "PYTHONUNBUFFERED": "1",
        }
        env |= {s.target_setting: f"127.0.0.1:{ports.grpc[s.name]}" for s in self.services}
        if self.config.registry:
            env[registry.REGISTRY_ENV] = str(self.config.registry.resolve())
        if otel := os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
            env["OTEL_EXPORTER_OTLP_ENDPOINT"] = otel
        return env | self.config.env

    def _migrate(self, schemas: tuple[str, ...]) -> None:
        """Each schema migrated by its own role, in parallel; any failure stops start-up with its log."""
        for schema in schemas:
            self.supervisor.start(
                f"{ONE_SHOT_PREFIX}{schema}", [sys.executable, "-m", schema, "migrate"], self.env[schema], cwd=ROOT
            )
        for schema in schemas:
            name = f"{ONE_SHOT_PREFIX}{schema}"
            while self.supervisor.alive(name):
                time.sleep(0.05)
            if self.supervisor.returncode(name) != 0:
                raise RuntimeError(f"migrating {schema} failed:\n{self.supervisor.log_tail(name)}")
