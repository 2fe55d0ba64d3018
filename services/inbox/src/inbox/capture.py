"""The local default's SMTP server: it accepts every message the mailboxes send and keeps it, so a user reads
exactly what a lead would have received (a real SMTP server, aiosmtpd, not a stand-in for one)."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import compat32

from aiosmtpd.smtp import SMTP, Envelope, Session

from inbox import smtp_listener
from leadflood_platform.db import Database
from leadflood_platform.group_commit import GroupCommit, Submitted

log = logging.getLogger(__name__)
# A message larger than this is refused (552), as a real server's size limit would.
MAX_MESSAGE_BYTES = 10_000_000
# Message-ID and Subject are in the head: the body is kept as it came, never parsed.
HEAD_BYTES = 256 * 1024
# Rows kept by one statement at most: a batch's commit waits for all its rows, so it stays small.
BATCH = 200
INSERT = """
INSERT INTO captured_mail (mail_from, rcpt_to, rfc822_message_id, subject, raw)
SELECT f, string_to_array(r, E'\\n'), NULLIF(m, ''), s, b
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bytea[]) AS t(f, r, m, s, b)
"""

Row = tuple[str, str, str, str, bytes]


async def _keep_all(db: Database, rows: list[Submitted[Row]]) -> list[None]:
    """One batch of captured messages in one statement, which commits alone."""
    columns = [list(column) for column in zip(*(row.item for row in rows), strict=True)]
    async with db.driver(transaction=False) as connection:
        await connection.execute(INSERT, *columns)
    return [None] * len(rows)


class CaptureHandler:
    def __init__(self, db: Database) -> None:
        # Under load each commit, with its WAL flush, is shared; each sender is answered once its row is kept.
        self.kept: GroupCommit[Row, None] = GroupCommit(functools.partial(_keep_all, db), max_batch=BATCH)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802 (aiosmtpd's name)
        raw = envelope.original_content or b""
        # compat32: the head's two values as written, without the header registry's objects (a third of this
        # handler's CPU); an encoded subject is decoded below.
        head = BytesHeaderParser(policy=compat32).parsebytes(raw[:HEAD_BYTES])
        message_id, subject = _header(head, "Message-ID").strip(), _header(head, "Subject")
        try:
            await self.kept.submit((envelope.mail_from or "", "\n".join(envelope.rcpt_tos), message_id, subject, raw))
        except Exception:
            # Not kept (the database away): a temporary refusal, so the sender tries again rather than taking
            # aiosmtpd's answer to an exception, a 500, for a bounce.
            log.exception("captured mail not stored")
            return "451 4.3.0 the message could not be kept: try again later"
        # Accepted only once it is stored: the sender's "sent" then means this message is kept.
        return "250 2.0.0 Ok: captured"


def _header(head: Message, name: str) -> str:
    value = head.get(name)
    if value is None:
        return ""
    try:
        return str(make_header(decode_header(str(value)))) if "=?" in str(value) else " ".join(str(value).split())
    except (ValueError, TypeError, LookupError):  # a header the parser cannot make sense of
        return str(value)


def server_loop(db: Database, host: str, port: int) -> Callable[[asyncio.Event], Awaitable[None]]:
    """A loop for the inbox server process: captures on host:port until stopped."""
    return smtp_listener.listening(
        CaptureHandler(db), host=host, port=port, hostname="leadflood-capture", size_limit=MAX_MESSAGE_BYTES
    )
