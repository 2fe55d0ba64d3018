"""A column of a thousand values passed to PostgreSQL as one text parameter, split again in SQL.

asyncpg encodes a list parameter element by element, with abstract-base-class checks on each: for a
page of sourced people (17 columns of 1,000) that cost ~10 ms of CPU per page, more than PostgreSQL
spends splitting the same values out of one joined string (~1 ms, measured). The separator is a
control character no name, address or id contains; a value that does contain it loses it, as
does a value holding NUL, which PostgreSQL text cannot store.

Every value is followed by the separator, and the SQL drops the empty piece after the last one:
PostgreSQL splits an empty string into no elements at all, so a lone "" joined without a terminator
would come back as an empty array, not as one empty value.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

SEPARATOR = "\x1f"  # ASCII unit separator


def joined(values: Sequence[Any], *, nullable: bool = False) -> str:
    """The values (at least one) as one string for `split_sql`; with `nullable`, None (and "") becomes SQL NULL."""
    if not values:
        raise ValueError("no values to join: an empty column splits to one empty value")
    if nullable:
        texts = ["" if value is None else str(value) for value in values]
    elif values and not isinstance(values[0], str):
        texts = [str(value) for value in values]
    else:
        texts = list(values)
    text = SEPARATOR.join(texts) + SEPARATOR
    if text.count(SEPARATOR) != len(texts):  # a value held the separator itself
        text = SEPARATOR.join(value.replace(SEPARATOR, "") for value in texts) + SEPARATOR
    # PostgreSQL text cannot hold NUL: a stray one in a provider's record or a CSV cell is dropped,
    # rather than failing the whole page (one scan of the joined column).
    return text.replace("\x00", "") if "\x00" in text else text


def split_sql(param: str, sql_type: str, *, nullable: bool = False) -> str:
    """SQL for the array a `joined` parameter (its placeholder, e.g. `$5`) holds, as `sql_type[]`."""
    null = ", ''" if nullable else ""
    return f"CAST(trim_array(string_to_array(CAST({param} AS text), E'\\x1f'{null}), 1) AS {sql_type}[])"
