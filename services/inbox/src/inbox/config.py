"""The inbox service's settings: the platform's, and the mail room's (from the environment)."""

from __future__ import annotations

import hashlib
import hmac

from leadflood_platform.providers import Provider
from leadflood_platform.settings import ServiceSettings, require_secret


class InboxSettings(ServiceSettings):
    job_max_attempts: int = 5
    # A send mostly waits on its SMTP server and the database: many in flight keep the worker's CPU busy.
    job_concurrency: int = 16
    # Emails (each lane) in flight at once: an email waits mostly on its claim's and its completion's group commits,
    # and the more in flight, the larger each batch (16 -> 64: the worker's CPU per email about a third less).
    # Conversations with one SMTP server at once stay at most smtp.Connections.per_server.
    email_job_concurrency: int = 64
    # Signs unsubscribe links (and anything else the inbox signs, each under its own purpose).
    # Required outside the local default, which generates one per stack.
    service_secret: str | None = None
    # Where recipients reach the web client: unsubscribe links point at <PUBLIC_BASE_URL>/v1/unsubscribe/<token>.
    public_base_url: str = "http://localhost:8080"
    # The mailto: half of List-Unsubscribe, at this domain (unsubscribe+<token>@<domain>).
    unsubscribe_mail_domain: str = "leadflood.local"
    # The local default: an SMTP server capturing every message the mailboxes send (make run starts
    # it in the inbox server process); an org without a mailbox gets a default one sending to it.
    smtp_capture_port: int | None = None
    smtp_capture_host: str = "127.0.0.1"
    default_mailbox_from: str = "outreach@leadflood.local"
    default_mailbox_name: str = "Lead Flood (local)"
    default_mailbox_daily_cap: int = 10_000
    # The inbound SMTP listener (replies, bounces, complaints); unset: none (the webhook still works).
    smtp_inbound_port: int | None = None
    smtp_inbound_host: str = "0.0.0.0"
    # Texts: the sandbox (accepts and keeps them in memory) or Twilio, which needs the three settings below.
    sms_provider: str = "sandbox"
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    # The number texts come from (E.164), or a Messaging Service SID (MG...).
    twilio_from: str | None = None
    twilio_base_url: str = "https://api.twilio.com"
    sms_timeout_s: float = 10.0
    # Each SMTP conversation with a mailbox's server.
    smtp_timeout_s: float = 15.0

    def providers(self) -> list[Provider]:
        twilio = ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM")
        configured = self.sms_provider == "twilio" and all((self.twilio_account_sid, self.twilio_auth_token,
                                                            self.twilio_from))  # fmt: skip
        return [
            Provider("twilio", "texts (SMS)", ("SMS_PROVIDER=twilio", *twilio), configured,
                     "texts go to the sandbox, which keeps them and sends nothing"),
        ]  # fmt: skip

    def key(self, purpose: str) -> bytes:
        """A key for one purpose, derived from the service secret (so one leak signs nothing else)."""
        secret = require_secret("service_secret", self.service_secret)
        return hmac.new(secret.encode(), purpose.encode(), hashlib.sha256).digest()
