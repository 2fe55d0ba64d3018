"""Handing an email to a mailbox's SMTP server (aiosmtplib), and what its answer means for the message.

"Sent" means the server accepted it (250 after DATA). A 5xx (RFC 3463 5.x.x) is permanent: the
message bounced. A 4xx, a refused connection or a timeout is transient: tried again with backoff.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from dataclasses import dataclass, field
from email.message import EmailMessage

import aiosmtplib

from leadflood_platform.jobs import RetryableJobError


class Bounced(Exception):
    """The server refused the message for good (a 5xx); its code and words are the message."""

    PREFIX = "bounced: "

    def __init__(self, code: int, detail: str) -> None:
        super().__init__(f"{self.PREFIX}{code} {detail}")
        self.code, self.detail = code, detail

    @classmethod
    def status_code(cls, error: str) -> str:
        """The RFC 3463 enhanced status code in a bounce's words ("5.1.1"), else its SMTP code ("550")."""
        words = error.removeprefix(cls.PREFIX).split()
        enhanced = next((w for w in words[1:3] if re.fullmatch(r"[245]\.\d{1,3}\.\d{1,3}", w)), None)
        return enhanced or (words[0] if words else "")


class Deferred(RetryableJobError):
    """The server said try later (a 4xx), or could not be reached: tried again after a backoff."""


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    starttls: bool
    username: str
    # The name of the setting holding the password, read when sending (never stored).
    password_ref: str


@dataclass
class Connections:
    """Open connections to each server, reused message after message (one message at a time on each): a new
    connection's TCP handshake, EHLO, (STARTTLS, AUTH) and QUIT cost both ends more than the message itself.

    Each message is its own MAIL/RCPT/DATA transaction, so what "sent" means is unchanged. A connection that
    failed in any way is closed, never reused, and the message deferred as before; one idle longer than
    `max_idle_s` (a server may close it meanwhile) is closed rather than used. At most `per_server` conversations
    with one server at once (a provider may refuse more connections from one client): a send beyond them waits
    for one to end, then takes its connection.
    """

    max_idle_s: float = 10.0
    per_server: int = 32
    _idle: dict[Server, list[tuple[float, aiosmtplib.SMTP]]] = field(default_factory=dict)
    _turns: dict[Server, asyncio.Semaphore] = field(default_factory=dict)

    async def send(
        self, server: Server, message: EmailMessage | bytes, *, sender: str, recipient: str, timeout_s: float
    ) -> str:
        """One message (rendered bytes, or an EmailMessage for SMTPUTF8) to `recipient`, on a kept connection
        when one is open."""
        turns = self._turns.get(server)
        if turns is None:
            turns = self._turns[server] = asyncio.Semaphore(self.per_server)
        async with turns:
            return await self._send(server, message, sender=sender, recipient=recipient, timeout_s=timeout_s)

    async def _send(
        self, server: Server, message: EmailMessage | bytes, *, sender: str, recipient: str, timeout_s: float
    ) -> str:
        client = self._take(server)
        try:
            if client is None:
                client = _client(server, timeout_s)
                await client.connect()
            if isinstance(message, bytes):
                _, reply = await client.sendmail(sender, [recipient], message, timeout=timeout_s)
            else:
                _, reply = await client.send_message(message, sender=sender, recipients=[recipient], timeout=timeout_s)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            _close(client)
            refusal = exc.recipients[0]
            return _refused(refusal.code, refusal.message)
        except aiosmtplib.SMTPResponseException as exc:
            _close(client)
            return _refused(exc.code, exc.message)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            _close(client)
            raise Deferred(f"could not hand the message to {server.host}:{server.port}: {exc}") from exc
        except BaseException:  # cancelled mid-conversation: the connection's state is unknown
            _close(client)
            raise
        idle = self._idle.setdefault(server, [])
        if len(idle) < self.per_server:
            idle.append((time.monotonic(), client))
        else:
            _close(client)
        return reply

    def _take(self, server: Server) -> aiosmtplib.SMTP | None:
        idle = self._idle.get(server)
        while idle:
            since, client = idle.pop()
            if client.is_connected and time.monotonic() - since < self.max_idle_s:
                return client
            _close(client)
        return None


def _client(server: Server, timeout_s: float) -> aiosmtplib.SMTP:
    password = os.environ.get(server.password_ref, "") if server.password_ref else ""
    return aiosmtplib.SMTP(
        hostname=server.host,
        port=server.port,
        start_tls=server.starttls,
        use_tls=False,
        username=server.username or None,
        password=password or None,
        timeout=timeout_s,
    )


def _close(client: aiosmtplib.SMTP | None) -> None:
    if client is not None and client.is_connected:
        client.close()


def _refused(code: int, detail: str) -> str:
    if 500 <= code < 600:
        raise Bounced(code, detail)
    raise Deferred(f"{code} {detail}")
