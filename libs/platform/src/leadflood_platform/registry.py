"""The registry of domain services (`services/registry.toml`): the platform knows no service by name.

Every process reads the same file; `LEADFLOOD_SERVICE_REGISTRY` points at another one (a test that
adds a service does that). Where a service listens is its `<NAME>_GRPC_TARGET` setting, or, when
that is unset, its registry port on this machine (the local stack's default).
"""

from __future__ import annotations

import functools
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

REGISTRY_ENV = "LEADFLOOD_SERVICE_REGISTRY"
DEFAULT_PATH = Path(__file__).resolve().parents[4] / "services" / "registry.toml"
# A service's name is also its package, its schema, its database role's stem and its subjects' prefix.
NAME = re.compile(r"[a-z][a-z0-9_]*")


@dataclass(frozen=True)
class ServiceEntry:
    """One domain service: its name, its local gRPC port, and whether it has a worker process."""

    name: str
    port: int
    worker: bool = False
    # Other ports its processes listen on, by name (`smtp_inbound = 2526`): given to them as
    # <NAME>_PORT (SMTP_INBOUND_PORT), the local stack's default or a free port in tests.
    ports: tuple[tuple[str, int], ...] = ()

    @property
    def target_setting(self) -> str:
        """The environment variable that says where the service listens."""
        return f"{self.name.upper()}_GRPC_TARGET"

    def target(self, environ: Mapping[str, str] = os.environ) -> str:
        return environ.get(self.target_setting) or f"127.0.0.1:{self.port}"


def registry_path() -> Path:
    return Path(os.environ.get(REGISTRY_ENV) or DEFAULT_PATH)


def services(path: Path | None = None) -> tuple[ServiceEntry, ...]:
    """The registered services, in the file's order."""
    return _read(str((path or registry_path()).resolve()))


def entry(name: str, path: Path | None = None) -> ServiceEntry:
    """One registered service; a name the registry does not hold is a LookupError saying so."""
    for service in services(path):
        if service.name == name:
            return service
    raise LookupError(f"no service {name!r} in the service registry {path or registry_path()}")


@functools.cache
def _read(path: str) -> tuple[ServiceEntry, ...]:
    try:
        with open(path, "rb") as file:
            table = tomllib.load(file)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SystemExit(f"cannot read the service registry {path}: {exc}") from None
    entries = []
    for name, fields in table.items():
        if not NAME.fullmatch(name) or not isinstance(fields, dict) or not isinstance(fields.get("port"), int):
            raise SystemExit(f"service registry {path}: {name!r} needs a lower-case name and an integer port")
        unknown = set(fields) - {"port", "worker", "ports"}
        if unknown:
            raise SystemExit(f"service registry {path}: {name!r} has unknown keys {sorted(unknown)}")
        ports = fields.get("ports", {})
        if not isinstance(ports, dict) or not all(NAME.fullmatch(k) and isinstance(v, int) for k, v in ports.items()):
            raise SystemExit(f"service registry {path}: {name!r} ports must be name = integer")
        entries.append(ServiceEntry(name, fields["port"], bool(fields.get("worker", False)), tuple(ports.items())))
    return tuple(entries)
