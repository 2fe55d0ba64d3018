"""The gateway's settings."""

from __future__ import annotations

from pathlib import Path

from leadflood_platform.settings import ServiceSettings, require_secret

WEB_DIR = Path(__file__).resolve().parents[2] / "web"
DEMO_EMAIL, DEMO_PASSWORD = "demo@leadflood.local", "demo"


class GatewaySettings(ServiceSettings):
    http_port: int = 8080
    auth_jwt_secret: str | None = None
    access_token_ttl_s: int = 15 * 60
    refresh_token_ttl_s: int = 30 * 24 * 3600
    max_body_bytes: int = 1_000_000
    # A CSV import's body: its 100,000 rows at up to ~300 bytes each.
    max_upload_bytes: int = 32_000_000
    web_dir: Path = WEB_DIR
    # Where users and providers reach the gateway: a webhook's signature covers this URL.
    public_base_url: str = "http://localhost:8080"
    # Authenticates POST /v1/inbound/email (a mail provider's webhook): unset, that route is a 503 naming it.
    inbound_email_secret: str | None = None
    # Seeds demo@leadflood.local / demo; refused outside the local default.
    demo_login: bool = False
    # Requests a minute per signed-in user (IETF RateLimit headers; 429 past it). Kept in each worker process.
    rate_limit_rpm: int = 120
    # Failed sign-ins allowed per account and per client address within the window; past that, the key is
    # refused (429, Retry-After) for the backoff, doubling with each further failure up to the window.
    sign_in_max_failures_per_account: int = 5
    sign_in_max_failures_per_address: int = 50
    sign_in_window_s: int = 15 * 60
    sign_in_backoff_s: float = 30.0
    # Password hashes checked at once, each in a process of its own (gateway/hashing.py); more wait their turn.
    password_hash_concurrency: int = 2
    # How long a POST's Idempotency-Key and its stored answer are kept.
    idempotency_ttl_s: int = 24 * 3600
    # A refresh token presented again this soon after its rotation gets the same new pair (two tabs at once).
    refresh_grace_s: float = 10.0
    # How long an access token's session (revoked or not) and its user's membership are trusted between checks.
    session_check_cache_s: float = 2.0
    # The HTTP server's limits: a request's line and headers in bytes, seconds to send them, idle keep-alive.
    max_header_bytes: int = 16 * 1024
    header_timeout_s: float = 10.0
    keep_alive_timeout_s: int = 5
    # Bind HTTP_PORT with SO_REUSEPORT, so several gateway processes share it (the kernel spreads connections
    # among them; devstack's GATEWAY_PROCESSES). Each keeps its own rate-limit counts.
    http_reuse_port: bool = False

    def jwt_secret(self) -> str:
        return require_secret("auth_jwt_secret", self.auth_jwt_secret)

    def demo_enabled(self) -> bool:
        if self.demo_login and self.leadflood_env == "production":
            raise SystemExit("DEMO_LOGIN is only allowed with LEADFLOOD_ENV=local or test")
        return self.demo_login
