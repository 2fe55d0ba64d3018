"""The visible reply: the reply corpus with each file's expected text written here from reading it, the
localized forms, HTML bodies, and bodies in the charsets mail arrives in."""

from __future__ import annotations

import time

import pytest

from bench.classifier import fixtures_dir, missing_fixtures
from inbox.classify import parse
from inbox.reply_text import html_to_text, message_text, message_visible_text, visible_text

REPLIES_DIR = "replies-email_reply_parser"

# The reply a person wrote, per file: the text above the quoted history, and the answers written between
# quoted lines (each quote closed up to one blank line); no "On ... wrote:", no "From:/Sent:" block, no
# signature ("-- ", "Sent from my ...", a "-Name" sign-off, a mailing list's "____" footer). Where the
# upstream tests (github/email_reply_parser) pin a text (email_2_1, email_2_2, the mobile signatures,
# email_sent_from_my_not_signature, email_bullets, email_1_1's first fragment) it is the same here.
VISIBLE = {
    "correct_sig.txt": "this is an email with a correct -- signature.",
    # "-Abhishek Kona" is a sign-off (upstream: a signature), then the mailing list's footer.
    "email_1_1.txt": "Hi folks\n\nWhat is the best way to clear a Riak bucket of all key, values after\n"
    "running a test?\nI am currently using the Java HTTP API.",
    # Bottom-posted: "Hi," then the quote, then the answer; the list footer after it goes.
    "email_1_2.txt": "Hi,\n\nYou can list the keys for the bucket and call delete for each. Or if you\n"
    "put the keys (and kept track of them in your test) you can delete them\n"
    "one at a time (without incurring the cost of calling list first.)\n\nSomething like:\n\n"
    '        String bucket = "my_bucket";\n'
    "        BucketResponse bucketResponse = riakClient.listBucket(bucket);\n"
    "        RiakBucketInfo bucketInfo = bucketResponse.getBucketInfo();\n\n"
    "        for(String key : bucketInfo.getKeys()) {\n            riakClient.delete(bucket, key);\n        }\n\n\n"
    "would do it.\n\nSee also\n\nhttp://wiki.basho.com/REST-API.html#Bucket-operations\n\nwhich says\n\n"
    '"At the moment there is no straightforward way to delete an entire\n'
    "Bucket. There is, however, an open ticket for the feature. To delete all\n"
    'the keys in a bucket, you\u2019ll need to delete them all individually."',
    "email_1_3.txt": "Oh thanks.\n\nHaving the function would be great.",
    "email_1_4.txt": "Awesome! I haven't had another problem with it.",
    # No quote and no signature: all of it, "- " bullets included.
    "email_1_5.txt": "One: Here's what I've got.\n\n"
    "- This would be the first bullet point that wraps to the second line\nto the next\n"
    "- This is the second bullet point and it doesn't wrap\n"
    "- This is the third bullet point and I'm having trouble coming up with enough\nto say\n"
    "- This is the fourth bullet point\n\nTwo:\n- Here is another bullet point\n- And another one\n\n"
    "This is a paragraph that talks about a bunch of stuff. It goes on and on\nfor a while.",
    # A three-line "On ... wrote:" header; "Sent from a magnificent torch of pixels" is a device signature.
    "email_1_6.txt": "I get proper rendering as well.",
    "email_1_7.txt": ":+1:",  # CRLF line ends
    # Inline answers between quotes; "--" starts the signature.
    "email_1_8.txt": "I will reply under this one\n\nand under this.",
    "email_2_1.txt": "Outlook with a reply",
    "email_2_2.txt": "Outlook with a reply directly above line",
    "email_2_3.txt": "Outlook with a reply directly above line",
    "email_BlackBerry.txt": "Here is another email",
    "email_bullets.txt": "test 2 this should list second\n\nand have spaces\n\nand retain this formatting\n\n\n"
    "   - how about bullets\n   - and another",
    "email_iPhone.txt": "Here is another email",
    # Line 5 is 58,968 ">"s (a quote); line 7 is "A" and 707,605 ">"s, which is text.
    "email_long_quote.txt": "Hi folks\n\nWhat is the best way to clear a Riak bucket of all key, values after\n"
    "running a test?\nasdf\nA" + ">" * 707_605 + "\nI am currently using the Java HTTP API.",
    "email_multi_word_sent_from_my_mobile_device.txt": "Here is another email",
    "email_one_is_not_on.txt": "Thank, this is really helpful.\n\nOne outstanding question I had:\n\n"
    "Locally (on development), when I run...",
    "email_sent_from_my_not_signature.txt": "Here is another email\n\n"
    "Sent from my desk, is much easier then my mobile phone.",
    "email_sig_delimiter_in_middle_of_line.txt": "Hi there!\n\nStuff happened.\n\n"
    "And here is a fix -- this is not a signature.\n\nkthxbai",
    # "On your remote host you can run:" starts with "On" and ends with ":" but is the reply.
    "greedy_on.txt": "On your remote host you can run:\n\n     telnet 127.0.0.1 52698\n\n"
    "This should connect to TextMate (on your Mac, via the tunnel). If that\nfails, the tunnel is not working.",
    "pathological.txt": "I think you're onto something. I will try to fix the problem as soon as I\n"
    "get back to a computer.",
}


def corpus() -> dict[str, str]:
    found = fixtures_dir()
    if found is None:
        pytest.fail(missing_fixtures())
    if not (found / REPLIES_DIR).is_dir():
        pytest.fail(f"{found / REPLIES_DIR} is missing from the public fixture corpora")
    return {p.name: p.read_text(encoding="utf-8") for p in (found / REPLIES_DIR).glob("*.txt")}


def test_every_reply_fixture_has_an_expected_text() -> None:
    assert set(corpus()) == set(VISIBLE)


@pytest.mark.parametrize("name", VISIBLE)
def test_reply_fixture(name: str) -> None:
    assert visible_text(corpus()[name]) == VISIBLE[name]


def test_the_corpus_takes_milliseconds() -> None:
    texts = corpus()
    started = time.perf_counter()
    for text in texts.values():
        visible_text(text)
    assert time.perf_counter() - started < 1  # 0.77 MB of it is one pathological quote


@pytest.mark.parametrize(
    ("text", "want"),
    [
        (
            "Passt, Dienstag geht.\n\nAm Mo., 30. Nov. 2026 um 10:15 Uhr schrieb Max Muster <max@acme.test>:\n"
            "> Hallo, passt Ihnen Dienstag?\n",
            "Passt, Dienstag geht.",
        ),
        (
            "Parfait, à mardi.\n\nLe lun. 30 nov. 2026 à 10:15, Max <max@acme.test> a écrit :\n> Mardi vous va ?\n",
            "Parfait, à mardi.",
        ),
        ("Perfecto.\n\nEl lun, 30 nov 2026 a las 10:15, Max (<max@acme.test>) escribió:\n> ¿El martes?\n", "Perfecto."),
        ("Prima.\n\nIl giorno lun 30 nov 2026 alle ore 10:15 Max <max@acme.test> ha scritto:\n> Martedì?\n", "Prima."),
        (
            "Prima, tot dan.\n\nOp ma 30 nov. 2026 om 10:15 schreef Max <max@acme.test>:\n> Dinsdag?\n",
            "Prima, tot dan.",
        ),
        ("Ótimo.\n\nEm seg., 30 de nov. de 2026 às 10:15, Max <max@acme.test> escreveu:\n> Terça?\n", "Ótimo."),
        ("Låter bra.\n\nDen mån 30 nov. 2026 kl 10:15 skrev Max <max@acme.test>:\n> Tisdag?\n", "Låter bra."),
        (
            "Sure, Tuesday.\n\n-----Original Message-----\nFrom: Max <max@acme.test>\nSent: Monday\n\nTuesday?",
            "Sure, Tuesday.",
        ),
        (
            "Gerne.\n\n-----Ursprüngliche Nachricht-----\nVon: Max\nGesendet: Montag\nAn: Anna\nBetreff: Termin\n\nX",
            "Gerne.",
        ),
        (
            "Gerne.\n\nVon: Max Muster <max@acme.test>\nGesendet: Montag, 30. November 2026 10:15\nAn: Anna\n\nX",
            "Gerne.",
        ),
        ("Volontiers.\n\nDe : Max\nEnvoyé : lundi 30 novembre 2026 10:15\nÀ : Anna\nObjet : RDV\n\nX", "Volontiers."),
        ("Claro.\n\nDe: Max\nEnviado: lunes\nPara: Ana\nAsunto: Cita\n\nX", "Claro."),
        ("Ja.\n\nVon meinem iPhone gesendet", "Ja."),
        ("Oui.\n\nEnvoyé de mon iPhone", "Oui."),
        ("Sí.\n\nEnviado desde mi iPhone", "Sí."),
        ("Yes.\n\nGet Outlook for iOS", "Yes."),
        ("Yes.\n\n-- \nAnn Lee\nHead of Sales\n+1 555 0100", "Yes."),
    ],
)
def test_localized_and_client_forms(text: str, want: str) -> None:
    assert visible_text(text) == want


@pytest.mark.parametrize(
    "text",
    [
        "On Monday I wrote to the team about it:\n\n1. pricing\n2. dates",
        "From: the top, please.\nTo be clear, we start Monday.",
        "Sent from my desk, is much easier then my mobile phone.\n\nThanks",
        "We wrote:\nthat was our plan.",
    ],
)
def test_sentences_that_look_like_headers_are_kept(text: str) -> None:
    assert visible_text(text) == text


def test_nothing_but_a_quote_is_empty() -> None:
    assert visible_text("On Mon, 30 Nov 2026 at 10:15, Max <max@acme.test> wrote:\n> Tuesday?\n") == ""
    assert visible_text("") == ""


def test_huge_text_stays_fast() -> None:
    text = "On 1 2 3\n" * 200_000 + "> q\n" * 200_000
    # This process's CPU time, not the wall clock: on a shared machine the wall clock counts the other tenants'
    # turns too (3.5 s of wall for this under a load of 10). Quadratic work here would take minutes either way.
    started = time.process_time()
    visible_text(text)
    assert time.process_time() - started < 3


GMAIL_HTML = (
    '<div dir="ltr">Sounds good, <b>Tuesday</b>&nbsp;works.<br><br>Ann</div><br>'
    '<div class="gmail_quote"><div dir="ltr" class="gmail_attr">On Mon, Nov 30, 2026 at 10:15 AM Max &lt;'
    '<a href="mailto:max@acme.test">max@acme.test</a>&gt; wrote:<br></div>'
    '<blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex"><div dir="ltr">Hi Ann, does Tuesday work?'
    "</div></blockquote></div>"
)
OUTLOOK_HTML = (
    "<html><head><style>p.MsoNormal{margin:0}</style></head><body><div class=WordSection1>"
    "<p class=MsoNormal>Thanks &amp; see you then.<o:p></o:p></p>"
    '<div style="border:none;border-top:solid #E1E1E1 1.0pt"><p class=MsoNormal><b>From:</b> Max &lt;max@acme.test&gt;'
    "<br><b>Sent:</b> Monday, November 30, 2026 10:15 AM<br><b>To:</b> Ann<br><b>Subject:</b> Tuesday</p></div>"
    "<p class=MsoNormal>Hi Ann, does Tuesday work?</p></div></body></html>"
)
APPLE_HTML = (
    '<html><body>Works for me.<div><br></div><div>Ann</div><div><br><blockquote type="cite"><div>On 30 Nov 2026, '
    "at 10:15, Max &lt;max@acme.test&gt; wrote:</div><div>Tuesday?</div></blockquote></div></body></html>"
)


@pytest.mark.parametrize(
    ("html", "want"),
    [
        (GMAIL_HTML, "Sounds good, Tuesday works.\n\nAnn"),
        (OUTLOOK_HTML, "Thanks & see you then."),
        (APPLE_HTML, "Works for me.\n\nAnn"),
        (
            "<p>One</p><p>Two<br>Three</p><ul><li>a</li><li>b</li></ul><script>x()</script>",
            "One\n\nTwo\nThree\n\n- a\n- b",
        ),
        ("<pre>  keep\n    this</pre>", "  keep\n    this"),
        ("<p>unclosed <b>tags <div>and &bogus; entities", "unclosed tags\nand &bogus; entities"),
    ],
)
def test_html_replies(html: str, want: str) -> None:
    assert visible_text(html_to_text(html)) == want


def _mime(*parts: bytes, headers: bytes = b"From: ann@lead.example\r\nSubject: Re: hi\r\n") -> bytes:
    body = b"".join(b"--b\r\n" + p + b"\r\n" for p in parts) + b"--b--\r\n"
    return headers + b"Content-Type: multipart/alternative; boundary=b\r\n\r\n" + body


def test_message_prefers_plain_text() -> None:
    raw = _mime(
        b"Content-Type: text/plain; charset=utf-8\r\n\r\nPlain wins.\r\n\r\n> quoted",
        b"Content-Type: text/html\r\n\r\n<p>HTML loses.</p>",
    )
    assert message_visible_text(parse(raw)) == "Plain wins."


def test_message_falls_back_to_html() -> None:
    raw = _mime(
        b"Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
        + (GMAIL_HTML.replace("=", "=3D").encode())
    )
    assert message_visible_text(parse(raw)) == "Sounds good, Tuesday works.\n\nAnn"


def test_text_attachments_and_attached_messages_are_not_the_body() -> None:
    raw = (
        b"From: ann@lead.example\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
        b"--b\r\nContent-Type: message/rfc822\r\n\r\nSubject: old\r\n\r\nThe forwarded text.\r\n"
        b"--b\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=notes.txt\r\n\r\nnotes\r\n"
        b"--b\r\nContent-Type: text/plain\r\n\r\nMy answer.\r\n--b--\r\n"
    )
    assert message_visible_text(parse(raw)) == "My answer."


@pytest.mark.parametrize(
    ("content_type", "body", "want"),
    [
        (b"text/plain; charset=iso-8859-1", "Très bien, à mardi.".encode("latin-1"), "Très bien, à mardi."),
        (b"text/plain; charset=windows-1251", "Хорошо, до вторника.".encode("cp1251"), "Хорошо, до вторника."),
        (b"text/plain; charset=shift_jis", "火曜日で大丈夫です。".encode("shift_jis"), "火曜日で大丈夫です。"),
        (b"text/plain; charset=gb2312", "星期二可以。".encode("gb2312"), "星期二可以。"),
        # Declared UTF-8, written in Latin-1: read as Windows-1252 rather than with replacement characters.
        (b"text/plain; charset=utf-8", "Très bien.".encode("latin-1"), "Très bien."),
        (b"text/plain; charset=x-klingon", "Très bien.".encode(), "Très bien."),
        (b"text/plain", "Très bien.".encode(), "Très bien."),
    ],
)
def test_body_charsets(content_type: bytes, body: bytes, want: str) -> None:
    raw = b"From: ann@lead.example\r\nContent-Type: " + content_type + b"\r\n\r\n" + body
    assert message_text(parse(raw)).strip() == want


def test_broken_base64_body_is_still_text() -> None:
    raw = b"Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\nSGVsbG8gd29ybGQ=!!!not base64\r\n"
    assert message_text(parse(raw)).startswith("Hello world")


def test_no_body_at_all() -> None:
    assert message_visible_text(parse(b"")) == ""
    assert message_visible_text(parse(b"Content-Type: image/png\r\n\r\n\x89PNG")) == ""
