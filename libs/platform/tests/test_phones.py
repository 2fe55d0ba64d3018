"""One rule for phone numbers (a lead's, a text's recipient, a suppressed number): any common writing of an
international number is kept in E.164, a leading 00 read as the international prefix; anything else is refused
naming the field."""

from __future__ import annotations

import pytest

from leadflood_platform.errors import NO_NUL, InvalidArgument
from leadflood_platform.phones import is_e164, normalised


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("+14155550123", "+14155550123"),
        (" +1 (415) 555-0123 ", "+14155550123"),
        ("+44 7700.900.123", "+447700900123"),
        ("+49.30.123/4567", "+49301234567"),  # a slash between the area code and the number, as Germans write it
        ("0044 20 7946 0958", "+442079460958"),  # 00: the international prefix, not a trunk 0
        ("0049 30 1234567", "+49301234567"),
        ("+12345678", "+12345678"),  # E.164's shortest and longest
        ("+123456789012345", "+123456789012345"),
    ],
)
def test_a_number_in_any_common_writing_is_kept_in_e164(given: str, kept: str) -> None:
    assert normalised(given, field="phone") == kept
    assert is_e164(kept)


@pytest.mark.parametrize(
    "given",
    ["", "   ", "4155550123", "415 555 0123", "020 7946 0958", "+0 415 555 0123", "000 44 20 7946 0958", "+1234567",
     "+1234567890123456", "+1 415 555 O123", "++14155550123", "+1 415 555 0123 ext 5", "+١٤١٥٥٥٥٠١٢٣",
     "whatsapp:+14155550123", "00", "+1 415" + " 5" * 40],
)  # fmt: skip
def test_anything_else_is_refused_naming_the_field(given: str) -> None:
    with pytest.raises(InvalidArgument, match="is not a phone number in international form") as refused:
        normalised(given, field="to.phone")
    assert [v.field for v in refused.value.violations] == ["to.phone"]
    assert len(refused.value.message) < 200, "a long value is cut short in the message"


def test_a_nul_character_is_refused_as_such() -> None:
    with pytest.raises(InvalidArgument, match=NO_NUL):
        normalised("+1415\x005550123", field="phone")
