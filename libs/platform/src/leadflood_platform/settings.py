"""Settings every service reads from its environment, and the refusal of missing or placeholder secrets."""

from __future__ import annotations

from typing import Annotated, Literal, TypeVar

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from leadflood_platform import registry
from leadflood_platform.db import asyncpg_url

S = TypeVar("S", bound=BaseSettings)
PLACEHOLDERS = {"", "changeme", "change-me", "secret", "todo", "xxx"}


class ServiceSettings(BaseSettings):
    """The base of each service's settings; a service subclasses it to add its own."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    leadflood_env: Literal["local", "test", "production"] = "production"
    database_url: str = Field(description="This service's own PostgreSQL role, postgresql:// URL")
    nats_url: str = "nats://127.0.0.1:4222"
    grpc_port: int = 50051
    log_level: str = "INFO"
    otel_exporter_otlp_endpoint: str | None = None
    grpc_call_timeout_s: float = 5.0
    # Where this process serves Prometheus' /metrics (0: not served). Each process needs its own: the local
    # stack gives each one; a Kubernetes pod uses 9464 (deploy/k8s/base/config.properties).
    metrics_port: int = 0
    # Job retry schedule in milliseconds, one entry per retry (so attempts = len + 1).
    job_retry_backoff_ms: Annotated[list[int], NoDecode] = [5_000, 15_000, 45_000]
    # How long JetStream waits for an ack before redelivering to another worker.
    job_ack_wait_ms: int = 30_000
    # Deliveries of each job kind a worker keeps in flight; a service whose jobs mostly wait (on SMTP, on
    # a provider) sets a higher default of its own.
    job_concurrency: int = 4
    # Connections this process keeps to PostgreSQL, and as many again in a burst (docs/capacity.md: a hundred
    # processes at the default 10 + 10 would pass max_connections; most workers do with 2-5).
    db_pool_size: int = Field(default=10, ge=1, le=100)
    # Signs and checks the identity every internal gRPC call carries (leadflood_platform.identity); the same
    # value in every process. While rotating, the old value goes in the _PREVIOUS one, still accepted.
    internal_token_key: str | None = None
    internal_token_key_previous: str | None = None
    # How long a token this process mints for its own calls lives.
    internal_token_ttl_s: float = 300.0

    @field_validator("job_retry_backoff_ms", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [int(part) for part in value.split(",") if part.strip()]
        return value

    @field_validator("database_url")
    @classmethod
    def _asyncpg_dialect(cls, value: str) -> str:
        return asyncpg_url(value)

    def internal_token_keys(self) -> list[str]:
        """The key tokens are signed with, then the previous one: a missing key stops start-up."""
        # 32 bytes at least: an HMAC-SHA256 key shorter than its hash is weaker than it (RFC 7518, 3.2).
        key = require_secret("internal_token_key", self.internal_token_key, min_length=32)
        return [key, *([self.internal_token_key_previous] if self.internal_token_key_previous else [])]

    def grpc_target(self, service: str) -> str:
        """Where another service listens: its <NAME>_GRPC_TARGET, else its registry port here."""
        return registry.entry(service).target()


def load(settings_type: type[S]) -> S:
    """The settings from the environment, or a clear message naming each missing or invalid one."""
    try:
        return settings_type()
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors())
        raise SystemExit(f"cannot start: {problems}") from None


def require_secret(name: str, value: str | None, *, min_length: int = 16) -> str:
    """Stop start-up with a clear message when a required secret is missing or a placeholder."""
    if value is None or value.strip().lower() in PLACEHOLDERS or len(value) < min_length:
        raise SystemExit(
            f"{name.upper()} is required: set it to a random value of {min_length}+ characters "
            "(the local `make run` generates one for you)."
        )
    return value
