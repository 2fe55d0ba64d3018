"""The capture server on a real PostgreSQL: messages arriving together are kept in shared commits, each once,
each answered 250 only once kept; an encoded subject is kept decoded."""

from __future__ import annotations

import asyncio
import uuid

import aiosmtplib
import pytest
from aiosmtpd.smtp import SMTP

from devstack.ports import free_port
from inbox import capture, smtp_listener
from leadflood_platform.db import Database


def _email(message_id: str, subject: str) -> bytes:
    return (f"From: a@acme.test\r\nTo: b@example.com\r\nSubject: {subject}\r\nMessage-ID: {message_id}\r\n\r\n"
            "Hello\r\n").encode()  # fmt: skip


async def test_messages_sent_together_are_each_kept_once_before_their_250(inbox_db: Database) -> None:
    port, stop = free_port(), asyncio.Event()
    serving = asyncio.create_task(capture.server_loop(inbox_db, "127.0.0.1", port)(stop))
    try:
        await asyncio.sleep(0)  # the listener binds in the task's first step
        ids = [f"<{uuid.uuid4().hex}@acme.test>" for _ in range(60)]

        async def send(message_id: str, subject: str) -> str:
            for _ in range(50):  # the listener may still be starting
                try:
                    _, reply = await aiosmtplib.send(_email(message_id, subject), sender="a@acme.test",
                                                     recipients=["b@example.com"], hostname="127.0.0.1", port=port,
                                                     timeout=10)  # fmt: skip
                    return reply
                except aiosmtplib.SMTPConnectError:
                    await asyncio.sleep(0.05)
            raise AssertionError("the capture server never listened")

        subjects = ["=?utf-8?q?Gr=C3=BC=C3=9Fe?=" if n == 0 else f"Plain {n}" for n in range(len(ids))]
        replies = await asyncio.gather(*(send(i, s) for i, s in zip(ids, subjects, strict=True)))
        assert all("captured" in reply for reply in replies)
        async with inbox_db.driver(transaction=False) as db:
            rows = await db.fetch(
                "SELECT rfc822_message_id, subject, rcpt_to, count(*) OVER (PARTITION BY rfc822_message_id) AS n"
                " FROM captured_mail WHERE rfc822_message_id = ANY($1::text[])",
                ids,
            )
        assert sorted(r["rfc822_message_id"] for r in rows) == sorted(ids) and {r["n"] for r in rows} == {1}
        by_id = {r["rfc822_message_id"]: r for r in rows}
        assert by_id[ids[0]]["subject"] == "Grüße" and by_id[ids[1]]["subject"] == "Plain 1"
        assert by_id[ids[1]]["rcpt_to"] == ["b@example.com"]
    finally:
        stop.set()
        await serving


@pytest.mark.parametrize(
    "arg",
    [
        "<outreach@leadflood.local>", "<outreach@leadflood.local> SIZE=1234 BODY=8BITMIME", "<a.b+c_d@e-f.g> SMTPUTF8",
        "<a@b> ", "<a@b>  SIZE=1", "<a@b>x", "<a..b@c>", "<.a@b>", "<a@b.>", "<>", "<a@[127.0.0.1]>", '<"x y"@b>',
        "<@route:a@b>", "<Ünï@b>", "<a@b", "a@b", " <a@b>", "<" + "x" * 70 + "@b>",
    ],
)  # fmt: skip
def test_the_listener_reads_a_path_as_aiosmtpd_does(arg: str) -> None:
    """The listeners' quick read of a plain <local@domain> gives what aiosmtpd's own parser gives, and anything
    else is left to that parser."""
    assert smtp_listener.Server(None)._getaddr(arg) == SMTP(None)._getaddr(arg)
