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

    def jwt_secret(self) -> str:
        return require_secret("auth_jwt_secret", self.auth_jwt_secret)

    def demo_enabled(self) -> bool:
        if self.demo_login and self.leadflood_env == "production":
            raise SystemExit("DEMO_LOGIN is only allowed with LEADFLOOD_ENV=local or test")
        return self.demo_login
