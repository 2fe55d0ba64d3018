"""What a recipient's copy of an email carries: outreach its one-click unsubscribe (RFC 8058), system mail (an
invitation to a colleague) none, whose link would put the colleague on the org's suppression list; and an
out-of-office answered from the captured mail with nothing written says what a typical one says, so the inbox
never shows it as an empty message."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import uuid
from typing import Any

from inbox import classify, delivery, recipient_reply, reply_text
from inbox.config import InboxSettings
from inbox.models import CapturedMail
from inbox.workers import SendEmail
from leadflood.inbox.v1 import jobs_pb2
from leadflood_platform.db import Database

NOW = dt.datetime.now(dt.UTC)


class Recording:
    """The mailbox's SMTP server taking every message, keeping each as sent."""

    def __init__(self) -> None:
        self.sent: list[email.message.EmailMessage] = []

    async def send(self, server: Any, message: Any, *, sender: str, recipient: str, timeout_s: float) -> str:
        raw = message if isinstance(message, bytes) else message.as_bytes()
        self.sent.append(email.message_from_bytes(raw, policy=email.policy.default))  # type: ignore[arg-type]
        return "250 2.0.0 Ok: queued"


async def sent_as(db: Database, settings: InboxSettings, origin: str) -> email.message.EmailMessage:
    """The email a message of this origin becomes, sent through the send job's own steps."""
    org = uuid.uuid4()
    request = delivery.SendRequest(
        idempotency_key=f"{origin}:{uuid.uuid4()}", channel="email", mailbox_id=None,
        lead_id=None if origin == "invitation" else uuid.uuid4(), to_address="mia@example.com", to_name="",
        subject="An email", text_body="Hello", html_body="", thread_id=None, continue_lead_thread=False,
        not_after=None, dry_run=False, origin=origin,
    )  # fmt: skip
    async with db.transaction() as session:
        outcome = await delivery.send(session=session, org_id=org, request=request, settings=settings, now=NOW)
    assert outcome.message is not None
    kind, server = SendEmail(db=db, settings=settings), Recording()
    kind.connections = server  # type: ignore[assignment]
    job = jobs_pb2.SendEmailJob(org_id=str(org), message_id=str(outcome.message.id))
    async with db.transaction() as session:
        await kind.on_start(session, job)
    reply = await kind.perform(job, 1)
    async with db.transaction() as session:
        await kind.apply(session, job, reply)
    [message] = server.sent
    return message


async def test_outreach_carries_one_click_unsubscribe_and_an_invitation_none(
    inbox_db: Database, settings: InboxSettings
) -> None:
    outreach = await sent_as(inbox_db, settings, "sequences")
    assert str(outreach["List-Unsubscribe"]).startswith("<https://app.example/v1/unsubscribe/")
    assert outreach["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    invitation = await sent_as(inbox_db, settings, "invitation")
    assert invitation["Message-ID"] and invitation["Subject"] == "An email"
    assert invitation["List-Unsubscribe"] is None and invitation["List-Unsubscribe-Post"] is None


def _captured() -> CapturedMail:
    return CapturedMail(
        mail_from="outreach@leadflood.local", rcpt_to=["ada@example.com"], rfc822_message_id="<m1@leadflood.local>",
        subject="Tuesday?",
        raw=b"From: outreach@leadflood.local\r\nTo: ada@example.com\r\nSubject: Tuesday?\r\n"
        b"Message-ID: <m1@leadflood.local>\r\nDate: Mon, 7 Dec 2026 10:00:00 +0000\r\n\r\nShall we talk?\r\n",
    )  # fmt: skip


def _as_filed(reply: email.message.EmailMessage) -> tuple[classify.Classification, str]:
    """What the inbox makes of it: its classification and its visible text (the quoted original left out)."""
    parsed = classify.parse(bytes(reply))
    return classify.classify_message(parsed), reply_text.message_visible_text(parsed)


def test_an_out_of_office_with_nothing_written_says_what_a_typical_one_says() -> None:
    found, text = _as_filed(recipient_reply.build(_captured(), "  ", out_of_office=True))
    assert found.kind == "auto_reply" and found.in_reply_to == "<m1@leadflood.local>"
    assert text == recipient_reply.OUT_OF_OFFICE_TEXT
    found, text = _as_filed(recipient_reply.build(_captured(), "Away until Monday.", out_of_office=True))
    assert (found.kind, text) == ("auto_reply", "Away until Monday.")
