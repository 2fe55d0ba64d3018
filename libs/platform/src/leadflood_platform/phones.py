"""Phone numbers in E.164 form (+, the country code and the number): one rule for a lead's number, a text's
recipient and a suppressed number, so a number accepted in one place is never refused in another."""

from __future__ import annotations

import re

from leadflood_platform.errors import NO_NUL, InvalidArgument, quoted

# What people write between digits: "+1 (415) 555-0123", "+44 20 7946 0958", "+49.30.1234567", "+49 30/1234567".
SEPARATORS = re.compile(r"[\s\-.()/]")
# ITU-T E.164: at most 15 digits, the first (the country code's) never 0; eight is the shortest in use.
_E164 = re.compile(r"\+[1-9][0-9]{7,14}")
# Longer than any number written with separators: what is past it is not read (nor repeated in the error).
MAX_GIVEN = 40


def normalised(value: str, *, field: str) -> str:
    """The number in E.164 form: separators removed, and a leading 00 (the international call prefix in most
    countries: "0044 20 7946 0958" is +442079460958) read as +.

    INVALID_ARGUMENT naming `field` for anything else, an empty value included: a local number without its
    country code is refused rather than guessed at, since the same digits reach different people in different
    countries. Syntax only: whether the number exists is the carrier's answer.
    """
    given = value.strip()
    if "\x00" in given:
        raise InvalidArgument.on(field, NO_NUL)
    compact = SEPARATORS.sub("", given[:MAX_GIVEN])
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    if len(given) > MAX_GIVEN or not _E164.fullmatch(compact):
        raise InvalidArgument.on(
            field,
            f"{quoted(given, MAX_GIVEN)} is not a phone number in international form: +, the country code and the "
            "number, 8 to 15 digits (for example +14155550123)",
        )
    return compact


def is_e164(value: str) -> bool:
    """Whether `value` is already a number in E.164 form, as `normalised` writes one."""
    return _E164.fullmatch(value) is not None
