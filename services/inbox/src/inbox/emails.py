"""An outbound message as the email it becomes: threading headers, RFC 8058 one-click unsubscribe, no injection.

Names and subjects go through the `email` package's header registry (policy.SMTP), which encodes
non-ASCII and refuses line breaks, so a name like "Ada\\r\\nBcc: x" can never add a header; the
inbox also refuses such values when a send is asked for.
"""

from __future__ import annotations

import email.policy
import email.utils
import uuid
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage

# References grow with a thread; past this many, the oldest after the first are dropped (RFC 5322 3.6.4
# keeps the first, and mail clients thread on the last few).
MAX_REFERENCES = 20


@dataclass(frozen=True)
class Outbound:
    from_address: str
    from_name: str
    to_address: str
    to_name: str
    subject: str
    text_body: str
    html_body: str
    message_id: str
    in_reply_to: str | None
    references: list[str]
    unsubscribe_url: str
    unsubscribe_mailto: str


def new_message_id(from_address: str) -> str:
    """A globally unique Message-ID at the sender's domain, with its angle brackets."""
    domain = from_address.rpartition("@")[2] or "leadflood.local"
    return f"<{uuid.uuid4().hex}@{domain}>"


def has_line_break(value: str) -> bool:
    return any(ch in value for ch in "\r\n\x00")


def threaded_references(parent_references: list[str], parent_message_id: str | None) -> list[str]:
    """References for a reply to `parent`: its references, then its own Message-ID (RFC 5322 3.6.4)."""
    chain = [*parent_references, *([parent_message_id] if parent_message_id else [])]
    if len(chain) > MAX_REFERENCES:
        chain = [chain[0], *chain[-(MAX_REFERENCES - 1) :]]
    return chain


def build(out: Outbound) -> EmailMessage:
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = Address(display_name=out.from_name, addr_spec=out.from_address)
    message["To"] = Address(display_name=out.to_name, addr_spec=out.to_address)
    message["Subject"] = out.subject
    message["Date"] = email.utils.formatdate(localtime=False)
    message["Message-ID"] = out.message_id
    if out.in_reply_to:
        message["In-Reply-To"] = out.in_reply_to
    if out.references:
        message["References"] = " ".join(out.references)
    # RFC 2369 and RFC 8058: an https link a mail client may POST to (one click), and a mailto.
    message["List-Unsubscribe"] = f"<{out.unsubscribe_url}>, <{out.unsubscribe_mailto}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(out.text_body)
    if out.html_body:
        message.add_alternative(out.html_body, subtype="html")
    return message
