"""Taking inbound email in, by SMTP (aiosmtpd) or by webhook: kept raw and queued for filing, in one transaction."""

from __future__ import annotations

import asyncio
import email.policy
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from email.parser import BytesHeaderParser

from aiosmtpd.smtp import SMTP, Envelope, Session

from inbox import inbound, smtp_listener
from inbox.config import InboxSettings
from inbox.models import platform_tables
from inbox.workers import ReceiveEmail
from leadflood.inbox.v1 import jobs_pb2
from leadflood_platform import jobs
from leadflood_platform.db import Database

log = logging.getLogger(__name__)
# Inbound jobs belong to no org until filed: the platform's record of them carries this one.
NO_ORG = uuid.UUID(int=0)
MAX_MESSAGE_BYTES = 25_000_000
HEAD_BYTES = 256 * 1024


async def accept(
    db: Database, settings: InboxSettings, raw: bytes, *, source: str, envelope_to: Sequence[str] = ()
) -> uuid.UUID | None:
    """Keep the message (with the envelope's recipients, by SMTP) and queue its filing; None for a message received
    before (filed once)."""
    message_id = _message_id(raw)
    async with db.transaction() as session:
        raw_id = await inbound.keep_raw(session, raw, message_id=message_id, source=source, envelope_to=envelope_to)
        if raw_id is not None:
            job = jobs_pb2.ReceiveEmailJob(raw_id=str(raw_id))
            await jobs.enqueue(
                session, platform_tables, ReceiveEmail, job, org_id=NO_ORG, max_attempts=settings.job_max_attempts
            )
    log.debug("inbound email kept", extra={"source": source, "raw_id": str(raw_id), "redelivered": raw_id is None})
    return raw_id


def _message_id(raw: bytes) -> str | None:
    """The Message-ID from the message's head alone (whatever its body), to know a redelivery by."""
    head = BytesHeaderParser(policy=email.policy.default).parsebytes(raw[:HEAD_BYTES])
    try:
        value = str(head.get("Message-ID", "")).strip()
    except (ValueError, TypeError):  # a header the parser cannot make sense of
        return None
    return value[:998] or None


class InboundHandler:
    def __init__(self, db: Database, settings: InboxSettings) -> None:
        self.db, self.settings = db, settings

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802 (aiosmtpd's name)
        raw = envelope.original_content or b""
        await accept(self.db, self.settings, raw, source="smtp", envelope_to=envelope.rcpt_tos)
        # Accepted once kept: from here on the inbox, not the sender, is responsible for it.
        return "250 2.0.0 Ok: received"


def smtp_loop(
    db: Database, settings: InboxSettings, host: str, port: int
) -> Callable[[asyncio.Event], Awaitable[None]]:
    """A loop for the inbox server process: the inbound SMTP listener on host:port until stopped."""
    return smtp_listener.listening(
        InboundHandler(db, settings), host=host, port=port, hostname="leadflood-inbound", size_limit=MAX_MESSAGE_BYTES
    )
