"""The scheduler's claim: due, active enrollments only, never the same one to two claimers at once, read
through the partial index so that its cost follows the due work, not the enrollments waiting, and fair:
one org's huge campaign holds the others back by one share of a batch at most."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from types import SimpleNamespace
from typing import Any

from sqlalchemy import text

from leadflood_platform.db import Database
from sequences.scheduler import CLAIM_SQL, claim

NOW = dt.datetime(2026, 3, 4, 10, 0, tzinfo=dt.UTC)


async def _add(db: Database, sequence_id: uuid.UUID, org: uuid.UUID, count: int, *, state: str, due_in_s: int) -> None:
    """`count` enrollments of fresh leads, due `due_in_s` seconds from NOW (negative: overdue)."""
    async with db.transaction() as session:
        await session.execute(
            text(
                "INSERT INTO sequences.enrollments (id, org_id, sequence_id, lead_id, state, next_due_at,"
                " waiting_detail, stop_reason, steps_done, thread_id)"
                " SELECT gen_random_uuid(), :org, :seq, gen_random_uuid(), :state,"
                " CAST(:now AS timestamptz) + make_interval(secs => :due + n % 60), '', '', 0, ''"
                " FROM generate_series(1, :count) AS n"
            ),
            {"org": org, "seq": sequence_id, "state": state, "now": NOW, "due": due_in_s, "count": count},
        )
        # As enrolling does: the org takes its turns in the claim.
        await session.execute(
            text("INSERT INTO sequences.org_turns VALUES (:org, now()) ON CONFLICT DO NOTHING"), {"org": org}
        )


async def test_two_claimers_at_once_take_disjoint_sets(db: Database, kit: SimpleNamespace) -> None:
    org = uuid.uuid4()
    sequence = await kit.make_sequence(db, org)
    await _add(db, sequence.id, org, 10, state="active", due_in_s=-3600)
    async with db.transaction() as first, db.transaction() as second:  # both open at once
        mine = {e.id for e in await claim(first, now=NOW, limit=6)}
        theirs = {e.id for e in await claim(second, now=NOW, limit=6)}
        third = await claim(second, now=NOW, limit=6)  # the second asks again while the first still holds its six
    assert len(mine) == 6 and len(theirs) == 4 and not mine & theirs
    assert {e.id for e in third} == theirs  # its own locks do not hide rows from itself; the first's do


async def test_only_due_active_enrollments_are_claimed_oldest_first(db: Database, kit: SimpleNamespace) -> None:
    org = uuid.uuid4()
    sequence = await kit.make_sequence(db, org)
    await _add(db, sequence.id, org, 3, state="active", due_in_s=-120)
    await _add(db, sequence.id, org, 3, state="active", due_in_s=3600)  # not due yet
    for state in ("paused", "completed", "replied", "failed"):
        await _add(db, sequence.id, org, 2, state=state, due_in_s=-3600)
    async with db.transaction() as session:
        claimed = await claim(session, now=NOW, limit=50)
    assert len(claimed) == 3 and all(e.state == "active" and e.next_due_at <= NOW for e in claimed)
    assert [e.next_due_at for e in claimed] == sorted(e.next_due_at for e in claimed)


def _nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    return [plan, *(node for child in plan.get("Plans", []) for node in _nodes(child))]


async def test_the_claim_reads_the_partial_index_and_only_the_due_rows(db: Database, kit: SimpleNamespace) -> None:
    org = uuid.uuid4()
    sequence = await kit.make_sequence(db, org)
    await _add(db, sequence.id, org, 50, state="active", due_in_s=-600)
    await _add(db, sequence.id, org, 30_000, state="active", due_in_s=86_400)  # waiting for later
    await _add(db, sequence.id, org, 20_000, state="completed", due_in_s=-86_400)
    async with db.transaction() as session:
        await session.execute(text("ANALYZE sequences.enrollments"))
        explained = await session.execute(
            text(f"EXPLAIN (ANALYZE, FORMAT JSON) {CLAIM_SQL}"), {"orgs": [org], "now": NOW, "share": 20, "limit": 20}
        )
        [[document]] = explained.all()
        await session.rollback()  # EXPLAIN ANALYZE took the rows' locks
    plan = (document if isinstance(document, list) else json.loads(document))[0]["Plan"]
    scans = [node for node in _nodes(plan) if "Index" in node["Node Type"]]
    assert [(node["Node Type"], node.get("Index Name")) for node in scans] == [
        ("Index Scan", "ix_enrollments_org_due")
    ], json.dumps(plan, indent=1)
    # It stopped at the limit: the 30,000 enrollments not yet due and the finished ones were never read.
    assert scans[0]["Actual Rows"] == 20


async def test_one_org_with_a_huge_campaign_holds_the_others_back_by_one_share_at_most(
    db: Database, kit: SimpleNamespace
) -> None:
    big, small = uuid.uuid4(), [uuid.uuid4() for _ in range(9)]
    for org in (big, *small):
        sequence = await kit.make_sequence(db, org)
        await _add(db, sequence.id, org, 1000 if org == big else 10, state="active", due_in_s=-600)
    async with db.transaction() as session:
        first = await claim(session, now=NOW, limit=20)
    by_org = {org: sum(1 for e in first if e.org_id == org) for org in (big, *small)}
    assert len(first) == 20 and all(by_org[org] >= 1 for org in small) and by_org[big] <= 3
    # Claimed and sent (here: moved on a day): each claim serves the small orgs until they have no more due.
    for _ in range(10):
        async with db.transaction() as session:
            for enrollment in await claim(session, now=NOW, limit=20):
                enrollment.next_due_at = NOW + dt.timedelta(days=1)
    async with db.transaction() as session:
        left = (
            await session.execute(
                text("SELECT org_id, count(*) FROM sequences.enrollments WHERE next_due_at <= :now GROUP BY org_id"),
                {"now": NOW},
            )
        ).all()
    assert {org for org, _ in left} == {big}  # the small orgs are done; the big org alone gets whole batches
    async with db.transaction() as session:
        alone = await claim(session, now=NOW, limit=20)
    assert len(alone) == 20 and {e.org_id for e in alone} == {big}
