"""What a person wrote in a received email: its text body, and the reply without the quoted history or signature.

Measured before writing it (2026-12, the 22 texts of ../shared/fixtures/replies-email_reply_parser, the
expected visible texts written per file in tests/test_reply_text.py; lines compared with trailing spaces
trimmed):
  email_reply_parser 0.5.12 (`parse_reply`)             18/22, English only ("On ... wrote:", From/Sent),
      last released 2020; drops a sentence starting "Sent from my desk, ..."; joins inline answers
      without their blank line
  mail-parser-reply 1.36 (`replies[0].body`, en/de/fr)  13/22: strips every line's indentation, takes
      "- " bullet lists for signatures (cuts email_1_5 after its first line), keeps "-----" and "____"
      separators, keeps only "Hi," of a bottom-posted answer
  mail-parser-reply 1.36 (`latest_reply`)                8/22: signatures kept as well
  quotequail 0.5.4 (`quote`)                              3/22: it marks where the quote starts and keeps
      the "On ... wrote:" line, "From:/Sent:" blocks and every signature; its `quote_html` (with lxml) 0/3
      on the Gmail, Outlook and Apple Mail HTML replies of the tests, for the same reasons
None keeps indentation, inline answers and the localized forms together, so the line rules below are
written here (22/22 on the same corpus; `make bench`'s classifier part prints the rate). HTML goes
through the standard library's HTMLParser: blockquotes become "> " lines, so the same rules apply.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from email.message import Message
from html.parser import HTMLParser

# A text longer than this is cut before its lines are read: a reply is at its top, and the rules run
# once per line, so their time stays bounded whatever arrives.
MAX_CHARS = 1_000_000
# Longer lines are never a reply header ("On ... wrote:", "From: ..."), so no pattern runs over them.
MAX_HEADER_LINE = 1_000
# Mail parts looked at when finding a message's body; a message with more is not a reply from a person.
MAX_PARTS = 200

_LEAD = r"(?:On|Am|Le|El|Il|Op|Em|Den|På|W\s+dniu|Dne)"
# Verbs that end the header, and verbs a name and address may follow ("Am ... schrieb Max <m@x.de>:").
_WROTE = r"(?:wrote|a\s+écrit|escribió|ha\s+scritto|escreveu|napisał\(a\)|napisała?|napsal\(a\)|napsala?)"
_WROTE_NAMED = r"(?:schrieb|schreef|skrev)"
# "On Tue, 1 Mar 2011 at 18:02, Ann <ann@x.test> wrote:" and its translations, on one line or up to three.
# Every client puts a date or a time in it, so a digit is required: "On Monday I wrote to them:" is no header.
_WROTE_HEADER = re.compile(
    rf"^\s*{_LEAD}\s(?=.*\d).{{0,400}}?(?:{_WROTE}|{_WROTE_NAMED}(?:\s+\S.{{0,200}}?)?)\s*:\s*$", re.IGNORECASE
)
# "Ann Smith <ann@x.test> wrote:" (no leading word): only with an address or a date in it.
_WROTE_TAIL = re.compile(rf"^\s*\S(?=.*[\d@]).{{0,400}}?\s(?:{_WROTE}|{_WROTE_NAMED})\s*:\s*$", re.IGNORECASE)
_HEADER_START = re.compile(rf"^\s*{_LEAD}\s", re.IGNORECASE)
# Outlook's block: "From: ..." followed by "Sent:"/"To:"/"Subject:" (bold in some clients: "*From:*").
_FROM_FIELD = re.compile(r"^\s*\*?(?:From|Von|De|Da|Van|Från|Fra|Od|Lähettäjä|Feladó)\s?:\*?\s*\S", re.IGNORECASE)
_OTHER_FIELD = re.compile(
    r"^\s*\*?(?:Sent|Date|To|Cc|Subject|Gesendet|Datum|An|Betreff|Envoyé|À|Objet|Enviado|Fecha|Para|Asunto|"
    r"Inviato|Data|A|Oggetto|Verzonden|Aan|Onderwerp|Skickat|Till|Ämne|Sendt|Til|Emne|Wysłano|Do|Temat)\s?:",
    re.IGNORECASE,
)
_ORIGINAL_MESSAGE = re.compile(
    r"^\s*-{2,}\s*(?:original message|ursprüngliche nachricht|message d'origine|mensaje original|"
    r"messaggio originale|oorspronkelijk bericht|ursprungligt meddelande|opprinnelig melding|"
    r"oprindelig meddelelse|alkuperäinen viesti|wiadomość oryginalna|mensagem original|"
    r"forwarded message|weitergeleitete nachricht)\s*-{2,}\s*$",
    re.IGNORECASE,
)
_QUOTED = re.compile(r"^\s{0,3}>")
_SIGNATURE_DELIMITER = re.compile(r"^(?:--|__+)\s*$")  # "-- " (RFC 3676 4.3), and list footers' "____"
_SEPARATOR = re.compile(r"^\s*[-_=*~]{3,}\s*$")
# "Sent from my iPhone", "Von meinem iPhone gesendet", "Get Outlook for Android": short, no sentence in it.
_SENT_FROM = re.compile(
    r"^\s*(?:(?:Sent|Envoyé|Gesendet|Enviado|Inviato|Verzonden|Verstuurd|Skickat|Sendt|Wysłane)\s+"
    r"(?:from|with|von|mit|depuis|de|desde|con|da|vanaf|met|från|fra|z)\s+[^,;:!?]{1,60}"
    r"|Von meinem [^,;:!?]{1,40} gesendet|Get Outlook for \w+)$",
    re.IGNORECASE,
)
_SIGN_OFF = re.compile(r"^-[^\W\d_][\w.' ]{0,40}$")  # "-Abhishek Kona" on its own line, not a "- " bullet

_REMOVED = None  # a line taken out (a quote or its header); runs of them close up with the blank lines around


def visible_text(text: str) -> str:
    """The reply a person wrote: without the quoted history ("On ... wrote:", "-----Original Message-----",
    "From: ... Sent: ...", "> " lines, in English, German, French, Spanish, Italian, Dutch, Portuguese,
    Scandinavian and Polish forms) and without the signature ("-- ", "Sent from my iPhone", "-Name").

    Answers written between quoted lines are kept, each quote closed up to one blank line; indentation and
    blank lines of the reply itself are kept, trailing spaces are not.
    """
    lines = text[:MAX_CHARS].replace("\r\n", "\n").replace("\r", "\n").split("\n")
    lines = [line.rstrip() for line in lines]
    lines = lines[: _history_start(lines)]
    kept = _without_quotes(lines)
    return "\n".join(_without_signature(_closed_up(kept)))


def _history_start(lines: list[str]) -> int:
    """The index of the first line of the quoted history (or of the signature) that runs to the end."""
    for i, line in enumerate(lines):
        if _QUOTED.match(line):
            continue
        if _SIGNATURE_DELIMITER.match(line) or _ORIGINAL_MESSAGE.match(line):
            return i
        if len(line) > MAX_HEADER_LINE:
            continue
        if _FROM_FIELD.match(line) and any(_OTHER_FIELD.match(nxt) for nxt in lines[i + 1 : i + 4]):
            return i
        end = _wrote_header_end(lines, i)
        if end is not None and not _quote_follows(lines, end):
            # A header over an unquoted copy (some clients quote without ">"): the rest is all history.
            return i
    return len(lines)


def _wrote_header_end(lines: list[str], i: int) -> int | None:
    """If an "On ... wrote:" header starts at line i (on up to three lines), the index after its last line."""
    line = lines[i]
    if _WROTE_HEADER.match(line) or _WROTE_TAIL.match(line):
        return i + 1
    if not _HEADER_START.match(line):
        return None
    joined = line
    for j in range(i + 1, min(i + 3, len(lines))):
        if not lines[j] or len(lines[j]) > MAX_HEADER_LINE:
            return None
        joined += " " + lines[j].strip()
        if _WROTE_HEADER.match(joined):
            return j + 1
    return None


def _quote_follows(lines: list[str], start: int) -> bool:
    for line in lines[start:]:
        if line.strip():
            return bool(_QUOTED.match(line))
    return True  # a header with nothing after it introduces nothing worth keeping


def _without_quotes(lines: list[str]) -> list[str | None]:
    kept: list[str | None] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        end = None if _QUOTED.match(line) or len(line) > MAX_HEADER_LINE else _wrote_header_end(lines, i)
        if end is not None:
            kept.extend([_REMOVED] * (end - i))
            i = end
            continue
        kept.append(_REMOVED if _QUOTED.match(line) else line)
        i += 1
    return kept


def _closed_up(kept: list[str | None]) -> list[str]:
    """Each run of blank and removed lines that held a removed one becomes one blank line (none if it held
    no blank line: the quote sat inside a paragraph); runs of blank lines alone stay as written."""
    out: list[str] = []
    blanks, removed = 0, False
    for line in kept:
        if line is _REMOVED:
            removed = True
        elif not line:
            blanks += 1
        else:
            if out:  # leading blank and removed lines are dropped
                out.extend([""] * (min(blanks, 1) if removed else blanks))
            out.append(line)
            blanks, removed = 0, False
    return out


def _without_signature(lines: list[str]) -> list[str]:
    def trim() -> None:
        while lines and (not lines[-1].strip() or _SEPARATOR.match(lines[-1])):
            lines.pop()

    trim()
    if lines and _SENT_FROM.match(lines[-1]):
        lines.pop()
        trim()
    if lines and _SIGN_OFF.match(lines[-1]) and len(lines) > 1 and not lines[-2].strip():
        lines.pop()
        trim()
    return lines


# --- Bodies of parsed messages -------------------------------------------------------------------------


def message_text(msg: Message) -> str:
    """The message's body as text: its first text/plain part that is not an attachment, else its first
    text/html part converted to text ("" when it has neither). Parts of attached messages are not read."""
    html = None
    for part in iter_parts(msg):
        ctype = part.get_content_type()
        if ctype not in ("text/plain", "text/html") or _is_attachment(part):
            continue
        if ctype == "text/plain":
            return part_text(part)
        if html is None:
            html = part
    return html_to_text(part_text(html)) if html is not None else ""


def message_visible_text(msg: Message) -> str:
    """The reply a person wrote in a parsed message: `visible_text` of `message_text`."""
    return visible_text(message_text(msg))


def iter_parts(msg: Message, limit: int = MAX_PARTS) -> Iterator[Message]:
    """The message and its parts, depth first, without entering attached messages (message/rfc822), at
    most `limit` of them: an iteration, so a deeply nested message cannot exhaust the stack."""
    stack = [msg]
    seen = 0
    while stack and seen < limit:
        part = stack.pop()
        seen += 1
        yield part
        if part.get_content_maintype() == "multipart":
            payload = part.get_payload()
            if isinstance(payload, list):
                stack.extend(reversed([p for p in payload if isinstance(p, Message)]))


def _is_attachment(part: Message) -> bool:
    try:
        return part.get_content_disposition() == "attachment"
    except Exception:  # a malformed Content-Disposition: read it as inline
        return False


# Names mail clients put in charset= that Python's codecs do not know, or know by a narrower table.
_CHARSET_ALIASES = {
    "ks_c_5601-1987": "cp949",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "iso-8859-8-i": "iso-8859-8",
    "x-sjis": "shift_jis",
    "unicode-1-1-utf-7": "utf-7",
}


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Bytes as text in their declared charset; an unknown or wrong charset falls back to UTF-8, then
    Windows-1252 (what unlabelled 8-bit mail mostly is), then UTF-8 with replacement characters."""
    for name in (charset, "utf-8", "cp1252"):
        if not name:
            continue
        name = _CHARSET_ALIASES.get(name.strip().lower(), name.strip())
        try:
            codecs.lookup(name)
            return data.decode(name)
        except (LookupError, UnicodeDecodeError, ValueError):
            continue
    return data.decode("utf-8", errors="replace")


def part_text(part: Message) -> str:
    """A non-multipart part's content as text, its transfer encoding undone; never raises."""
    try:
        data = part.get_payload(decode=True)
    except Exception:  # broken base64 or quoted-printable beyond what the email package repairs
        data = None
    if isinstance(data, bytes):
        try:
            charset = part.get_content_charset()
        except Exception:
            charset = None
        return decode_bytes(data, charset)
    payload = part.get_payload()
    return payload if isinstance(payload, str) else ""


# --- HTML ----------------------------------------------------------------------------------------------

_BLOCK = {
    "address", "article", "aside", "blockquote", "dd", "div", "dl", "dt", "fieldset", "figcaption", "figure",
    "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p",
    "pre", "section", "table", "tr", "ul",
}  # fmt: skip
_SKIP = {"head", "script", "style", "template", "title"}


class _TextWriter(HTMLParser):
    """HTML to plain text: blocks on their own lines, blockquotes as "> " lines (so quotes read as quotes)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.current: list[str] = []
        self.depth = 0  # blockquote nesting
        self.skipping = 0
        self.pre = 0

    def _break(self) -> None:
        text = "".join(self.current)
        self.current = []
        if not self.pre:
            text = re.sub(r"[ \t\f\v\xa0]+", " ", text).strip()
        for line in text.split("\n"):
            self.lines.append("> " * self.depth + line)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skipping += 1
        elif tag == "br":
            self._break()
        elif tag in ("td", "th"):
            self.current.append(" ")
        elif tag in _BLOCK:
            if self.current:
                self._break()
            self.pre += tag == "pre"
            self.depth += tag == "blockquote"
            if tag == "hr":
                self.lines.append("> " * self.depth + "----------")
            elif tag == "li":
                self.current.append("- ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _BLOCK:
            if self.current:
                self._break()
            if tag == "pre":
                self.pre = max(0, self.pre - 1)
            elif tag == "blockquote":
                self.depth = max(0, self.depth - 1)
            if tag in ("p", "blockquote", "table", "ul", "ol"):
                self.lines.append("")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.current.append(data if self.pre else data.replace("\n", " "))

    def text(self) -> str:
        if self.current:
            self._break()
        out: list[str] = []
        for line in self.lines:
            line = line.rstrip()
            if line.strip(" >") or (out and out[-1].strip(" >")):  # one blank line at most between blocks
                out.append(line)
        return "\n".join(out).strip("\n")


def html_to_text(html: str) -> str:
    """HTML as the plain text a mail client would show; never raises."""
    writer = _TextWriter()
    try:
        writer.feed(html[:MAX_CHARS])
        writer.close()
    except Exception:  # HTMLParser is lenient; this guards what it still cannot take
        pass
    return writer.text()
