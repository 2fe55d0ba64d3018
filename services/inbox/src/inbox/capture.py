"""The local default's SMTP server: it accepts every message the mailboxes send and keeps it, so a user reads
exactly what a lead would have received (a real SMTP server, aiosmtpd, not a stand-in for one)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import compat32

from aiosmtpd.smtp import SMTP, Envelope, Session

from inbox import smtp_listener
from leadflood_platform.db import Database

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


class GroupCommit:
    """Keeps messages in batches, a statement and a commit each: what arrives while one batch commits goes in
    the next (so a lone message waits for nobody, and under load each commit, with its WAL flush, is shared).
    Each caller is answered only once its own row is committed."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._waiting: list[tuple[Row, asyncio.Future[None]]] = []
        self._writing = False

    async def keep(self, row: Row) -> None:
        done = asyncio.get_running_loop().create_future()
        self._waiting.append((row, done))
        if not self._writing:
            self._writing = True
            asyncio.create_task(self._write_all())
        await done

    async def _write_all(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting[:BATCH], self._waiting[BATCH:]
                try:
                    columns = [list(column) for column in zip(*(row for row, _ in batch), strict=True)]
                    async with self.db.driver(transaction=False) as db:  # one statement: it commits alone
                        await db.execute(INSERT, *columns)
                except Exception as exc:  # every sender of the batch is told (handle_DATA answers 451)
                    for _, done in batch:
                        if not done.done():
                            done.set_exception(exc)
                    continue
                for _, done in batch:
                    if not done.done():
                        done.set_result(None)
        finally:
            self._writing = False


class CaptureHandler:
    def __init__(self, db: Database) -> None:
        self.kept = GroupCommit(db)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802 (aiosmtpd's name)
        raw = envelope.original_content or b""
        # compat32: the head's two values as written, without the header registry's objects (a third of this
        # handler's CPU); an encoded subject is decoded below.
        head = BytesHeaderParser(policy=compat32).parsebytes(raw[:HEAD_BYTES])
        message_id, subject = _header(head, "Message-ID").strip(), _header(head, "Subject")
        try:
            await self.kept.keep((envelope.mail_from or "", "\n".join(envelope.rcpt_tos), message_id, subject, raw))
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
