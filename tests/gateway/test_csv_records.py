"""The CSV upload reader: whole records with their first line, whatever the chunks' boundaries."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from gateway import csv_records
from gateway.csv_records import Record, column_names, records


async def _chunks(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def _read(text: str | bytes, size: int = 7) -> list[Record]:
    data = text.encode() if isinstance(text, str) else text
    return [record async for record in records(_chunks(data, size))]


@pytest.mark.parametrize("size", [1, 3, 7, 4096])  # chunks ending mid-line, mid-quote, mid-character
async def test_a_quoted_field_may_span_lines_and_rows_keep_their_first_line(size: int) -> None:
    text = 'email,title\r\na@x.io,"VP\r\n""Sales""\nEurope"\n\nb@x.io,Zoë\n'
    assert await _read(text, size) == [
        Record(1, ["email", "title"]),
        Record(2, ["a@x.io", 'VP\n"Sales"\nEurope']),
        Record(6, ["b@x.io", "Zoë"]),
    ]


async def test_the_header_sets_the_delimiter_and_a_byte_order_mark_is_dropped() -> None:
    text = "\ufeffemail;firstName;lastName\na@x.io;Ada;Love, Lace\n"
    assert [r.values for r in await _read(text)] == [
        ["email", "firstName", "lastName"],
        ["a@x.io", "Ada", "Love, Lace"],
    ]
    assert [r.values for r in await _read("email\tfirstName\nb@x.io\tBo\n")][1] == ["b@x.io", "Bo"]


async def test_a_quote_left_open_at_the_end_is_an_error_on_its_line() -> None:
    found = await _read('email,title\na@x.io,ok\nb@x.io,"never closed\nc@x.io,x\n')
    assert found[1] == Record(2, ["a@x.io", "ok"])
    assert found[2] == Record(3, [], "a quoted field opened on line 3 is not closed")
    assert len(found) == 3


async def test_a_quote_left_open_past_the_limit_is_skipped_and_reading_goes_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(csv_records, "MAX_RECORD_CHARS", 30)
    lines = ["email,title", 'a@x.io,"open', *["filler line"] * 5, "b@x.io,fine"]
    found = await _read("\n".join(lines) + "\n")
    assert found[1].line == 2 and found[1].error.startswith("a quoted field opened on line 2")
    assert found[-1] == Record(8, ["b@x.io", "fine"])


async def test_a_quote_inside_an_unquoted_field_is_a_character_and_swallows_no_lines() -> None:
    # Before, the odd quote on line 2 held the record open until the next odd quote, and lines 2-4 came
    # back as one unreadable record: two leads lost behind one error.
    found = await _read('email,name\na@x.io,O"Brien\nc@x.io,Cy\nb@x.io,5" display\nd@x.io,"Quoted, ""too"""\n')
    assert found[1:] == [
        Record(2, ["a@x.io", 'O"Brien']),
        Record(3, ["c@x.io", "Cy"]),
        Record(4, ["b@x.io", '5" display']),
        Record(5, ["d@x.io", 'Quoted, "too"']),
    ]


@pytest.mark.parametrize(
    ("line", "quoted_before", "quoted_after"),
    [
        ('a,"open', False, True),
        ('a,"closed",b', False, False),
        ('a,"doubled "" inside', False, True),
        ('a,"ends with a doubled quote""', False, True),
        ('a,b"c', False, False),
        ('a, "after a space"', False, False),  # the csv module reads that quote as a character too
        ('still inside" ,b', True, False),
        ('still "" inside', True, True),
        ('"a"x"b', False, False),
        ("no quotes at all", True, True),
    ],
)
def test_which_quotes_open_a_field(line: str, quoted_before: bool, quoted_after: bool) -> None:
    assert csv_records.ends_quoted(line, ",", quoted_before) is quoted_after


def test_header_names_are_matched_as_people_write_them() -> None:
    header = ["Email Address", "First Name", "last_name", "Company", "Job Title", "Shoe size"]
    assert column_names(header) == ["email", "firstName", "lastName", "companyName", "title", ""]
