"""The lead list: filters, sorts and keyset (cursor) pagination that stays fast over millions of leads."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, func, literal, select, tuple_
from sqlalchemy.dialects.postgresql import REGCONFIG
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from leadflood_platform.errors import InvalidArgument
from leads.models import Lead

SORTS = {"created_at": Lead.created_at, "score": Lead.score, "last_name": Lead.last_name}
# A page's leads are read as plain rows, not ORM objects: the session's identity map and instance
# state were a third of the service's time for a page of 50. The search document is left behind.
LISTED = tuple(column for column in Lead.__table__.columns if column.name != "search_document")
STATUSES = ("new", "processing", "enriched", "failed")
MAX_PAGE = 500
# A list's total is counted up to this many leads, then said as "10,000+": a million-lead org's first
# page stays as fast as a small one's, and nobody reads a larger number off a table header.
MAX_TOTAL = 10_000
MAX_LEAD_IDS = 500
MAX_SEARCH_WORDS = 8
WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class LeadFilter:
    icp_id: uuid.UUID | None = None
    search_run_id: uuid.UUID | None = None
    status: str | None = None
    min_score: int | None = None
    max_score: int | None = None
    has_email: bool | None = None
    query: str = ""
    # "hidden" (default: qualified leads only), "only", or "all".
    filtered: str = "hidden"
    # Only these leads (a selection), when given.
    lead_ids: tuple[uuid.UUID, ...] = ()


def search_words(query: str) -> list[str]:
    """The words of a search, split like the lead's search document splits names and addresses.

    Letters and digits only, so nothing in a query can be read as tsquery syntax.
    """
    words = WORD.findall(query.lower())
    if len(words) > MAX_SEARCH_WORDS:
        raise InvalidArgument.on("query", f"use at most {MAX_SEARCH_WORDS} words")
    return words


def _parse_sort(sort: str) -> tuple[str, bool]:
    name, descending = (sort[1:], True) if sort.startswith("-") else (sort, False)
    if not sort:
        return "created_at", True
    if name not in SORTS:
        raise InvalidArgument.on("sort", f"unknown sort {sort!r}; use one of {', '.join(SORTS)} (prefix - to reverse)")
    return name, descending


# What a cursor's value must be for each sort: read from JSON, so a score is an int and a name a str.
_CURSOR_TYPES: dict[str, type] = {"created_at": str, "score": int, "last_name": str}


def encode_cursor(sort: str, value: Any, lead_id: uuid.UUID) -> str:
    """The position after the lead whose `sort` column (e.g. "-created_at") holds `value`."""
    raw = value.isoformat() if isinstance(value, dt.datetime) else value
    return base64.urlsafe_b64encode(json.dumps([sort, raw, str(lead_id)]).encode()).decode()


def _decode(cursor: str, sort: str, name: str) -> tuple[Any, uuid.UUID]:
    """The cursor's position; refused unless this list, in this sort and direction, returned it.

    A cursor of another sort would compare, say, a name with the score column: an error deep in
    PostgreSQL rather than a clear one here.
    """
    try:
        made_for, raw, lead_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        if made_for != sort:
            raise InvalidArgument.on("cursor", "was returned for another sort: start again without a cursor")
        if type(raw) is not _CURSOR_TYPES[name]:  # `type is`: a JSON true is not a score
            raise ValueError(raw)
        value = dt.datetime.fromisoformat(raw) if name == "created_at" else raw
        return value, uuid.UUID(lead_id)
    except (ValueError, TypeError):
        raise InvalidArgument.on("cursor", "is not a cursor this list returned") from None


def _conditions(org_id: uuid.UUID, f: LeadFilter) -> list[Any]:
    where = [Lead.org_id == org_id]
    if f.icp_id:
        where.append(Lead.icp_id == f.icp_id)
    if f.search_run_id:
        where.append(Lead.search_run_id == f.search_run_id)
    if len(f.lead_ids) > MAX_LEAD_IDS:
        raise InvalidArgument.on("lead_ids", f"name at most {MAX_LEAD_IDS} leads")
    if f.lead_ids:
        where.append(Lead.id.in_(f.lead_ids))
    if f.status:
        if f.status not in STATUSES:
            raise InvalidArgument.on("status", f"unknown status {f.status!r}")
        where.append(Lead.status == f.status)
    if f.min_score is not None and f.max_score is not None and f.min_score > f.max_score:
        raise InvalidArgument.on("min_score", "must not be greater than max_score")
    if f.min_score is not None:
        where.append(Lead.score >= f.min_score)
    if f.max_score is not None:
        where.append(Lead.score <= f.max_score)
    if f.has_email is not None:
        where.append(Lead.email.is_not(None) if f.has_email else Lead.email.is_(None))
    if words := search_words(f.query):
        # Every word of the query starts a word of the lead (GIN index on search_document).
        query = " & ".join(f"{word}:*" for word in words)
        where.append(Lead.search_document.op("@@")(func.to_tsquery(literal("simple", REGCONFIG), query)))
    if f.filtered == "hidden":
        where.append(Lead.filtered.is_(False))
    elif f.filtered == "only":
        where.append(Lead.filtered.is_(True))
    elif f.filtered != "all":
        raise InvalidArgument.on("filtered", "must be hidden, only or all")
    return where


async def page(
    *,
    reader: AsyncSession | AsyncConnection,
    org_id: uuid.UUID,
    filters: LeadFilter,
    sort: str,
    size: int,
    cursor: str,
) -> tuple[Sequence[Row[Any]], str]:
    """One page of leads and the cursor of the next ('' at the end), in one statement."""
    if not 1 <= size <= MAX_PAGE:
        raise InvalidArgument.on("page_size", f"must be between 1 and {MAX_PAGE}")
    name, descending = _parse_sort(sort)
    column, spec = SORTS[name], ("-" if descending else "") + name
    where = _conditions(org_id, filters)
    if cursor:
        value, after = _decode(cursor, spec, name)
        # A row comparison, so the (org_id, column, id) index seeks straight to the cursor.
        key, bound = tuple_(column, Lead.id), tuple_(literal(value, column.type), literal(after, Lead.id.type))
        where.append(key < bound if descending else key > bound)
    order = (column.desc(), Lead.id.desc()) if descending else (column.asc(), Lead.id.asc())
    rows = (await reader.execute(select(*LISTED).where(*where).order_by(*order).limit(size + 1))).all()
    if len(rows) <= size:
        return rows, ""
    last = rows[size - 1]
    return rows[:size], encode_cursor(spec, getattr(last, name), last.id)


async def total(
    *, reader: AsyncSession | AsyncConnection, org_id: uuid.UUID, filters: LeadFilter, cap: int = MAX_TOTAL
) -> tuple[int, bool]:
    """How many leads match, counted up to `cap`, and whether there are more than that.

    The count reads at most cap + 1 matching rows (a LIMIT inside the count), so it costs the same for
    an org of a million leads as for one of ten thousand.
    """
    matching = select(literal(1)).select_from(Lead).where(*_conditions(org_id, filters)).limit(cap + 1).subquery()
    counted = (await reader.execute(select(func.count()).select_from(matching))).scalar_one()
    return min(counted, cap), counted > cap
