"""A lead's phone number, kept in E.164 form (+, the country code and the number) for the SMS steps that text it."""

from __future__ import annotations

import re

from leadflood_platform.errors import NO_NUL, InvalidArgument

# What people write between digits: "+1 (415) 555-0123", "+44 20 7946 0958", "+49.30.1234567".
_SEPARATORS = re.compile(r"[\s\-.()/]")
# ITU-T E.164: at most 15 digits, the first (the country code's) never 0; eight is the shortest in use.
# The mail room checks sends against the same rule (inbox.sms.normalize_phone).
_E164 = re.compile(r"\+[1-9][0-9]{7,14}")
MAX_GIVEN = 40


def normalised(value: str, field: str = "phone") -> str:
    """The number in E.164 form, separators removed and a leading 00 read as +; "" for none.

    INVALID_ARGUMENT naming `field` for anything else: a local number without its country code is refused
    rather than guessed at, since the same digits reach different people in different countries.
    """
    given = value.strip()
    if not given:
        return ""
    if "\x00" in given:
        raise InvalidArgument.on(field, NO_NUL)
    compact = _SEPARATORS.sub("", given[:MAX_GIVEN])
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    if len(given) > MAX_GIVEN or not _E164.fullmatch(compact):
        shown = given[:MAX_GIVEN] + ("…" if len(given) > MAX_GIVEN else "")
        raise InvalidArgument.on(
            field,
            f"{shown!r} is not a phone number in international form: +, the country code and the number, "
            "8 to 15 digits (for example +14155550123)",
        )
    return compact
