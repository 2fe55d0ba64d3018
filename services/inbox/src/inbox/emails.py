"""An outbound message as the email it becomes: threading headers, RFC 8058 one-click unsubscribe (outreach only:
system mail, an invitation to a colleague, carries none), no injection.

`render` writes the bytes itself (the send path's cost: the `email` package's header registry took a
tenth of the worker's CPU per email), with the package's own encoders for what needs encoding (RFC 2047
names and subjects, quoted-printable bodies); `build` is the package's EmailMessage (policy.SMTP), kept for
addresses that are not ASCII (SMTPUTF8) and as the reference `render` is tested against. Both refuse a line
break in any header value, so a name like "Ada\\r\\nBcc: x" can never add a header; the inbox also refuses
such values when a send is asked for.
"""

from __future__ import annotations

import email.policy
import email.utils
import uuid
from dataclasses import dataclass
from email import quoprimime
from email.header import Header
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
    # RFC 2369/8058's List-Unsubscribe; "" for none (system mail: RFC 8058 is for bulk and marketing mail, and its
    # link would put a colleague on the org's suppression list).
    unsubscribe_url: str = ""
    unsubscribe_mailto: str = ""


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
    if out.unsubscribe_url:  # RFC 2369 and RFC 8058: an https link a mail client may POST to (one click), and a mailto
        message["List-Unsubscribe"] = f"<{out.unsubscribe_url}>, <{out.unsubscribe_mailto}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(out.text_body)
    if out.html_body:
        message.add_alternative(out.html_body, subtype="html")
    return message


# RFC 5322 2.1.1: a line should be at most 78 characters; a longer header is folded, a longer body line encoded.
LINE = 78
CRLF = "\r\n"


def render(out: Outbound) -> bytes | EmailMessage:
    """The email as the bytes sent over SMTP; for a non-ASCII address, the package's EmailMessage (its flattening
    speaks SMTPUTF8). ValueError for a line break in any header value."""
    values = (out.from_name, out.from_address, out.to_name, out.to_address, out.subject, out.message_id,
              out.in_reply_to or "", *out.references, out.unsubscribe_url, out.unsubscribe_mailto)  # fmt: skip
    if any(has_line_break(v) for v in values):
        raise ValueError("a header value must not contain a line break")
    if not (out.from_address.isascii() and out.to_address.isascii()):
        return build(out)
    head = [
        f"From: {_mailbox(out.from_name, out.from_address)}",
        f"To: {_mailbox(out.to_name, out.to_address)}",
        f"Subject: {_unstructured(out.subject, 'Subject')}",
        f"Date: {email.utils.formatdate(localtime=False)}",
        f"Message-ID: {out.message_id}",
    ]
    if out.in_reply_to:
        head.append(f"In-Reply-To: {out.in_reply_to}")
    if out.references:
        head.append("References: " + (CRLF + " ").join(out.references))  # folded between ids: never too long
    if out.unsubscribe_url:
        head += [
            f"List-Unsubscribe: <{out.unsubscribe_url}>,{CRLF} <{out.unsubscribe_mailto}>",
            "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
        ]
    head.append("MIME-Version: 1.0")
    if not out.html_body:
        return CRLF.join([*head, *_part(out.text_body, "plain"), ""]).encode("ascii")
    boundary = f"=_{uuid.uuid4().hex}"
    lines = [*head, f'Content-Type: multipart/alternative; boundary="{boundary}"', ""]
    for body, subtype in ((out.text_body, "plain"), (out.html_body, "html")):
        lines += [f"--{boundary}", *_part(body, subtype), ""]  # the line break before a boundary is the boundary's
    lines += [f"--{boundary}--", ""]
    return CRLF.join(lines).encode("ascii")


def _mailbox(name: str, address: str) -> str:
    # formataddr quotes what needs quoting and encodes a non-ASCII name (RFC 2047), as the header registry does.
    return email.utils.formataddr((name, address), charset="utf-8") if name else address


def _unstructured(value: str, name: str) -> str:
    if value.isascii() and len(value) + len(name) + 2 <= LINE:
        return value
    return Header(value, charset="us-ascii" if value.isascii() else "utf-8", header_name=name).encode(linesep=CRLF)


def _part(text: str, subtype: str) -> list[str]:
    """A text part's headers, a blank line and its body: 7bit when it is short-lined ASCII, else quoted-printable
    (what the package's set_content picks for such text too)."""
    lines = text.splitlines()
    if text.isascii() and all(len(line) <= LINE for line in lines):
        return [f'Content-Type: text/{subtype}; charset="utf-8"', "Content-Transfer-Encoding: 7bit", "", *lines]
    raw = "\n".join(lines).encode("utf-8").decode("latin-1")  # body_encode takes bytes as latin-1 text
    encoded = quoprimime.body_encode(raw, 76).split("\n")
    return [f'Content-Type: text/{subtype}; charset="utf-8"', "Content-Transfer-Encoding: quoted-printable", "",
            *encoded]  # fmt: skip
