"""The local default's other half: a reply written as the lead, sent as a real email into the inbound listener."""

from __future__ import annotations

import email
import email.policy
import email.utils
from email.headerregistry import Address
from email.message import EmailMessage

import aiosmtplib

from inbox import emails
from inbox.config import InboxSettings
from inbox.models import CapturedMail
from leadflood_platform.errors import FailedPrecondition, InvalidArgument

# What an out-of-office says when nothing was written for it: a mail client's automatic reply always has words, and
# one without them would read in the inbox as an empty message.
OUT_OF_OFFICE_TEXT = (
    "Thank you for your email. I am out of the office with limited access to email, and will reply when I am back."
)


def build(mail: CapturedMail, text: str, *, out_of_office: bool) -> EmailMessage:
    """The reply a mail client would write to `mail`: from its recipient, threaded under it; an out-of-office with
    nothing written says what a typical one says."""
    if out_of_office and not text.strip():
        text = OUT_OF_OFFICE_TEXT
    original = email.message_from_bytes(mail.raw, policy=email.policy.default)
    sender = mail.rcpt_to[0] if mail.rcpt_to else ""
    reply = EmailMessage(policy=email.policy.SMTP)
    reply["From"] = Address(addr_spec=sender)
    reply["To"] = str(original.get("From", mail.mail_from))
    subject = str(original.get("Subject", ""))
    reply["Subject"] = ("Out of Office: " if out_of_office else "Re: ") + subject
    reply["Date"] = email.utils.formatdate()
    reply["Message-ID"] = emails.new_message_id(sender)
    if mail.rfc822_message_id:
        reply["In-Reply-To"] = mail.rfc822_message_id
        references = str(original.get("References", "")).split()
        reply["References"] = " ".join([*references, mail.rfc822_message_id])
    if out_of_office:
        reply["Auto-Submitted"] = "auto-replied"  # RFC 3834
    quoted = "\n".join(f"> {line}" for line in (original.get_body(("plain",)) or original).get_content().splitlines())
    reply.set_content(f"{text}\n\nOn {original.get('Date', 'an earlier day')}, {mail.mail_from} wrote:\n{quoted}\n")
    return reply


async def send(mail: CapturedMail, text: str, *, out_of_office: bool, settings: InboxSettings) -> str:
    if not settings.smtp_capture_port or not settings.smtp_inbound_port:
        raise FailedPrecondition("replying as a lead works in the local default only (captured mail and inbound SMTP)")
    if not text.strip() and not out_of_office:
        raise InvalidArgument.on("text", "write the reply's text")
    reply = build(mail, text, out_of_office=out_of_office)
    await aiosmtplib.send(reply, hostname="127.0.0.1", port=settings.smtp_inbound_port, timeout=settings.smtp_timeout_s)
    return str(reply["Message-ID"])
