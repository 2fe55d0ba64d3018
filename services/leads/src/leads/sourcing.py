"""Turns a page of sourced people into scored, de-duplicated leads, exactly once per (run, page)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.icp.v1 import icp_pb2
from leadflood.leads.v1 import leads_pb2
from leads import events
from leads.ingest import Row, normalise_email, previous_runs, upsert
from leads.models import SourceBatch
from leads.scoring import Scorer

COUNTERS = tuple(icp_pb2.SourceDiagnostics.DESCRIPTOR.fields_by_name)


def _person(message: leads_pb2.SourcedPerson) -> dict[str, Any]:
    return {
        "external_id": message.external_id or None,
        "first_name": message.first_name.strip(),
        "last_name": message.last_name.strip(),
        "company_name": message.company_name.strip(),
        "title": message.title.strip(),
        "seniority": message.seniority,
        "industry": message.industry,
        "company_domain": message.company_domain,
        "company_size": message.company_size or None,
        "location": message.location,
        "linkedin_url": message.linkedin_url,
    }


@dataclass
class Prepared:
    """A page parsed, normalised, scored and de-duplicated within itself: no database needed."""

    rows: dict[str, Row]
    counts: dict[str, int]


def prepare(request: leads_pb2.UpsertSourcedLeadsRequest) -> Prepared:
    """The CPU part of a page, done before its transaction so it overlaps another page's database work."""
    counts = dict.fromkeys(COUNTERS, 0)
    counts["fetched"] = len(request.people)
    scorer = Scorer.from_rules(request.rules)
    rows: dict[str, Row] = {}
    for message in request.people:
        person = _person(message)
        person["email"] = normalise_email(message.email)
        if not (person["first_name"] or person["last_name"]) or not (person["email"] or person["external_id"]):
            counts["failed"] += 1  # nothing to call the person by, or nothing to de-duplicate them on
            continue
        score, explanation, filtered = scorer.score(person)
        row = Row(**person, score=score, explanation=explanation, filtered=filtered)
        if row.key in rows:
            counts["duplicates"] += 1
            continue
        rows[row.key] = row
    return Prepared(rows, counts)


async def apply_batch(
    *, session: AsyncSession, org_id: uuid.UUID, request: leads_pb2.UpsertSourcedLeadsRequest, prepared: Prepared
) -> tuple[dict[str, int], bool]:
    """(diagnostics, replayed). Claims the (run, batch) first: a resent batch returns what it did then.

    Invariants: fetched = duplicates + failed + created + updated, and with + without email =
    created + updated. A person seen on a page of the same run applied earlier counts as a duplicate.
    """
    run_id = uuid.UUID(request.search_run_id)
    # Pages of one run may arrive together; applying them one at a time keeps "seen earlier" exact.
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:run))"), {"run": request.search_run_id})
    claimed = await session.execute(
        insert(SourceBatch)
        .values(org_id=org_id, search_run_id=run_id, batch=request.batch, diagnostics={})
        .on_conflict_do_nothing()
        .returning(SourceBatch.batch)
    )
    if claimed.scalar_one_or_none() is None:
        stored = await session.get(SourceBatch, (run_id, request.batch))
        return dict(stored.diagnostics), True  # type: ignore[union-attr]
    rows, counts = dict(prepared.rows), dict(prepared.counts)

    # Someone an earlier page of this run already sourced is a duplicate: the first sighting stands.
    seen = await previous_runs(session, list(rows.values()), org_id=org_id, source=request.source)
    for key in [key for key in rows if seen.get(key) == run_id]:
        del rows[key]
        counts["duplicates"] += 1
    applied = await upsert(
        session, list(rows.values()), org_id=org_id, source=request.source,
        icp_id=uuid.UUID(request.icp_id), run_id=run_id,
    )  # fmt: skip
    created, updated = [], []
    for key, row in rows.items():
        (created if key in applied.created else updated).append(row)
        counts["with_email" if row.email else "without_email"] += 1
        counts["filtered"] += row.filtered
    counts["created"], counts["updated"] = len(created), len(updated)
    await events.publish_rows(
        session,
        org_id,
        applied,
        created=created,
        updated=updated,
        icp_id=request.icp_id,
        run_id=request.search_run_id,
        source=request.source,
    )
    await session.execute(
        SourceBatch.__table__.update()
        .where(SourceBatch.search_run_id == run_id, SourceBatch.batch == request.batch)
        .values(diagnostics=counts)
    )
    return counts, False
