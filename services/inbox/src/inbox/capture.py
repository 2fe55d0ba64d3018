"""The local default's SMTP server: it accepts every message the mailboxes send and keeps it, so a user reads
exactly what a lead would have received (a real SMTP server, aiosmtpd, not a stand-in for one)."""

from __future__ import annotations

import asyncio
import email
import email.policy
import logging
from collections.abc import Awaitable, Callable

from aiosmtpd.smtp import SMTP, Envelope, Session

from inbox import smtp_listener
from inbox.models import CapturedMail
from leadflood_platform.db import Database

log = logging.getLogger(__name__)
# A message larger than this is refused (552), as a real server's size limit would.
MAX_MESSAGE_BYTES = 10_000_000


class CaptureHandler:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802 (aiosmtpd's name)
        raw = envelope.original_content or b""
        headers = email.message_from_bytes(raw, policy=email.policy.default)
        async with self.db.transaction() as db:
            db.add(
                CapturedMail(
                    mail_from=envelope.mail_from or "",
                    rcpt_to=list(envelope.rcpt_tos),
                    rfc822_message_id=str(headers.get("Message-ID", "")).strip() or None,
                    subject=str(headers.get("Subject", "")),
                    raw=raw,
                )
            )
        # Accepted only once it is stored: the sender's "sent" then means this message is kept.
        return "250 2.0.0 Ok: captured"


def server_loop(db: Database, host: str, port: int) -> Callable[[asyncio.Event], Awaitable[None]]:
    """A loop for the inbox server process: captures on host:port until stopped."""
    return smtp_listener.listening(
        CaptureHandler(db), host=host, port=port, hostname="leadflood-capture", size_limit=MAX_MESSAGE_BYTES
    )
