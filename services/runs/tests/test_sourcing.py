"""Sourcing a run: it takes the ICP's best-scored leads up to its limit, asking the source for more while leads
under the minimum or already in touch leave it short (until the source runs out), and keeps the leads it leaves
out as skipped with a receipt saying why, in a dry run as in a real one."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import select

from leadflood.icp.v1 import icp_pb2
from leadflood.leads.v1 import leads_pb2
from leadflood_platform.db import Database
from runs import finishing, service, sourcing
from runs.models import PENDING, RUNNING, SKIPPED, LeadRun, Receipt, RunLead
from services.runs.tests.conftest import StandInContacts


class StandInSearch:
    """The icp service's search and the leads service's list over a deterministic source of `people` (best
    first, as the sandbox gives them): a search for N people finds the first N; `searches` the limits asked."""

    def __init__(self, scores: list[int]) -> None:
        self.people = [(uuid.uuid4(), score) for score in scores]
        self.searches: list[int] = []

    async def GetIcp(self, request: Any, **options: object) -> icp_pb2.GetIcpResponse:
        return icp_pb2.GetIcpResponse(icp=icp_pb2.Icp(id=request.icp_id, rules=icp_pb2.IcpRules(min_score=50)))

    async def StartSearch(self, request: Any, **options: object) -> icp_pb2.StartSearchResponse:
        self.searches.append(request.limit)
        fetched = min(request.limit, len(self.people))
        run = icp_pb2.SearchRun(
            id=f"{request.limit}", icp_id=request.icp_id, status=icp_pb2.SEARCH_RUN_STATUS_COMPLETED,
            people_fetched=fetched,
        )  # fmt: skip
        return icp_pb2.StartSearchResponse(run=run)

    async def ListLeads(self, request: Any, **options: object) -> leads_pb2.ListLeadsResponse:
        found = sorted(self.people[: int(request.search_run_id)], key=lambda person: -person[1])
        return leads_pb2.ListLeadsResponse(
            leads=[
                leads_pb2.Lead(
                    id=str(lead_id),
                    email=f"{lead_id.hex[:8]}@example.com",
                    score=score,
                    filtered=score < 50,
                    first_name="Pat",
                )  # fmt: skip
                for lead_id, score in found
            ]
        )


def sourcer(search: StandInSearch, peers: StandInContacts) -> sourcing.Sourcer:
    return sourcing.Sourcer(icp=search, leads=search, contacts=peers.contacts(), call_timeout_s=5, search_timeout_s=5)  # type: ignore[arg-type]


async def _run(db: Database, limit: int, *, dry_run: bool = False) -> LeadRun:
    async with db.transaction() as session:
        spec = service.RunSpec(icp_id=uuid.uuid4(), limit=limit, dry_run=dry_run)
        run = await service.create(session, org_id=uuid.uuid4(), spec=spec)
        run.state, run.started_at = RUNNING, finishing.utcnow()
    return run


async def test_a_run_asks_the_source_for_more_until_it_has_its_limit_of_qualifying_leads() -> None:
    # The first 8 people hold 3 under the minimum: asked for 8, the run would work 5.
    search = StandInSearch([90, 30, 85, 20, 80, 10, 75, 70, 65, 60, 55, 52, 51, 50, 5, 4])
    found = await sourcer(search, StandInContacts()).source(await _fake_run(8))
    assert search.searches == [8, 16]
    assert [score for _, score, _ in found.leads] == [90, 85, 80, 75, 70, 65, 60, 55]
    assert (found.sourced, found.filtered_by_score, found.with_email) == (16, 5, 8)


async def test_a_source_that_runs_out_gives_fewer_leads_and_is_not_asked_again() -> None:
    search = StandInSearch([90, 30, 85, 20, 80])
    found = await sourcer(search, StandInContacts()).source(await _fake_run(8))
    assert search.searches == [8]  # 5 people for 8 asked: the source has no more
    assert [score for _, score, _ in found.leads] == [90, 85, 80]


async def test_leads_in_a_sequence_or_a_recent_conversation_are_skipped_and_not_counted(db: Database) -> None:
    for dry_run in (False, True):  # a dry run shows the same skips
        search = StandInSearch([95, 90, 85, 80, 75, 70])
        peers = StandInContacts()
        (top, _), (second, _) = search.people[:2]
        peers.enrolled[top] = "Spring outreach"
        peers.emailed[second] = dt.datetime.now(dt.UTC) - dt.timedelta(days=3)
        run = await _run(db, 3, dry_run=dry_run)
        found = await sourcer(search, peers).source(run)
        assert [score for _, score, _ in found.leads] == [85, 80, 75]
        async with db.transaction() as session:
            await sourcing.record(session, run.id, found, window=20)
        async with db.transaction() as session:
            rows = {
                r.lead_id: r.status
                for r in (await session.execute(select(RunLead).where(RunLead.run_id == run.id))).scalars()
            }
            said = {
                r.lead_id: (r.status, r.detail, r.simulated)
                for r in (await session.execute(select(Receipt).where(Receipt.run_id == run.id))).scalars()
            }
            progress = (await service.progress(session, [run.id]))[run.id]
            charged = (await session.execute(select(LeadRun.leads_charged).where(LeadRun.id == run.id))).scalar_one()
        assert sorted(rows.values()) == sorted([SKIPPED, SKIPPED, PENDING, PENDING, PENDING])
        assert said[top][:2] == (SKIPPED, 'already in the sequence "Spring outreach" (active)')
        assert said[second][1].startswith("in a conversation: emailed on ")
        assert said[top][2] is dry_run
        assert (progress.total, progress.skipped, charged) == (3, 2, 3)


async def _fake_run(limit: int) -> LeadRun:
    return LeadRun(id=uuid.uuid4(), icp_id=uuid.uuid4(), source="sandbox", lead_limit=limit, recent_contact_days=30)
