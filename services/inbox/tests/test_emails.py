"""The email a stored message becomes: threading and RFC 8058 headers, encoded names, no injected header;
and the unsubscribe token it links to."""

from __future__ import annotations

import email
import email.policy
import uuid

import pytest

from inbox import emails, unsubscribe

KEY = b"k" * 32


def outbound(**changes: object) -> emails.Outbound:
    fields: dict[str, object] = dict(
        from_address="sales@acme.test", from_name="Zoë at Acme", to_address="ada@example.com", to_name="Ada Lovelace",
        subject="Quick question, Ada", text_body="Hi Ada,\n\nShall we talk?\n", html_body="<p>Hi Ada</p>",
        message_id="<m2@acme.test>", in_reply_to="<m1@acme.test>", references=["<m0@acme.test>", "<m1@acme.test>"],
        unsubscribe_url="https://app.example/v1/unsubscribe/T", unsubscribe_mailto="mailto:unsubscribe+T@acme.test",
    )  # fmt: skip
    return emails.Outbound(**{**fields, **changes})  # type: ignore[arg-type]


def parsed(out: emails.Outbound) -> email.message.EmailMessage:
    """The email as sent (render's bytes), read back by the package, as a mail client would."""
    rendered = emails.render(out)
    raw = rendered if isinstance(rendered, bytes) else rendered.as_bytes()
    return email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[return-value]


def reference(out: emails.Outbound) -> email.message.EmailMessage:
    return email.message_from_bytes(emails.build(out).as_bytes(), policy=email.policy.default)  # type: ignore[return-value]


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"html_body": "", "in_reply_to": None, "references": []},
        {"from_name": "", "to_name": ""},
        {"to_name": 'O\'Brien, "Pat" (sales)', "subject": "Ünïcode: grüße aus Köln " * 8},
        {"subject": "a plain subject that goes on " * 20, "text_body": "one very long line " * 40 + "\n.dot\n"},
        {"text_body": "Grüße,\n\nZoë\n", "html_body": "<p>Grüße " + "long " * 50 + "</p>"},
        {"references": [f"<{n}@acme.test>" for n in range(20)]},
    ],
)
def test_the_rendered_email_reads_as_the_email_package_would_have_written_it(changes: dict[str, object]) -> None:
    out = outbound(**changes)
    ours, theirs = parsed(out), reference(out)
    for name in ("From", "To", "Message-ID", "In-Reply-To", "References", "List-Unsubscribe-Post", "MIME-Version"):
        assert str(ours[name]) == str(theirs[name]), name
    # The package folds List-Unsubscribe before its first link (a leading space once unfolded), and may lose a
    # space between a long non-ASCII subject's encoded words: the subject must come back exactly as written.
    assert str(ours["List-Unsubscribe"]) == str(theirs["List-Unsubscribe"]).strip()
    assert str(ours["Subject"]) == out.subject
    assert ours["From"].addresses == theirs["From"].addresses and ours["To"].addresses == theirs["To"].addresses
    for kind in ("plain", "html"):
        mine, ref = ours.get_body((kind,)), theirs.get_body((kind,))
        assert (mine and mine.get_content()) == (ref and ref.get_content()), kind
    assert all(len(line) <= 998 for line in emails.render(out).split(b"\r\n"))  # type: ignore[union-attr]


def test_a_non_ascii_address_is_left_to_the_email_package() -> None:
    assert isinstance(emails.render(outbound(to_address="ada@exämple.com")), email.message.EmailMessage)


def test_a_follow_up_carries_the_thread_and_one_click_unsubscribe() -> None:
    message = parsed(outbound())
    assert message["Message-ID"] == "<m2@acme.test>"
    assert message["In-Reply-To"] == "<m1@acme.test>"
    assert message["References"] == "<m0@acme.test> <m1@acme.test>"
    assert (
        message["List-Unsubscribe"].strip()
        == "<https://app.example/v1/unsubscribe/T>, <mailto:unsubscribe+T@acme.test>"
    )
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["From"].addresses[0].display_name == "Zoë at Acme"
    assert message.get_body(("plain",)).get_content().startswith("Hi Ada,")
    assert message.get_body(("html",)).get_content().startswith("<p>Hi Ada</p>")


def test_a_first_message_has_no_threading_headers() -> None:
    message = parsed(outbound(in_reply_to=None, references=[]))
    assert message["In-Reply-To"] is None and message["References"] is None


@pytest.mark.parametrize("field", ["subject", "to_name", "from_name"])
def test_a_line_break_in_a_name_or_subject_never_becomes_a_header(field: str) -> None:
    with pytest.raises(ValueError):
        emails.build(outbound(**{field: "x\r\nBcc: everyone@example.com"})).as_bytes()
    with pytest.raises(ValueError):
        emails.render(outbound(**{field: "x\r\nBcc: everyone@example.com"}))


def test_references_keep_the_first_and_the_latest() -> None:
    chain = [f"<{n}@a>" for n in range(30)]
    kept = emails.threaded_references(chain, "<30@a>")
    assert len(kept) == emails.MAX_REFERENCES and kept[0] == "<0@a>" and kept[-1] == "<30@a>"


def test_message_ids_are_unique_at_the_sender_s_domain() -> None:
    ids = {emails.new_message_id("sales@acme.test") for _ in range(1000)}
    assert len(ids) == 1000 and all(i.endswith("@acme.test>") for i in ids)


def test_an_unsubscribe_token_names_its_recipient_and_cannot_be_forged() -> None:
    org = uuid.uuid4()
    token = unsubscribe.token(KEY, org, "Ada@Example.com")
    assert unsubscribe.verify(KEY, token) == unsubscribe.Recipient(org, "ada@example.com")
    assert unsubscribe.verify(b"x" * 32, token) is None
    body, _, mac = token.partition(".")
    other = unsubscribe.token(KEY, org, "bob@example.com").partition(".")[0]
    assert unsubscribe.verify(KEY, f"{other}.{mac}") is None
    for garbage in ("", ".", "abc", "abc.def", "%%%.&&&", token + "x"):
        assert unsubscribe.verify(KEY, garbage) is None
