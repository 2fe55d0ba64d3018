"""Bulk upsert of people into leads: one statement per page, de-duplicated by normalised email.

Used by search runs (a page of sourced people) and CSV imports. A hand-edited field is never
overwritten by a later run; an import counts as the user's own edit.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any, NamedTuple

import asyncpg

from leads.bulk_params import joined, split_sql
from leads.models import MERGED_FIELDS

# Deliberately simple: providers' addresses are checked for shape, not deliverability, and this
# runs for every sourced person (a full RFC 5322 parser costs more than the rest of the page).
EMAIL_SHAPE = re.compile(r"^[^@\s,;<>\"]+@[^@\s,;<>\"]+\.[^@\s,;<>\".]+$")
MAX_EMAIL = 320


def normalise_email(raw: str | None) -> str | None:
    """Trimmed and lower-cased, plus-addressing kept; None when empty or not an address."""
    email = (raw or "").strip().lower()
    return email if email and len(email) <= MAX_EMAIL and EMAIL_SHAPE.match(email) else None


class Row(NamedTuple):
    """One person to upsert; `edited` lists the fields the user supplied (imports).

    A tuple, so a page's rows turn into the statement's columns in one zip (C speed): read field by
    field, that was a sixth of the leads service's CPU during a search run.
    """

    first_name: str
    last_name: str
    email: str | None = None
    external_id: str | None = None
    company_name: str = ""
    title: str = ""
    seniority: str = ""
    industry: str = ""
    company_domain: str = ""
    company_size: int | None = None
    location: str = ""
    linkedin_url: str = ""
    score: int = 0
    explanation_id: int | None = None  # a row of score_explanations; None when not scored (imports)
    filtered: bool = False
    edited: str = ""  # comma-separated field names
    phone: str = ""  # E.164 (imports); providers give none yet

    @property
    def key(self) -> str:
        return self.email or f"external:{self.external_id}"


def _merge(name: str) -> str:
    """Take the incoming value unless it is empty or the user edited the stored one by hand."""
    return (
        f"{name} = CASE WHEN EXCLUDED.{name} <> '' AND ('{name}' = ANY(EXCLUDED.edited_fields) "
        f"OR NOT '{name}' = ANY(l.edited_fields)) THEN EXCLUDED.{name} ELSE l.{name} END"
    )


# A sourced headcount replaces the stored size (a range included) unless the user set the size by hand.
_SIZE_TAKEN = (
    "EXCLUDED.company_size IS NOT NULL AND ('company_size' = ANY(EXCLUDED.edited_fields) "
    "OR NOT 'company_size' = ANY(l.edited_fields))"
)
_COLUMNS = Row._fields
_TYPES = {"company_size": "int", "score": "int", "explanation_id": "bigint", "filtered": "bool"}
_NULLABLE = frozenset({"email", "external_id", "company_size", "explanation_id"})
# Parameters: $1 org, $2 source, $3 ICP, $4 run, then one joined text per column.
_UNNEST = ", ".join(
    split_sql(f"${n}", _TYPES.get(c, "text"), nullable=c in _NULLABLE) for n, c in enumerate(_COLUMNS, start=5)
)
# A person this run already sourced (an earlier page, or a page applied at the same moment: the
# conflict waits for that transaction) is left alone and not returned, so the caller counts it as a
# duplicate. Rows arrive sorted by key, so pages applied at once take their row locks in one order.
_UPSERT = f"""
INSERT INTO leads AS l (id, org_id, email, external_id, {", ".join(MERGED_FIELDS)}, company_size, source, status,
                        icp_id, search_run_id, score, score_explanation_id, filtered, edited_fields)
SELECT gen_random_uuid(), $1, t.email, t.external_id, {", ".join(f"t.{c}" for c in MERGED_FIELDS)},
       t.company_size, $2, 'new', $3, $4, t.score, t.explanation_id, t.filtered,
       string_to_array(t.edited, ',')
FROM unnest({_UNNEST}) AS t({", ".join(_COLUMNS)})
ON CONFLICT {{target}} DO UPDATE SET
  {", ".join(_merge(c) for c in MERGED_FIELDS)},
  company_size = CASE WHEN {_SIZE_TAKEN} THEN EXCLUDED.company_size ELSE l.company_size END,
  company_size_max = CASE WHEN {_SIZE_TAKEN} THEN NULL ELSE l.company_size_max END,
  external_id = COALESCE(l.external_id, EXCLUDED.external_id),
  icp_id = COALESCE(EXCLUDED.icp_id, l.icp_id),
  search_run_id = COALESCE(EXCLUDED.search_run_id, l.search_run_id),
  score = CASE WHEN EXCLUDED.icp_id IS NULL THEN l.score ELSE EXCLUDED.score END,
  score_explanation_id = CASE WHEN EXCLUDED.icp_id IS NULL THEN l.score_explanation_id
                              ELSE EXCLUDED.score_explanation_id END,
  filtered = CASE WHEN EXCLUDED.icp_id IS NULL THEN l.filtered ELSE EXCLUDED.filtered END,
  edited_fields = ARRAY(SELECT DISTINCT unnest(l.edited_fields || EXCLUDED.edited_fields)),
  updated_at = now()
WHERE EXCLUDED.search_run_id IS NULL OR l.search_run_id IS DISTINCT FROM EXCLUDED.search_run_id
RETURNING id, email, external_id, (xmax = 0) AS inserted
"""
UPSERT_BY_EMAIL = _UPSERT.replace("{target}", "(org_id, email)")
UPSERT_BY_EXTERNAL_ID = _UPSERT.replace("{target}", "(org_id, source, external_id) WHERE email IS NULL")


@dataclass
class Applied:
    """What an upsert did, per row key: the lead id, and whether it was created.

    A row of a search run that the same run had already sourced is in neither: it was left alone.
    """

    ids: dict[str, uuid.UUID]
    created: set[str]


async def upsert(
    connection: asyncpg.Connection,
    rows: list[Row],
    *,
    org_id: uuid.UUID,
    source: str,
    icp_id: uuid.UUID | None = None,
    run_id: uuid.UUID | None = None,
    into: Applied | None = None,
) -> Applied:
    """Insert or merge the rows (unique by key) in two statements, by email and by provider id.

    On the bare connection of a Database.driver(transaction=True): a page's thousand result rows cost
    SQLAlchemy's result machinery more than the statement itself. What they did is added to `into`
    when given (a page upserted in parts), else to a new Applied.
    """
    applied = into if into is not None else Applied(ids={}, created=set())
    common = (org_id, source, icp_id, run_id)
    with_email = sorted((r for r in rows if r.email), key=lambda r: r.email)  # type: ignore[arg-type, return-value]
    without_email = sorted((r for r in rows if not r.email), key=lambda r: r.external_id)  # type: ignore[arg-type, return-value]
    if with_email:
        await _apply(connection, UPSERT_BY_EMAIL, with_email, common, applied)
    if without_email:
        await _apply(connection, UPSERT_BY_EXTERNAL_ID, without_email, common, applied)
    return applied


async def _apply(
    connection: asyncpg.Connection, statement: str, rows: list[Row], common: tuple[Any, ...], applied: Applied
) -> None:
    columns = [
        joined(values, nullable=name in _NULLABLE)
        for name, values in zip(_COLUMNS, zip(*rows, strict=True), strict=True)
    ]
    for lead_id, email, external_id, inserted in await connection.fetch(statement, *common, *columns):
        key = email or f"external:{external_id}"
        applied.ids[key] = lead_id
        if inserted:
            applied.created.add(key)
