"""What an enrichment found for a lead's own fields: which value holds, and the values to apply.

A provider names its fields its own way (camelCase, a size as "51-200", a title as `position`); this
is the one place that reads them as the lead's fields. Pure: no database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from leadflood_platform.errors import FailedPrecondition, InvalidArgument

# The lead's field -> the enrichment's name for it, in the order a user reads them.
FROM_PROVIDER = {
    "company_name": "companyName",
    "title": "position",
    "seniority": "seniority",
    "industry": "industry",
    "company_size": "companySize",
    "company_domain": "companyDomain",
    "location": "location",
    "linkedin_url": "linkedinUrl",
}
# Fields whose values are compared without regard to case (a domain, a seniority code, an industry's spelling).
_CASELESS = frozenset({"seniority", "industry", "company_domain", "location", "company_name", "title"})
_SIZE = re.compile(r"^\s*(\d{1,9})\s*(?:[-–]\s*(\d{1,9})\s*)?$")
MAX_TEXT = 200

SAME, OFFERED, EDITED = "same", "offered", "edited"


@dataclass(frozen=True)
class ProviderValue:
    field: str
    value: str  # as the lead would hold it: a seniority's code, a size as "250" or "51-200"
    state: str  # SAME, OFFERED or EDITED


def size_range(value: Any) -> tuple[int, int | None] | None:
    """A provider's company size as (low, high), high None for a headcount; None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float) and value > 0:
        return int(value), None
    match = _SIZE.match(str(value)) if isinstance(value, str) else None
    if match is None or int(match[1]) <= 0:
        return None
    low, high = int(match[1]), int(match[2]) if match[2] else None
    if high is not None and high < low:
        return None
    return low, None if high == low else high


def _text(value: Any) -> str | None:
    """A provider's text value, trimmed; None when empty, not text, or too long to be a field's."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    return text if text and len(text) <= MAX_TEXT and "\x00" not in text else None


def offered(enrichment: dict[str, Any] | None) -> dict[str, Any]:
    """The lead's field -> the provider's value as the lead would hold it (a size as (low, high))."""
    values: dict[str, Any] = {}
    for field, name in FROM_PROVIDER.items():
        raw = (enrichment or {}).get(name)
        value = size_range(raw) if field == "company_size" else _text(raw)
        if value is not None:
            values[field] = value
    return values


def _shown(field: str, value: Any) -> str:
    if field == "company_size":
        low, high = value
        return f"{low}-{high}" if high else str(low)
    return str(value)


def _agrees(field: str, lead: Any, value: Any) -> bool:
    if field == "company_size":
        low, high = value
        if lead.company_size is None:
            return False
        if lead.company_size_max is not None:  # the lead holds a range: the same one
            return (lead.company_size, lead.company_size_max) == (low, high)
        return low <= lead.company_size <= (high or low)  # a headcount inside the provider's range agrees
    own = str(getattr(lead, field) or "").strip()
    if field == "linkedin_url":
        return own.rstrip("/") == str(value).rstrip("/")
    return own.lower() == str(value).lower() if field in _CASELESS else own == value


def compare(lead: Any) -> list[ProviderValue]:
    """Each field the last enrichment gave a value for, and which value holds."""
    edited = set(lead.edited_fields or ())
    out = []
    for field, value in offered(lead.enrichment).items():
        if _agrees(field, lead, value):
            state = SAME
        else:
            state = EDITED if field in edited else OFFERED
        out.append(ProviderValue(field, _shown(field, value), state))
    return out


@dataclass(frozen=True)
class Applying:
    values: dict[str, Any]  # column -> value, ready to set on the lead
    applied: list[str]  # the lead's fields that change
    kept: list[str]  # fields left as the user edited them


def to_apply(lead: Any, fields: list[str]) -> Applying:
    """What applying the enrichment (every field offered, or those named) sets on the lead.

    A hand edit always holds: named, it is FailedPrecondition; with every field, it is kept and said.
    """
    unknown = [name for name in fields if name not in FROM_PROVIDER]
    if unknown:
        raise InvalidArgument.on("fields", f"{', '.join(unknown)} cannot be applied: use {', '.join(FROM_PROVIDER)}")
    if not lead.enrichment:
        raise FailedPrecondition("the lead has not been enriched: there is nothing to apply")
    by_field = {value.field: value for value in compare(lead)}
    values = offered(lead.enrichment)
    chosen = list(dict.fromkeys(fields)) or list(by_field)
    applying = Applying({}, [], [])
    for field in chosen:
        found = by_field.get(field)
        if found is None:
            raise FailedPrecondition(f"the enrichment has no {field.replace('_', ' ')} to apply")
        if found.state == EDITED:
            if fields:
                raise FailedPrecondition(
                    f"{field.replace('_', ' ')} was edited by hand, and a hand edit is never applied over"
                )
            applying.kept.append(field)
            continue
        if found.state == SAME:
            continue
        if field == "company_size":
            applying.values["company_size"], applying.values["company_size_max"] = values[field]
        else:
            applying.values[field] = values[field]
        applying.applied.append(field)
    return applying
