"""Inbound classification on the public corpora (each file's expected answer written here from reading it)
and on hand-made messages: auto-replies, malformed, non-UTF-8, headerless, empty and huge input."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench.classifier import fixtures_dir, missing_fixtures
from inbox.classify import MAX_BYTES, Classification, classify, classify_message, parse

BOUNCES_DIR = "bounces-flanker"
REPLIES_DIR = "replies-email_reply_parser"


def corpus(folder: str) -> Path:
    found = fixtures_dir()
    if found is None:
        pytest.fail(missing_fixtures())
    if not (found / folder).is_dir():
        pytest.fail(f"{found / folder} is missing from the public fixture corpora")
    return found / folder


@dataclass(frozen=True)
class Bounce:
    """What a bounce fixture says, as the inbox needs it."""

    bounce_type: str
    status: str | None
    recipients: tuple[str, ...]
    original_message_id: str | None
    retrying: bool

    @classmethod
    def of(cls, found: Classification) -> Bounce | None:
        if found.kind != "bounce" or found.bounce_type is None:
            return None
        return cls(found.bounce_type, found.status, found.failed_recipients, found.original_message_id, found.retrying)


# Per file, from reading it. RFC 3463: the status class decides (5 hard, 4 soft) whatever the Action says.
BOUNCES = {
    # text/plain from postmaster, "Undeliverable Mail", "Delivery failed 10 attempts: info@example.net", no
    # code; the original follows inline with no Message-ID. Failed for good, no code: hard.
    "bounce-broken-mime.eml": Bounce("hard", None, ("info@example.net",), None, False),
    # Only a message/delivery-status part: "Action: failed", "Status: 4.2.2" (mailbox full, transient).
    "bounce-delayed-broken.eml": Bounce("soft", "4.2.2", ("demo@example.com",), None, False),
    # sendmail's DSN: "Action: failed", "Status: 4.0.0" after 5 days; the returned message has no Message-ID.
    "bounce-delayed.eml": Bounce("soft", "4.0.0", ("foo@example.com",), None, False),
    # Gmail, no DSN: X-Failed-Recipients, "550 5.1.0 Recipient rejected", the original inline after
    # "----- Original message -----" with its Message-ID.
    "bounce-gmail-invalid-address.eml": Bounce(
        "hard",
        "5.1.0",
        ("awfawfawfawfawfaw@someserverhere.com",),
        "<CAKsfaBUUGqVZiaMrmH3TRPfq1odQPtM7Ey5YW1SgyJJRHtAjgw@mail.gmail.com>",
        False,
    ),
    # Gmail, no DSN: "failed permanently", "DNS Error: Domain name not found", no code; the inline original
    # has no Message-ID.
    "bounce-gmail-no-dns.eml": Bounce("hard", None, ("user@example.comm",), None, False),
    # AOL's DSN says "Status: 5.2.2" (552 MAILBOX FULL): a 5.x.x, so hard as the DSN says it; the original's
    # headers are in a text/rfc822-headers part.
    "bounce-mailbox-full.eml": Bounce("hard", "5.2.2", ("user@aol.com",), "<4E326A95.3010907@example.com>", False),
    # "THIS IS A WARNING ONLY": "Action: delayed", "Status: 4.4.4", still being retried.
    "bounce-no-mx.eml": Bounce("soft", "4.4.4", ("user@example.com",), "<19E44CA63F984902B7D654F8FF40F89D@bo>", True),
    # Office 365's "Undeliverable:", with a DSN: "Status: 5.1.10", the original attached (message/rfc822).
    "bounce-office365.eml": Bounce(
        "hard", "5.1.10", ("noname@example.com",), "<20171013111011.20866.254C2F3A4D7AA526@ninomail.com>", False
    ),
    # Postfix's DSN: "Status: 5.1.1" (the account does not exist), the original attached.
    "bounce-zed.eml": Bounce(
        "hard",
        "5.1.1",
        ("asdfasdfasdfasdfasdfasdfewrqertrtyrthsfgdfgadfqeadvxzvz@gmail.com",),
        "<20090708054735.GC7578@example.com>",
        False,
    ),
}

# What each bounce's diagnostic holds (the DSN's Diagnostic-Code, else the notice's line that says why).
DIAGNOSTICS = {
    "bounce-broken-mime.eml": "Delivery failed 10 attempts: info@example.net",
    "bounce-delayed-broken.eml": None,
    "bounce-delayed.eml": "426 connection timed out",
    "bounce-gmail-invalid-address.eml": "550 5.1.0 Recipient rejected: <awfawfawfawfawfaw@someserverhere.com>",
    "bounce-gmail-no-dns.eml": "DNS Error: Domain name not found",
    "bounce-mailbox-full.eml": "552 5.2.2 E4.12 user MAILBOX FULL",
    "bounce-no-mx.eml": "454 4.4.4 [internal] no MX or A for domain",
    "bounce-office365.eml": "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient noname@example.com not found",
    "bounce-zed.eml": "550-5.1.1 The email account that you tried to reach does not exist.",
}


@dataclass(frozen=True)
class Complaint:
    address: str | None
    original_message_id: str | None
    feedback_type: str | None

    @classmethod
    def of(cls, found: Classification) -> Complaint | None:
        if found.kind != "complaint":
            return None
        return cls(found.complained_address, found.original_message_id, found.feedback_type)


COMPLAINTS = {
    # AOL's ARF: "Redacted-Address: redacted", the original's To is "redacted@aol.com": no address to suppress,
    # the original's Message-ID finds the recipient.
    "complaints-aol.eml": Complaint(None, "<20101117174130.28884.55421@luna>", "abuse"),
    # Yahoo's ARF: "Original-Rcpt-To: user@yahoo.com".
    "complaints-yahoo.eml": Complaint("user@yahoo.com", "<20120711015015.4A8BE2E088E@www.example.com>", "abuse"),
}


def test_every_fixture_has_an_expected_answer() -> None:
    folder = corpus(BOUNCES_DIR)
    assert {p.name for p in folder.glob("bounce-*.eml")} == set(BOUNCES)
    assert {p.name for p in folder.glob("complaints-*.eml")} == set(COMPLAINTS)


@pytest.mark.parametrize("name", BOUNCES)
def test_bounce_fixture(name: str) -> None:
    found = classify((corpus(BOUNCES_DIR) / name).read_bytes())
    assert found.kind == "bounce"
    assert Bounce.of(found) == BOUNCES[name]
    assert not found.counts_as_reply
    want = DIAGNOSTICS[name]
    assert found.diagnostic == want if want is None else want in (found.diagnostic or "")


@pytest.mark.parametrize("name", COMPLAINTS)
def test_complaint_fixture(name: str) -> None:
    found = classify((corpus(BOUNCES_DIR) / name).read_bytes())
    assert Complaint.of(found) == COMPLAINTS[name]
    assert not found.counts_as_reply


def test_reply_corpus_is_all_replies() -> None:
    names = sorted(p.name for p in corpus(REPLIES_DIR).glob("*.txt"))
    assert len(names) == 22
    kinds = {name: classify((corpus(REPLIES_DIR) / name).read_bytes()).kind for name in names}
    assert kinds == dict.fromkeys(names, "reply")


def test_threading_headers_of_a_reply() -> None:
    raw = (
        b"Message-ID: <reply-1@lead.example>\r\n"
        b"In-Reply-To: <out-2@acme.test>\r\n"
        b"References: <out-1@acme.test>\r\n <out-2@acme.test>  <out-1@acme.test>\r\n"
        b'From: "Lee, Ann" <Ann.Lee@Lead.Example>\r\n'
        b"To: Sales <sales@acme.test>, other@acme.test\r\n"
        b"Subject: =?utf-8?q?Re:_Caf=C3=A9_next_week?=\r\n"
        b"Date: Tue, 01 Dec 2026 09:30:00 +0100\r\n"
        b"\r\n"
        b"Sounds good.\r\n"
    )
    found = classify(raw)
    assert found.kind == "reply" and found.counts_as_reply
    assert found.message_id == "<reply-1@lead.example>"
    assert found.in_reply_to == "<out-2@acme.test>"
    assert found.references == ("<out-1@acme.test>", "<out-2@acme.test>")
    assert found.from_address == "ann.lee@lead.example"
    assert found.to_addresses == ("sales@acme.test", "other@acme.test")
    assert found.subject == "Re: Café next week"
    assert found.date == datetime(2026, 12, 1, 8, 30, tzinfo=UTC)
    assert not found.auto_submitted


def test_message_id_without_brackets_gets_them() -> None:
    found = classify(b"Message-ID: abc123@host.example\r\nIn-Reply-To: <x@y>\r\n\r\nhi")
    assert (found.message_id, found.in_reply_to) == ("<abc123@host.example>", "<x@y>")


# --- Auto-replies --------------------------------------------------------------------------------------


def _message(*headers: str, body: str = "I am away until Monday.") -> bytes:
    lines = ["From: Ann <ann@lead.example>", "To: sales@acme.test", "Message-ID: <m1@lead.example>", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n" + body + "\r\n").encode()


def test_rfc3834_auto_submitted_is_an_auto_reply() -> None:
    found = classify(_message("Subject: Re: Our call", "Auto-Submitted: auto-replied"))
    assert (found.kind, found.auto_submitted, found.reason) == (
        "auto_reply",
        True,
        "Auto-Submitted: auto-replied",
    )
    assert not found.counts_as_reply


def test_auto_submitted_no_is_a_person() -> None:
    found = classify(_message("Subject: Re: Our call", "Auto-Submitted: no"))
    assert (found.kind, found.auto_submitted) == ("reply", False)


def test_outlook_out_of_office() -> None:
    # What Exchange sends: no Auto-Submitted, "Automatic reply:" and X-Auto-Response-Suppress: All.
    found = classify(
        _message(
            "Subject: Automatic reply: Quick question about Q3",
            "Thread-Topic: Quick question about Q3",
            "X-Auto-Response-Suppress: All",
            "X-MS-Exchange-Inbox-Rules-Loop: ann@lead.example",
            "In-Reply-To: <out-7@acme.test>",
        )
    )
    assert found.kind == "auto_reply"
    assert found.in_reply_to == "<out-7@acme.test>"  # the matcher still files it in the right thread


@pytest.mark.parametrize(
    "header",
    [
        "X-Autoreply: yes",
        "X-Autorespond: Ann is away",
        "Precedence: auto_reply",
        "Precedence: bulk",
        "Precedence: junk",
        "X-Auto-Response-Suppress: DR, RN, NRN, OOF, AutoReply",
        "Subject: Out of Office: back on the 5th",
        "Subject: Abwesenheitsnotiz: Ihre Anfrage",
        "Subject: =?iso-8859-1?q?R=E9ponse_automatique_=3A_Votre_offre?=",
        "Subject: Auto: Your proposal",
        "Subject: Autoreply: Your proposal",
    ],
)
def test_out_of_office_forms(header: str) -> None:
    assert classify(_message(header)).kind == "auto_reply"


def test_a_reply_about_an_out_of_office_is_a_reply() -> None:
    found = classify(_message("Subject: Re: Out of office next week?", body="Yes, I am off from the 3rd."))
    assert found.kind == "reply"


def test_successful_delivery_report_is_not_a_reply() -> None:
    raw = (
        b"From: MAILER-DAEMON@mx.example\r\nSubject: Successful Mail Delivery Report\r\n"
        b"Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n"
        b"--b\r\nContent-Type: text/plain\r\n\r\nYour message was delivered.\r\n"
        b"--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example\r\n\r\n"
        b"Final-Recipient: rfc822; ann@lead.example\r\nAction: delivered\r\nStatus: 2.0.0\r\n\r\n--b--\r\n"
    )
    assert classify(raw).kind == "auto_reply"


# --- Provider forms of bounces ---------------------------------------------------------------------------


def test_exim_failure_without_dsn() -> None:
    raw = (
        b"From: Mail Delivery System <Mailer-Daemon@mx.example>\r\n"
        b"To: sales@acme.test\r\n"
        b"Subject: Mail delivery failed: returning message to sender\r\n"
        b"X-Failed-Recipients: gone@lead.example\r\n\r\n"
        b"This message was created automatically by mail delivery software.\r\n\r\n"
        b"A message that you sent could not be delivered to one or more of its recipients.\r\n\r\n"
        b"  gone@lead.example\r\n    SMTP error from remote mail server after RCPT TO:<gone@lead.example>:\r\n"
        b"    550 5.1.1 <gone@lead.example>: Recipient address rejected: User unknown\r\n\r\n"
        b"------ This is a copy of the message, including all the headers. ------\r\n\r\n"
        b"Message-ID: <out-9@acme.test>\r\nTo: gone@lead.example\r\n\r\nHello\r\n"
    )
    found = classify(raw)
    assert Bounce.of(found) == Bounce("hard", "5.1.1", ("gone@lead.example",), "<out-9@acme.test>", False)
    assert "Recipient address rejected" in (found.diagnostic or "")


def test_qmail_failure_notice_finds_its_recipient() -> None:
    # No DSN and no X-Failed-Recipients: flufl.bounce's qmail detector reads the recipient from the notice.
    raw = (
        b"From: MAILER-DAEMON@mail.example\r\nTo: sales@acme.test\r\nSubject: failure notice\r\n\r\n"
        b"Hi. This is the qmail-send program at mail.example.\r\n"
        b"I'm afraid I wasn't able to deliver your message to the following addresses.\r\n"
        b"This is a permanent error; I've given up. Sorry it didn't work out.\r\n\r\n"
        b"<nobody@lead.example>:\r\nSorry, no mailbox here by that name. (#5.1.1)\r\n\r\n"
        b"--- Below this line is a copy of the message.\r\n\r\n"
        b"Message-ID: <out-3@acme.test>\r\nFrom: sales@acme.test\r\nTo: nobody@lead.example\r\n\r\nHi\r\n"
    )
    found = classify(raw)
    assert Bounce.of(found) == Bounce("hard", "5.1.1", ("nobody@lead.example",), "<out-3@acme.test>", False)


def test_a_notice_naming_the_address_at_a_sentence_s_end_finds_it_without_the_full_stop() -> None:
    raw = (
        b"From: MAILER-DAEMON@mx.example\r\nTo: sales@acme.test, Accounts <billing@acme.test>\r\n"
        b"Cc: team@acme.test\r\nDelivered-To: bounces@acme.test\r\nSubject: Undeliverable: Tuesday?\r\n\r\n"
        b"Your message could not be delivered to dana@lead.example.\r\n\r\n"
        b"550 5.1.1 dana@lead.example: user unknown\r\n"
    )
    found = classify(raw)
    assert Bounce.of(found) == Bounce("hard", "5.1.1", ("dana@lead.example",), None, False)
    # Every address it was sent to, which the inbox matches what we sent from against.
    assert found.addressed_to == ("sales@acme.test", "billing@acme.test", "team@acme.test", "bounces@acme.test")


def test_gmail_delay_notice_is_soft_and_retrying() -> None:
    raw = (
        b"From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>\r\nTo: sales@acme.test\r\n"
        b"Subject: Delivery Status Notification (Delay)\r\n\r\n"
        b"This is an automatically generated Delivery Status Notification.\r\n\r\n"
        b"THIS IS A WARNING MESSAGE ONLY. YOU DO NOT NEED TO RESEND YOUR MESSAGE.\r\n\r\n"
        b"Delivery to the following recipient has been delayed:\r\n\r\n     slow@lead.example\r\n\r\n"
        b"Message will be retried for 2 more day(s)\r\n"
    )
    found = classify(raw)
    assert Bounce.of(found) == Bounce("soft", None, ("slow@lead.example",), None, True)


def test_a_forwarded_bounce_is_a_reply() -> None:
    # A lead forwarding a bounce they got: the report is inside an attached message, not this one.
    bounce = (corpus(BOUNCES_DIR) / "bounce-zed.eml").read_bytes()
    raw = (
        b"From: Ann <ann@lead.example>\r\nTo: sales@acme.test\r\nSubject: Fwd: look at this\r\n"
        b"Content-Type: multipart/mixed; boundary=outer\r\n\r\n"
        b"--outer\r\nContent-Type: text/plain\r\n\r\nDid you get this too?\r\n"
        b"--outer\r\nContent-Type: message/rfc822\r\n\r\n" + bounce + b"\r\n--outer--\r\n"
    )
    assert classify(raw).kind == "reply"


# --- Input no rule foresaw -------------------------------------------------------------------------------

TEXT_FIELDS = ("subject", "diagnostic", "from_address", "message_id", "in_reply_to", "original_message_id")


def _no_line_breaks(found: Classification) -> None:
    values = [getattr(found, f) or "" for f in TEXT_FIELDS]
    values += [*found.to_addresses, *found.references, *found.failed_recipients]
    assert not [v for v in values if any(ch in v for ch in "\r\n\x00")]


def test_malformed_message_parses_without_header_injection() -> None:
    raw = (
        b"From: =?utf-8?q?Eve=0D=0ABcc:_victim@x.test?= <eve@lead.example>\r\n"
        b"To: <<<broken@@ >>>, sales@acme.test\r\n"
        b"Subject: =?utf-8?q?Hello=0D=0ABcc:_victim@x.test=00?=\r\n"
        b"Message-ID: <a\r\n b@c>\r\n"
        b"Date: yesterday at noon\r\n"
        b"Content-Type: multipart/alternative; boundary=\r\n"
        b"Content-Transfer-Encoding: base64\r\n"
        b"\r\n"
        b"--\r\nnot=base64=at=all!!\r\n--x--\r\n"
    )
    found = classify(raw)
    assert found.kind == "reply"
    assert found.subject == "Hello Bcc: victim@x.test"
    assert found.from_address == "eve@lead.example"
    assert found.to_addresses == ("sales@acme.test",)
    assert found.date is None
    _no_line_breaks(found)


def test_broken_mime_structures_never_raise() -> None:
    inputs = [
        b"Content-Type: multipart/report; report-type=delivery-status; boundary=x\r\n\r\n--x\r\n",
        b"Content-Type: message/delivery-status\r\n\r\nAction: failed\r\nStatus: 9.9.9.9\r\n",
        b"Content-Type: message/rfc822\r\n\r\n",
        b"Content-Type: multipart/mixed; boundary=a\r\n\r\n"
        + b"--a\r\nContent-Type: multipart/mixed; boundary=a\r\n\r\n" * 3000,
        b"From: MAILER-DAEMON@x\r\nContent-Type: text/plain; charset=\xff\xfe\r\n\r\n\xff\xfe\x00\x00",
        b"\x00\x01\x02\r\n\r\n\r\n",
    ]
    for raw in inputs:
        found = classify(raw)
        assert found.kind in ("reply", "auto_reply", "bounce", "complaint")
        assert not found.reason.startswith("unclassified"), (raw[:60], found.reason)


def test_non_utf8_charsets() -> None:
    latin1_header = "Subject: Réponse automatique : absent\r\nFrom: paul@lead.example\r\n\r\nAbsent.".encode("latin-1")
    assert classify(latin1_header).subject == "Réponse automatique : absent"  # undeclared 8-bit: read as cp1252
    assert classify(latin1_header).kind == "auto_reply"

    koi8 = "=?koi8-r?b?" + __import__("base64").b64encode("Автоответ".encode("koi8-r")).decode() + "?="
    assert classify(f"Subject: {koi8}\r\n\r\nhi".encode()).subject == "Автоответ"
    unknown = classify(b"Subject: =?x-klingon?q?Qapla=FF?=\r\nFrom: a@b.test\r\n\r\nhi")
    assert (unknown.kind, unknown.subject) == ("reply", "=?x-klingon?q?Qapla=FF?=")

    dsn = (
        b"From: postmaster@mx.example\r\nSubject: Unzustellbar: Angebot\r\n"
        b"Content-Type: text/plain; charset=iso-8859-1\r\n\r\n"
        b"Die Nachricht an m\xfcller@lead.example konnte nicht zugestellt werden: 550 5.1.1 unbekannt\r\n"
    )
    found = classify(dsn)
    assert Bounce.of(found) == Bounce("hard", "5.1.1", ("müller@lead.example",), None, False)


def test_message_with_no_headers_at_all() -> None:
    found = classify(b"Just a line of text, no headers.\n\nAnd another paragraph.\n")
    assert found == Classification(kind="reply", reason=found.reason)


def test_zero_bytes() -> None:
    found = classify(b"")
    assert found == Classification(kind="reply", reason=found.reason)


def test_huge_input_is_capped() -> None:
    body = b"x" * 78 + b"\r\n"
    raw = b"From: a@lead.example\r\nSubject: Re: hi\r\nMessage-ID: <big@lead.example>\r\n\r\n" + body * 700_000
    assert len(raw) > 25 * MAX_BYTES
    started = time.perf_counter()
    found = classify(raw)
    assert time.perf_counter() - started < 5
    assert (found.kind, found.message_id) == ("reply", "<big@lead.example>")
    assert len(parse(raw).as_bytes()) <= MAX_BYTES + 1024  # only the first MAX_BYTES were read


def test_parse_then_classify_message_is_classify() -> None:
    raw = (corpus(BOUNCES_DIR) / "bounce-office365.eml").read_bytes()
    assert classify_message(parse(raw)) == classify(raw)
