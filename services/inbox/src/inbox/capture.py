"""The local default's SMTP server: it accepts every message the mailboxes send and keeps it, so a user reads
exactly what a lead would have received (a real SMTP server, aiosmtpd, not a stand-in for one)."""

from __future__ import annotations

import asyncio
import email.policy
import logging
from collections.abc import Awaitable, Callable
from email.parser import BytesHeaderParser

from aiosmtpd.smtp import SMTP, Envelope, Session

from inbox import smtp_listener
from leadflood_platform.db import Database

log = logging.getLogger(__name__)
# A message larger than this is refused (552), as a real server's size limit would.
MAX_MESSAGE_BYTES = 10_000_000
# Message-ID and Subject are in the head: the body is kept as it came, never parsed.
HEAD_BYTES = 256 * 1024
INSERT = "INSERT INTO captured_mail (mail_from, rcpt_to, rfc822_message_id, subject, raw) VALUES ($1, $2, $3, $4, $5)"


class CaptureHandler:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802 (aiosmtpd's name)
        raw = envelope.original_content or b""
        head = BytesHeaderParser(policy=email.policy.default).parsebytes(raw[:HEAD_BYTES])
        message_id, subject = _header(head, "Message-ID").strip() or None, _header(head, "Subject")
        # One statement, committed on its own (the driver: no ORM on the path every sent email takes).
        async with self.db.driver(transaction=False) as db:
            await db.execute(INSERT, envelope.mail_from or "", list(envelope.rcpt_tos), message_id, subject, raw)
        # Accepted only once it is stored: the sender's "sent" then means this message is kept.
        return "250 2.0.0 Ok: captured"


def _header(head: email.message.Message, name: str) -> str:
    try:
        return str(head.get(name, ""))
    except (ValueError, TypeError):  # a header the parser cannot make sense of
        return ""


def server_loop(db: Database, host: str, port: int) -> Callable[[asyncio.Event], Awaitable[None]]:
    """A loop for the inbox server process: captures on host:port until stopped."""
    return smtp_listener.listening(
        CaptureHandler(db), host=host, port=port, hostname="leadflood-capture", size_limit=MAX_MESSAGE_BYTES
    )
