"""A CSV upload read as it streams in: records with their line numbers, quoted newlines included.

The csv module parses; this module only cuts the byte stream into whole records: a line ends its
record unless a quoted field is still open at its end. A quote opens a field only at the field's
start, and inside one a doubled quote is a quote (RFC 4180); a quote anywhere else is a character,
as the csv module and spreadsheets read it (`5" display`, `O"Brien`), so it cannot swallow the lines
after it. A record that never closes its quote (past MAX_RECORD_CHARS) is reported on its first line
and skipped, and reading starts again after it.
"""

from __future__ import annotations

import csv
import re
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass

MAX_RECORD_CHARS = 64 * 1024
DELIMITERS = (",", ";", "\t")  # spreadsheets in many locales save "CSV" with semicolons


@dataclass(frozen=True)
class Record:
    line: int  # the physical line the record starts on, 1-based
    values: list[str]
    error: str = ""  # set when the record could not be read


async def _lines(chunks: AsyncIterable[bytes]) -> AsyncIterator[str]:
    """Decoded lines as the bytes arrive; a UTF-8 byte-order mark is dropped, bad bytes replaced."""
    pending, first = b"", True
    async for chunk in chunks:
        pending += chunk
        *complete, pending = pending.split(b"\n")
        for raw in complete:
            yield raw.decode("utf-8-sig" if first else "utf-8", errors="replace").removesuffix("\r")
            first = False
    if pending.strip():
        yield pending.decode("utf-8-sig" if first else "utf-8", errors="replace").removesuffix("\r")


def delimiter_of(header: str) -> str:
    """The delimiter the header line uses most (a comma when it uses none)."""
    return max(DELIMITERS, key=header.count) if any(d in header for d in DELIMITERS) else ","


def ends_quoted(line: str, delimiter: str, quoted: bool) -> bool:
    """Whether a quoted field is open at the end of `line`, given whether one was open at its start."""
    at = 0
    while (at := line.find('"', at)) >= 0:
        if quoted:
            if line.startswith('""', at):  # a doubled quote: one quote character, the field goes on
                at += 2
                continue
            quoted = False
        elif at == 0 or line[at - 1] == delimiter:  # at a field's start (a line outside quotes starts a record)
            quoted = True
        at += 1  # a quote inside an unquoted field is just a character
    return quoted


async def records(chunks: AsyncIterable[bytes]) -> AsyncIterator[Record]:
    """Every record, the header first, with the line it starts on; blank lines are skipped."""
    delimiter: str | None = None
    parts: list[str] = []
    start = number = 0
    quoted = False
    async for line in _lines(chunks):
        number += 1
        if not parts:
            if not line.strip():
                continue
            start = number
        delimiter = delimiter or delimiter_of(line)  # the header's first line
        parts.append(line)
        quoted = ends_quoted(line, delimiter, quoted)
        if quoted:  # the record goes on to the next line
            if sum(map(len, parts)) > MAX_RECORD_CHARS:
                yield Record(start, [], f"a quoted field opened on line {start} is not closed")
                parts, quoted = [], False
            continue
        text = "\n".join(parts)
        parts = []
        try:
            yield Record(start, next(csv.reader([text], delimiter=delimiter), []))
        except csv.Error as exc:  # not expected of whole records; reported on the line rather than failing the upload
            yield Record(start, [], f"cannot be read as CSV: {exc}")
    if parts:
        yield Record(start, [], f"a quoted field opened on line {start} is not closed")


# Header names as people write them ("First Name", "first_name", "Email Address") -> our columns.
_HEADER_NAMES = {
    "email": "email",
    "emailaddress": "email",
    "firstname": "firstName",
    "lastname": "lastName",
    "companyname": "companyName",
    "company": "companyName",
    "title": "title",
    "jobtitle": "title",
    "phone": "phone",
    "phonenumber": "phone",
    "mobile": "phone",
    "mobilephone": "phone",
}


def column_names(header: list[str]) -> list[str]:
    """Each header cell as our column name, or "" for a column we do not import."""
    return [_HEADER_NAMES.get(re.sub(r"[^a-z0-9]", "", cell.lower()), "") for cell in header]


# A cell a spreadsheet would read as a formula (or whose formula a leading tab or CR hides): OWASP's CSV
# injection rule. `=HYPERLINK(...)` imported as a lead's title stayed a live link in the exported file.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralised(value: object) -> object:
    """An exported cell, text a spreadsheet shows as typed: one starting like a formula gets a single quote
    before it (the stored value is never changed; only the file is)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def as_typed(value: str) -> str:
    """An imported cell as the person meant it: the quote `neutralised` put before a formula-like cell (a
    spreadsheet's own text marker too) is dropped, so an exported file imports back unchanged."""
    if value.startswith("'") and value[1:].startswith(FORMULA_STARTS):
        return value[1:]
    return value
