"""What a received email is (a reply, an auto-reply, a bounce, a complaint) and what it points at; never raises.

The inbox stores the raw message first and calls `classify(raw)` on it: every input, broken MIME, a
wrong charset, no headers, no bytes at all, gets a classification rather than an exception.

MIME comes from the standard library (`email`): multipart/report, message/delivery-status (RFC 3464) and
message/feedback-report (RFC 5965) read as header blocks with it. Its compat32 policy, not policy.default:
on the fixture corpus a parse and a walk of the parts ran at 7,531 messages/s with it and 1,731 with
policy.default, which builds an object of every header it is asked for (each part's Content-Type too);
the few headers read here are decoded by hand (RFC 2047 through email.header). What is written here is
only what no library does. Measured on ../shared/fixtures/bounces-flanker (2026-12, the 9 bounces and 2
complaints, expected values per file in tests/test_classify.py):
  flufl.bounce 6.0.0 `all_failures`: 8/9 bounces found (not the postmaster's plain-text "Undeliverable
      Mail"), hard/soft right on 6/9: it splits by the DSN's Action, so "Action: failed" with
      "Status: 4.x.x" (bounce-delayed, bounce-delayed-broken) comes out permanent, where RFC 3463 makes a
      4.x.x transient; recipients only (no status, diagnostic or original Message-ID); 0/2 complaints
      (not its job); and it raises IndexError on a message without a From header (all 22 reply fixtures).
So the split follows the status class (RFC 3463: 5.x.x hard, 4.x.x soft), read from the DSN here, and
flufl.bounce is kept for what it does well and nothing here does: finding the failed recipients in the
non-DSN formats of particular MTAs (Exim, qmail, Yahoo, GroupWise, ...), guarded against its exceptions.
This module: 9/9 bounces with hard/soft, status, recipients and original Message-ID, 2/2 complaints, the
22 replies as replies (`make bench`'s classifier part prints it).
"""

from __future__ import annotations

import email
import email.policy
import email.utils
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.header import decode_header, make_header
from email.message import Message
from email.parser import HeaderParser
from typing import Any, Literal

from flufl.bounce import all_failures

from inbox.reply_text import iter_parts, message_text, part_text

# Bytes of a message that are read: a DSN, a complaint or a reply says what it is in its headers and
# first parts, and parsing time grows with the size, so a 50 MB attachment costs no more than this.
MAX_BYTES = 2 * 1024 * 1024
# Characters of a notification's text that are searched for status codes, addresses and phrases.
MAX_SCAN = 64 * 1024
MAX_REFERENCES = 100
MAX_RECIPIENTS = 50

POLICY = email.policy.compat32

Kind = Literal["reply", "auto_reply", "bounce", "complaint"]
BounceType = Literal["hard", "soft"]
Decision = tuple[Kind, str, dict[str, Any]]  # the kind, the reason, and the fields that kind fills

# flufl.bounce logs each detector it runs at INFO; one bounce would be seventeen lines of the service's log.
logging.getLogger("flufl.bounce").setLevel(logging.CRITICAL)


@dataclass(frozen=True)
class Classification:
    """A received email as the inbox files it. Message-IDs keep their angle brackets (as the inbox stores
    its own); addresses are lower-cased; no text field holds a line break or a control character."""

    kind: Kind
    # The signal that decided, for people and logs: "delivery-status report", "Auto-Submitted: auto-replied"...
    reason: str
    message_id: str | None = None
    in_reply_to: str | None = None  # the first Message-ID in In-Reply-To
    references: tuple[str, ...] = ()
    from_address: str | None = None
    to_addresses: tuple[str, ...] = ()
    cc_addresses: tuple[str, ...] = ()
    # Delivered-To and X-Original-To: where the receiving server delivered it (a webhook's message says it so).
    delivered_to: tuple[str, ...] = ()
    subject: str = ""
    date: datetime | None = None  # timezone-aware; None when missing or unreadable
    auto_submitted: bool = False  # RFC 3834: an Auto-Submitted header with any value but "no"
    # Bounces: hard (5.x.x, or failed with no code) or soft (4.x.x, delayed), per RFC 3463.
    bounce_type: BounceType | None = None
    status: str | None = None  # "5.1.1"; None when the notification carries no code
    failed_recipients: tuple[str, ...] = ()
    # The reporting server is still trying (Action: delayed, "will be retried"): the message may yet arrive.
    retrying: bool = False
    diagnostic: str | None = None  # "550 5.1.1 user unknown", as the reporting server put it
    # Bounces and complaints: the Message-ID of our message they are about, when they carry it.
    original_message_id: str | None = None
    complained_address: str | None = None
    feedback_type: str | None = None  # RFC 5965: "abuse", "fraud", "not-spam", ...

    @property
    def addressed_to(self) -> tuple[str, ...]:
        """Every address the message names as its recipient (To, Cc, Delivered-To), once each."""
        return tuple(dict.fromkeys((*self.to_addresses, *self.cc_addresses, *self.delivered_to)))

    @property
    def counts_as_reply(self) -> bool:
        """Only a person's reply counts as one; bounces, complaints and auto-replies are labelled instead."""
        return self.kind == "reply"


def classify(raw: bytes) -> Classification:
    """Classify one raw RFC 5322 message (at most MAX_BYTES of it are read); never raises."""
    try:
        return classify_message(parse(raw))
    except Exception as exc:  # a defect no rule foresaw: the message still reaches a person, labelled why
        return Classification(kind="reply", reason=f"unclassified: {type(exc).__name__}")


def parse(raw: bytes) -> Message:
    """The message as the `email` package reads it (compat32), from its first MAX_BYTES; never raises. When
    its MIME structure cannot be read (nesting too deep for the parser), its headers alone are."""
    data = bytes(raw[:MAX_BYTES]) if raw else b""
    try:
        return email.message_from_bytes(data, policy=POLICY)
    except Exception:
        pass
    try:
        return HeaderParser(policy=POLICY).parsestr(data.decode("ascii", errors="surrogateescape"), headersonly=True)
    except Exception:
        return Message(policy=POLICY)


def classify_message(msg: Message) -> Classification:
    """Classify a parsed message (see `parse`): a complaint, else a bounce, else an auto-reply, else a reply."""
    headers = _threading(msg)
    parts = [(part, part.get_content_type()) for part in iter_parts(msg)]
    decided = (
        _complaint(msg, parts)
        or _dsn_bounce(msg, parts)
        or _provider_bounce(msg, parts, headers)
        or _auto_reply(msg, headers)
    )
    kind, reason, details = decided or ("reply", "no bounce, complaint or auto-reply signal", {})
    return Classification(kind=kind, reason=reason, **headers, **details)


# --- Headers -------------------------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_MSG_ID = re.compile(r"<([^<>\s]{1,500})>")
_BARE_MSG_ID = re.compile(r"^\s*([^<>\s@]{1,250}@[^<>\s@]{1,250})\s*$")
_ADDRESS = re.compile(r"^[^@\s<>(),;:\"\[\]\\\x00-\x1f\x7f]{1,64}@[^@\s<>(),;:\"\\\x00-\x1f\x7f]{1,255}$")


def _header(msg: Message, name: str) -> str:
    """The first such header's value, RFC 2047 encoded words decoded, every control character (CR and LF
    among them) turned into a space."""
    raw = next((str(v) for k, v in msg.raw_items() if k.lower() == name.lower()), "")
    text = _clean(raw)
    if "=?" in text:
        try:
            text = _clean(str(make_header(decode_header(text))))
        except Exception:  # an unknown charset or a broken encoded word: the text as it came
            pass
    return text


def _raw_header(msg: Message, name: str) -> str:
    """Every such header's text as received, comma-joined (encoded words left as they are): what address
    parsing wants."""
    return _clean(", ".join(str(v) for k, v in msg.raw_items() if k.lower() == name.lower()))


def _clean(text: str) -> str:
    if any("\udc80" <= ch <= "\udcff" for ch in text):  # undeclared 8-bit bytes, kept by surrogateescape
        data = text.encode("utf-8", "surrogateescape")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("cp1252", errors="replace")
    text = text.encode("utf-8", "replace").decode("utf-8")  # no lone surrogate reaches the database
    return re.sub(r"\s+", " ", _CONTROL.sub(" ", text)).strip()


def _message_ids(value: str, limit: int = MAX_REFERENCES) -> list[str]:
    ids = [f"<{m}>" for m in _MSG_ID.findall(value)]
    if not ids and (bare := _BARE_MSG_ID.match(value)):
        ids = [f"<{bare.group(1)}>"]
    return list(dict.fromkeys(ids))[:limit]


_ENCODED_WORD = re.compile(r"=\?[^?\s]*\?[bq]\?[^?\s]*\?=", re.IGNORECASE)


def _addresses(value: str, limit: int = MAX_RECIPIENTS) -> list[str]:
    """Valid-looking addresses of a header value, lower-cased, in order, once each."""
    # An encoded display name is never read as an address ("=?utf-8?q?Eve_x@evil.test?= <eve@...>").
    value = _ENCODED_WORD.sub("name", value)
    try:
        pairs = email.utils.getaddresses([value])
    except Exception:
        return []
    found = [addr.strip().strip("<>").lower() for _, addr in pairs]
    return list(dict.fromkeys(a for a in found if _ADDRESS.match(a)))[:limit]


def _date(value: str) -> datetime | None:
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except Exception:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _threading(msg: Message) -> dict[str, Any]:
    auto = _header(msg, "Auto-Submitted").split(";")[0].strip().lower()
    from_addresses = _addresses(_raw_header(msg, "From"), 1)
    return {
        "message_id": next(iter(_message_ids(_header(msg, "Message-ID"), 1)), None),
        "in_reply_to": next(iter(_message_ids(_header(msg, "In-Reply-To"), 1)), None),
        "references": tuple(_message_ids(_header(msg, "References"))),
        "from_address": from_addresses[0] if from_addresses else None,
        "to_addresses": tuple(_addresses(_raw_header(msg, "To"))),
        "cc_addresses": tuple(_addresses(_raw_header(msg, "Cc"))),
        "delivered_to": tuple(_addresses(", ".join(_raw_header(msg, n) for n in ("Delivered-To", "X-Original-To")))),
        "subject": _header(msg, "Subject"),
        "date": _date(_header(msg, "Date")),
        "auto_submitted": bool(auto) and auto != "no",
    }


# --- Complaints (RFC 5965) -----------------------------------------------------------------------------


Parts = list[tuple[Message, str]]  # a message's parts (see reply_text.iter_parts) with their content types


def _complaint(msg: Message, parts: Parts) -> Decision | None:
    report = next((p for p, ctype in parts if ctype == "message/feedback-report"), None)
    is_arf = parts[0][1] == "multipart/report" and _param(msg, "report-type") == "feedback-report"
    if report is None and not is_arf:
        return None
    blocks = _blocks(report) if report is not None else []
    fields = blocks[0] if blocks else {}
    original = _original_headers(msg, parts)
    rcpt = _addresses(fields.get("original-rcpt-to", ""), 1) or _addresses(original.get("to", ""), 1)
    # RFC 6590: the report replaced the recipient's local part with this string (AOL: "redacted").
    redacted = fields.get("redacted-address", "").lower()
    if rcpt and redacted and redacted in rcpt[0].split("@")[0]:
        rcpt = []
    return (
        "complaint",
        "feedback report (RFC 5965)",
        {
            "complained_address": rcpt[0] if rcpt else None,
            "original_message_id": next(iter(_message_ids(original.get("message-id", ""), 1)), None),
            "feedback_type": fields.get("feedback-type", "").lower() or None,
        },
    )


def _param(part: Message, name: str) -> str:
    try:
        return str(part.get_param(name) or "").strip().lower()
    except Exception:
        return ""


def _blocks(part: Message) -> list[dict[str, str]]:
    """The header blocks of a message/delivery-status or message/feedback-report part, names lower-cased."""
    payload = part.get_payload()
    if isinstance(payload, str):  # the parser left it as text (e.g. an odd transfer encoding): read it here
        chunks = re.split(r"\n\s*\n", part_text(part).replace("\r\n", "\n"))
        payload = [HeaderParser(policy=POLICY).parsestr(chunk.strip() + "\n") for chunk in chunks if chunk.strip()]
    blocks = []
    for block in payload if isinstance(payload, list) else []:
        if isinstance(block, Message):
            blocks.append({k.lower(): _clean(str(v)) for k, v in block.raw_items()})
    return blocks


def _original_headers(msg: Message, parts: Parts) -> dict[str, str]:
    """The headers of the message a report is about: its message/rfc822 or text/rfc822-headers part, else a
    copy quoted in the notification's text after "Original message follows" and the like."""
    for part, ctype in parts[1:]:
        if ctype == "message/rfc822":
            payload = part.get_payload()
            inner = payload[0] if isinstance(payload, list) and payload else None
            if isinstance(inner, Message):
                return {k.lower(): _clean(str(v)) for k, v in inner.raw_items()}
        if ctype in ("text/rfc822-headers", "message/rfc822-headers"):
            return _headers_of_text(part_text(part))
    text = _notification_text(msg, whole=True)
    marker = _ORIGINAL_MARKER.search(text)
    return _headers_of_text(text[marker.end() :]) if marker else {}


def _headers_of_text(text: str) -> dict[str, str]:
    try:
        parsed = HeaderParser(policy=POLICY).parsestr(text.lstrip("\r\n")[:MAX_SCAN], headersonly=True)
        return {k.lower(): _clean(str(v)) for k, v in parsed.raw_items()}
    except Exception:
        return {}


# --- Bounces: delivery status notifications (RFC 3464, codes per RFC 3463) -----------------------------

# RFC 3463 class.subject.detail; the subject is one digit (0-7 are defined), so "Exim 4.92.3" is no status.
_STATUS = re.compile(r"(?<![\d.])([245])\.([0-7])\.(\d{1,3})(?![\d.]*\d)")
_SMTP_CODE = re.compile(r"(?:^|said:|was:|error:|;)\s*([45]\d\d)[\s-]", re.IGNORECASE | re.MULTILINE)


def _dsn_bounce(msg: Message, parts: Parts) -> Decision | None:
    reports = [p for p, ctype in parts if ctype == "message/delivery-status"]
    recipients = [b for r in reports for b in _blocks(r) if "action" in b or "status" in b]
    if not recipients:
        return None
    failed = [b for b in recipients if _block_severity(b)]
    if not failed:  # "delivered", "relayed", "expanded": a success report, not a reply from anyone
        return "auto_reply", "delivery-status report of a delivery", {}
    severities = [_block_severity(b) for b in failed]
    retrying = all(b.get("action", "").lower().startswith("delayed") for b in failed)
    first = failed[0]
    diagnostic = _diagnostic_code(first.get("diagnostic-code", "")) or _diagnostic_line(_notification_text(msg))
    return (
        "bounce",
        "delivery-status report (RFC 3464)",
        {
            "bounce_type": "hard" if "hard" in severities else "soft",
            "status": next((s for b in failed if (s := _status_of(b))), None),
            "failed_recipients": tuple(dict.fromkeys(a for b in failed for a in _block_recipient(b)))[:MAX_RECIPIENTS],
            "retrying": retrying,
            "diagnostic": diagnostic,
            "original_message_id": _original_id(msg, parts),
        },
    )


def _status_of(block: dict[str, str]) -> str | None:
    for text in (block.get("status", ""), block.get("diagnostic-code", "")):
        if match := _STATUS.search(text):
            return ".".join(match.groups())
    return None


def _block_severity(block: dict[str, str]) -> BounceType | None:
    """hard or soft for a recipient the report says failed or was delayed; None for a delivered one."""
    action = block.get("action", "").lower()
    status = _status_of(block)
    if action.startswith(("delivered", "relayed", "expanded")) or (status or "").startswith("2"):
        return None
    if status:  # RFC 3463: the class decides, whatever the Action says ("failed" with 4.x.x is transient)
        return "hard" if status.startswith("5") else "soft"
    if smtp := _SMTP_CODE.search(block.get("diagnostic-code", "")):
        return "hard" if smtp.group(1).startswith("5") else "soft"
    return "soft" if action.startswith("delayed") else "hard"


def _block_recipient(block: dict[str, str]) -> list[str]:
    # Original-Recipient is the address we sent to; Final-Recipient may be where an alias led.
    for name in ("original-recipient", "final-recipient", "x-actual-recipient"):
        value = block.get(name, "")
        address = value.split(";", 1)[1] if ";" in value else value
        if found := _addresses(address.strip(), 1):
            return found
    return []


def _diagnostic_code(value: str) -> str | None:
    text = value.split(";", 1)[1] if ";" in value[:20] else value  # "smtp; 550 5.1.1 ..."
    return text.strip()[:1000] or None


def _original_id(msg: Message, parts: Parts) -> str | None:
    original = _original_headers(msg, parts)
    ids = _message_ids(original.get("message-id", ""), 1)
    if ids:
        return ids[0]
    # Office 365 and others also thread the report under our message.
    return next(iter(_message_ids(_header(msg, "In-Reply-To"), 1)), None)


# --- Bounces: provider forms with no proper DSN --------------------------------------------------------

_DAEMON = re.compile(r"^(?:mailer-daemon|mailer_daemon|mailerdaemon|mail-daemon|maildaemon|postmaster|mdaemon)@")
_DAEMON_NAME = re.compile(r"\bmail delivery (?:subsystem|system|service)\b", re.IGNORECASE)
_BOUNCE_SUBJECT = re.compile(
    r"^\s*(?:undeliver(?:ed|able)\b|returned mail\b|mail delivery (?:failed|failure)|"
    r"delivery status notification \((?:failure|delay)\)|delivery (?:failure|failed|has failed|notification)|"
    r"failure notice|non[- ]?delivery|delayed mail|mail (?:could not|couldn't) be delivered|"
    r"message (?:could not be|not) delivered|warning: could not send|returned to sender|"
    r"unzustellbar|nicht zustellbar|non remis|échec de (?:la )?remise|no se (?:puede|pudo) entregar)",
    re.IGNORECASE,
)
# Where a notification's own text ends and a copy of the original message begins.
_ORIGINAL_MARKER = re.compile(
    r"^[ \t]*-*[ \t]*(?:original message(?: follows)?|original message headers|undelivered message|"
    r"below this line is a copy of the message|this is a copy of the message|the original message is attached|"
    r"message header follows|returned message)\b.*$",
    re.IGNORECASE | re.MULTILINE,
)
_SOFT_WORDS = re.compile(
    r"\b(?:delay(?:ed)?|deferred|will (?:be )?retr(?:y|ied)|still (?:being )?retried|temporar(?:y|ily)|"
    r"warning only|do not need to resend|not yet been delivered|over quota|quota exceeded|mailbox (?:is )?full)\b",
    re.IGNORECASE,
)
_FAILURE_LINE = re.compile(
    r"\b(?:error|fail(?:ed|ure)?|rejected|unknown|not found|does not exist|doesn't exist|undeliverable|"
    r"could not|couldn't|unable|denied|refused|full|quota|timed out)\b",
    re.IGNORECASE,
)
_RETRYING = re.compile(
    r"\b(?:will (?:be )?retr(?:y|ied)|still being retried|warning only|do not need to resend|"
    r"delivery status notification \(delay\)|delayed mail)\b",
    re.IGNORECASE,
)
_DETAILS_INTRO = re.compile(r"technical details of (?:permanent|temporary) failure:\s*$", re.IGNORECASE)
_TEXT_ADDRESS = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]{1,64}@[\w-]+(?:\.[\w-]+)+")


def _provider_bounce(msg: Message, parts: Parts, headers: dict[str, Any]) -> Decision | None:
    x_failed = _addresses(_raw_header(msg, "X-Failed-Recipients"))
    sender = headers["from_address"] or ""
    daemon = bool(_DAEMON.match(sender)) or bool(_DAEMON_NAME.search(_header(msg, "From")))
    subject = headers["subject"]
    bounce_subject = bool(_BOUNCE_SUBJECT.match(subject))
    if not (x_failed or daemon or bounce_subject):
        return None  # what nearly every reply takes: its body is not read here
    text = _notification_text(msg)
    status = _STATUS.search(text)
    null_sender = _raw_header(msg, "Return-Path") == "<>" or _raw_header(msg, "X-Envelope-From") == "<>"
    if x_failed:
        reason = "X-Failed-Recipients header"
    elif daemon and (bounce_subject or status or _FAILURE_LINE.search(text)):
        reason = "failure notice from a mail server"
    elif bounce_subject and (null_sender or headers["auto_submitted"] or status):
        reason = "failure notice subject from a null sender"
    else:
        return None
    smtp = _SMTP_CODE.search(text)
    if status:
        bounce_type: BounceType = "hard" if status.group(1) == "5" else "soft"
    elif smtp:
        bounce_type = "hard" if smtp.group(1).startswith("5") else "soft"
    else:
        bounce_type = "soft" if _SOFT_WORDS.search(subject + "\n" + text) else "hard"
    return (
        "bounce",
        reason,
        {
            "bounce_type": bounce_type,
            "status": ".".join(status.groups()) if status else None,
            "failed_recipients": tuple(x_failed or _heuristic_recipients(msg, parts, headers, text)),
            "retrying": bool(_RETRYING.search(subject + "\n" + text)),
            "diagnostic": _diagnostic_line(text),
            "original_message_id": _original_id(msg, parts),
        },
    )


def _notification_text(msg: Message, *, whole: bool = False) -> str:
    """The text a mail server wrote: its first text/plain part (HTML as text otherwise), cut where a copy of
    the original message starts (unless `whole`), at most MAX_SCAN characters."""
    text = message_text(msg)[: MAX_SCAN * 4]
    if not whole and (marker := _ORIGINAL_MARKER.search(text)):
        text = text[: marker.start()]
    return text[:MAX_SCAN]


def _diagnostic_line(text: str) -> str | None:
    """The line of a notification that says what went wrong: the one with the status code, else the one
    after Gmail's "Technical details of permanent failure:", else the first that names a failure."""
    lines = [cleaned for line in text.splitlines() if (cleaned := _clean(line[:1000]))]
    if found := next((line for line in lines if _STATUS.search(line)), None):
        return found
    for i, line in enumerate(lines[:-1]):
        if _DETAILS_INTRO.search(line):
            return lines[i + 1]
    return next((line for line in lines if _FAILURE_LINE.search(line)), None)


def _heuristic_recipients(msg: Message, parts: Parts, headers: dict[str, Any], text: str) -> list[str]:
    """Failed recipients of a notification with neither a DSN nor X-Failed-Recipients: flufl.bounce's
    per-MTA detectors first, then the addresses its text names (ours and the original sender's left out)."""
    if headers["from_address"]:  # without a From, one of its detectors raises IndexError on every message
        try:
            temporary, permanent = all_failures(msg)
            # Its detectors read "delivered to ada@example.com." with the sentence's full stop: no address ends in one.
            found = sorted({a.decode("ascii", "replace").lower().rstrip(".") for a in temporary | permanent})
            if found := [a for a in found if _ADDRESS.match(a)]:
                return found[:MAX_RECIPIENTS]
        except Exception:  # its detectors assume headers that broken notifications lack
            pass
    original = _original_headers(msg, parts)
    ours = {headers["from_address"], *headers["to_addresses"], *_addresses(original.get("from", ""))}
    lines = (line for line in text.splitlines() if "message-id" not in line.lower())  # ids look like addresses
    named = [a.lower() for line in lines for a in _TEXT_ADDRESS.findall(line)]
    named = [a for a in dict.fromkeys(named) if a not in ours and not _DAEMON.match(a)]
    sent_to = set(_addresses(original.get("to", "") + "," + original.get("cc", "")))
    return ([a for a in named if a in sent_to] or named)[:MAX_RECIPIENTS]


# --- Auto-replies (RFC 3834 and the common out-of-office forms) ----------------------------------------

_AUTO_SUBJECT = re.compile(
    r"^\s*(?:out of (?:the )?office|automatic reply|auto(?:matic)?[- ]?(?:reply|response)|autoreply|auto:|"
    r"abwesenheitsnotiz|automatische antwort|réponse automatique|absence du bureau|respuesta automática|"
    r"fuera de la oficina|risposta automatica|fuori sede|automatisch antwoord|afwezigheidsbericht|"
    r"resposta automática|autosvar|automaattinen vastaus|odpowiedź automatyczna|vacation reply|"
    r"on vacation|away from (?:the )?office)",
    re.IGNORECASE,
)


def _auto_reply(msg: Message, headers: dict[str, Any]) -> Decision | None:
    if headers["auto_submitted"]:
        return "auto_reply", f"Auto-Submitted: {_header(msg, 'Auto-Submitted')[:100]}", {}
    for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponder", "X-AutoReply-From", "X-Mail-Autoreply"):
        if _header(msg, name):
            return "auto_reply", f"{name} header", {}
    precedence = _header(msg, "Precedence").lower()
    if precedence in ("auto_reply", "bulk", "junk"):
        return "auto_reply", f"Precedence: {precedence}", {}
    suppress = _header(msg, "X-Auto-Response-Suppress").lower()
    # Exchange marks its own automatic replies so that nothing answers them: "All", or "OOF" among others.
    if re.search(r"\b(?:oof|all)\b", suppress):
        return "auto_reply", f"X-Auto-Response-Suppress: {suppress[:100]}", {}
    if _AUTO_SUBJECT.match(headers["subject"]):
        return "auto_reply", "out-of-office subject", {}
    return None
