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

import asyncpg

from leadflood_platform import totals
from leadflood_platform.errors import InvalidArgument
from leads.models import Lead

SORTS = ("created_at", "score", "last_name")
# A page's leads are read as plain rows, not ORM objects: the session's identity map and instance
# state were a third of the service's time for a page of 50. The search document is left behind.
LISTED = tuple(column.name for column in Lead.__table__.columns if column.name != "search_document")
_COLUMNS = ", ".join(LISTED)
# What a cursor's value is compared as: its parameter's type, as PostgreSQL cannot infer it in a row comparison.
_CURSOR_CASTS = {"created_at": "::timestamptz", "score": "::integer", "last_name": "::text"}
STATUSES = ("new", "processing", "enriched", "failed")
MAX_PAGE = 500
MAX_TOTAL = totals.MAX_TOTAL  # counted up to this many leads, then said as "10,000+"
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
    # Created in [created_from, created_before), either bound open when None: a day of the dashboard's chart, in
    # the reader's time zone (its midnights, as GetLeadStats counts the day).
    created_from: dt.datetime | None = None
    created_before: dt.datetime | None = None


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


class _Statement:
    """A statement's SQL text being written, with its parameters numbered as asyncpg takes them ($1, $2...)."""

    def __init__(self) -> None:
        self.params: list[Any] = []

    def param(self, value: Any, cast: str = "") -> str:
        self.params.append(value)
        return f"${len(self.params)}{cast}"


def _conditions(statement: _Statement, org_id: uuid.UUID, f: LeadFilter) -> list[str]:
    """The filter as SQL conditions on leads.leads; every value a parameter."""
    where = [f"org_id = {statement.param(org_id)}"]
    if f.icp_id:
        where.append(f"icp_id = {statement.param(f.icp_id)}")
    if f.search_run_id:
        where.append(f"search_run_id = {statement.param(f.search_run_id)}")
    if len(f.lead_ids) > MAX_LEAD_IDS:
        raise InvalidArgument.on("lead_ids", f"name at most {MAX_LEAD_IDS} leads")
    if f.lead_ids:
        where.append(f"id = ANY({statement.param(list(f.lead_ids), '::uuid[]')})")
    if f.status:
        if f.status not in STATUSES:
            raise InvalidArgument.on("status", f"unknown status {f.status!r}")
        where.append(f"status = {statement.param(f.status)}")
    if f.min_score is not None and f.max_score is not None and f.min_score > f.max_score:
        raise InvalidArgument.on("min_score", "must not be greater than max_score")
    if f.min_score is not None:
        where.append(f"score >= {statement.param(f.min_score)}")
    if f.max_score is not None:
        where.append(f"score <= {statement.param(f.max_score)}")
    if f.has_email is not None:
        where.append("email IS NOT NULL" if f.has_email else "email IS NULL")
    if f.created_from and f.created_before and f.created_from >= f.created_before:
        raise InvalidArgument.on("created_from", "must be before created_before")
    if f.created_from:
        where.append(f"created_at >= {statement.param(f.created_from)}")
    if f.created_before:
        where.append(f"created_at < {statement.param(f.created_before)}")
    if words := search_words(f.query):
        # Every word of the query starts a word of the lead (GIN index on search_document).
        query = " & ".join(f"{word}:*" for word in words)
        where.append(f"search_document @@ to_tsquery('simple'::regconfig, {statement.param(query)})")
    if f.filtered == "hidden":
        where.append("NOT filtered")
    elif f.filtered == "only":
        where.append("filtered")
    elif f.filtered != "all":
        raise InvalidArgument.on("filtered", "must be hidden, only or all")
    return where


def _counted(where: list[str], cap: int) -> str:
    """How many leads match, counting at most cap + 1 (a LIMIT inside the count): the same cost for an
    org of a million leads as for one of ten thousand."""
    return f"SELECT count(*) FROM (SELECT 1 FROM leads.leads WHERE {' AND '.join(where)} LIMIT {cap + 1}) AS matching"


@dataclass(frozen=True)
class PageQuery:
    """One page's statement: its rows (LISTED's columns, then the total when counted), and how to read them."""

    sql: str
    params: list[Any]
    sort: str  # the sort as its cursor names it, e.g. "-created_at"
    size: int
    counted: bool


def page_query(
    *, org_id: uuid.UUID, filters: LeadFilter, sort: str, size: int, cursor: str, count_up_to: int | None = None
) -> PageQuery:
    """The one statement that reads a page (size + 1 rows, to know whether another follows) and, when
    `count_up_to` is given, the filter's total beside it, so the first page costs one round trip.

    Hand-written rather than built with SQLAlchemy: building, caching and running its statement, and
    reading its rows, were a fifth of the leads service's CPU for a list page (bench/gateway_load.py).
    """
    if not 1 <= size <= MAX_PAGE:
        raise InvalidArgument.on("page_size", f"must be between 1 and {MAX_PAGE}")
    name, descending = _parse_sort(sort)
    spec = ("-" if descending else "") + name
    statement = _Statement()
    where = _conditions(statement, org_id, filters)
    paged = list(where)
    if cursor:
        value, after = _decode(cursor, spec, name)
        # A row comparison, so the (org_id, column, id) index seeks straight to the cursor.
        bound = f"({statement.param(value, _CURSOR_CASTS[name])}, {statement.param(after, '::uuid')})"
        paged.append(f"({name}, id) {'<' if descending else '>'} {bound}")
    direction = "DESC" if descending else "ASC"
    # The count is an uncorrelated subquery: PostgreSQL runs it once for the statement, not per row.
    total = f", ({_counted(where, count_up_to)}) AS total" if count_up_to is not None else ""
    sql = (
        f"SELECT {_COLUMNS}{total} FROM leads.leads WHERE {' AND '.join(paged)}"
        f" ORDER BY {name} {direction}, id {direction} LIMIT {size + 1}"
    )
    return PageQuery(sql, statement.params, spec, size, count_up_to is not None)


@dataclass(frozen=True)
class Page:
    rows: Sequence[Any]  # asyncpg records of LISTED's columns
    next_cursor: str  # "" at the end
    total: int | None = None  # when counted: exact up to the cap
    total_capped: bool = False


async def page(
    *,
    driver: asyncpg.Connection,
    org_id: uuid.UUID,
    filters: LeadFilter,
    sort: str,
    size: int,
    cursor: str,
    with_total: bool = False,
    cap: int = MAX_TOTAL,
) -> Page:
    """One page of leads and the cursor of the next, with the filter's total when asked for, in one statement."""
    query = page_query(
        org_id=org_id, filters=filters, sort=sort, size=size, cursor=cursor, count_up_to=cap if with_total else None
    )
    rows = await driver.fetch(query.sql, *query.params)
    total, capped = None, False
    if query.counted:
        # No row, no total column: only the first page is counted, so an empty one means none match.
        counted = rows[0]["total"] if rows else 0
        total, capped = min(counted, cap), counted > cap
    if len(rows) <= size:
        return Page(rows, "", total, capped)
    last = rows[size - 1]
    name = query.sort.removeprefix("-")
    return Page(rows[:size], encode_cursor(query.sort, last[name], last["id"]), total, capped)
