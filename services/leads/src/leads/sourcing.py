"""Turns a page of sourced people into scored, de-duplicated leads, exactly once per (run, page)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

import asyncpg

from leadflood.icp.v1 import icp_pb2
from leadflood.leads.v1 import leads_pb2
from leadflood_platform.errors import InvalidArgument
from leads import events
from leads.ingest import Row, normalise_email, upsert
from leads.pages_in_flight import Page, lock_key
from leads.scoring import scorer_for

COUNTERS = tuple(icp_pb2.SourceDiagnostics.DESCRIPTOR.fields_by_name)
# Held by a page for its transaction; taken shared by a later page of the run to wait for it to end.
_HOLD_PAGE = "SELECT pg_advisory_xact_lock($1)"
_AWAIT_PAGE = "SELECT pg_advisory_xact_lock_shared($1)"
# A page is claimed before it is applied: a page sent again finds its claim and what it did then.
_CLAIM = (
    "INSERT INTO source_batches (org_id, search_run_id, batch, diagnostics) VALUES ($1, $2, $3, '{}') "
    "ON CONFLICT DO NOTHING RETURNING batch"
)
_CLAIMED = "SELECT diagnostics FROM source_batches WHERE search_run_id = $1 AND batch = $2"
_DONE = "UPDATE source_batches SET diagnostics = $3 WHERE search_run_id = $1 AND batch = $2"


@dataclass
class Prepared:
    """A page parsed, normalised, scored and de-duplicated within itself: no database needed."""

    rows: dict[str, Row]
    counts: dict[str, int]
    explanations: dict[int, str]  # explanation id -> JSON, for the page's distinct verdicts


# A page's fields, in the order `_people` yields them.
_PERSON_FIELDS = (
    "external_id", "email", "first_name", "last_name", "title", "seniority", "company_name", "company_domain",
    "industry", "company_size", "location", "linkedin_url",
)  # fmt: skip


def _people(request: leads_pb2.UpsertSourcedLeadsRequest) -> tuple[int, Iterable[tuple[Any, ...]]]:
    """(how many, each person's fields in _PERSON_FIELDS order), from the page's columns or its messages."""
    if request.people:  # a page stored before pages were sent as columns
        fields = attrgetter(*_PERSON_FIELDS)
        return len(request.people), map(fields, request.people)
    columns = [getattr(request.columns, name) for name in _PERSON_FIELDS]
    lengths = {len(column) for column in columns}
    if len(lengths) > 1:
        raise InvalidArgument.on("columns", f"every column must hold one value per person: lengths {sorted(lengths)}")
    return lengths.pop(), zip(*columns, strict=True)


def prepare(request: leads_pb2.UpsertSourcedLeadsRequest) -> Prepared:
    """The CPU part of a page, done before its transaction so it overlaps another page's database work."""
    counts = dict.fromkeys(COUNTERS, 0)
    counts["fetched"], people = _people(request)
    scorer = scorer_for(request.rules)
    rows: dict[str, Row] = {}
    explanations: dict[int, str] = {}
    for (
        external_id, raw_email, first_name, last_name, title, seniority, company_name, domain, industry, size,
        location, linkedin_url,
    ) in people:  # fmt: skip
        email, external_id = normalise_email(raw_email), external_id or None
        first_name, last_name = first_name.strip(), last_name.strip()
        if not (first_name or last_name) or not (email or external_id):
            counts["failed"] += 1  # nothing to call the person by, or nothing to de-duplicate them on
            continue
        key = email or f"external:{external_id}"
        if key in rows:
            counts["duplicates"] += 1
            continue
        company_name, title, size = company_name.strip(), title.strip(), size or None
        verdict = scorer.verdict(title, seniority, industry, size, location, company_name)
        explanations[verdict.explanation_id] = verdict.explanation_json
        rows[key] = Row(
            first_name, last_name, email, external_id, company_name, title, seniority, industry, domain, size,
            location, linkedin_url, verdict.score, verdict.explanation_id, verdict.filtered,
        )  # fmt: skip
    return Prepared(rows, counts, explanations)


async def apply_batch(
    *,
    connection: asyncpg.Connection,
    org_id: uuid.UUID,
    request: leads_pb2.UpsertSourcedLeadsRequest,
    prepared: Prepared,
    page: Page,
) -> tuple[dict[str, int], bool]:
    """(diagnostics, replayed). Claims the (run, batch) first: a resent batch returns what it did then.

    Invariants: fetched = duplicates + failed + created + updated, and with + without email =
    created + updated. A person that another page of the same run sourced first (applied earlier,
    or at the same moment) counts as a duplicate. Pages of a run may be applied concurrently: the
    people a page shares with earlier pages still in flight go last (see pages_in_flight).
    `connection` is a Database.driver(transaction=True)'s: this runs for every page of every run.
    """
    run_id = uuid.UUID(request.search_run_id)
    if await connection.fetchval(_CLAIM, org_id, run_id, request.batch) is None:
        return dict(await connection.fetchval(_CLAIMED, run_id, request.batch)), True
    counts = dict(prepared.counts)
    await connection.execute(_HOLD_PAGE, page.lock_key)
    earlier = page.join(prepared.rows)
    shared = set().union(*earlier.values())
    common = {"org_id": org_id, "source": request.source, "icp_id": uuid.UUID(request.icp_id), "run_id": run_id}
    applied = await upsert(connection, [row for key, row in prepared.rows.items() if key not in shared], **common)
    if shared:
        for batch in sorted(earlier):
            await connection.execute(_AWAIT_PAGE, lock_key(run_id, batch))
        await upsert(connection, [prepared.rows[key] for key in shared], into=applied, **common)
    created, updated = [], []
    for key, row in prepared.rows.items():
        if key not in applied.ids:
            counts["duplicates"] += 1  # this run sourced the person on another page
            continue
        (created if key in applied.created else updated).append(row)
        counts["with_email" if row.email else "without_email"] += 1
        counts["filtered"] += row.filtered
    counts["created"], counts["updated"] = len(created), len(updated)
    await events.publish_rows(
        connection,
        org_id,
        applied,
        created=created,
        updated=updated,
        icp_id=request.icp_id,
        run_id=request.search_run_id,
    )
    await connection.execute(_DONE, run_id, request.batch, json.dumps(counts))
    return counts, False
