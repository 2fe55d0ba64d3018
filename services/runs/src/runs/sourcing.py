"""Sourcing a run: a search of its ICP through the icp service, then the leads it found, from the leads
service, best score first, those under the ICP's minimum score counted and left out, and those the org is
already talking to (runs.contacts) kept as skipped, with why. The search is asked for more (twice as many each
time) until the run has its limit of leads to work or the source has no more."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import grpc
from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.icp.v1 import icp_pb2, icp_pb2_grpc
from leadflood.leads.v1 import leads_pb2, leads_pb2_grpc
from leadflood_platform.jobs import JobStopped
from runs import finishing
from runs.contacts import Contacts
from runs.models import COMPLETED, PENDING, RUNNING, SKIPPED, WAITING, LeadRun, OrgTurn, Receipt, RunLead

PAGE = 500
# The receipt of a lead left out because the org is already talking to it (at sourcing or just before its actions).
CONTACT_CHECK = "contact_check"
# A search asks the source for at most this many people (the icp service's own cap on a search's limit).
MAX_SEARCH = 100_000
INSERT_CHUNK = 1000
POLL_S = 0.5
DONE_SEARCH = (icp_pb2.SEARCH_RUN_STATUS_COMPLETED, icp_pb2.SEARCH_RUN_STATUS_FAILED)


@dataclass
class Sourced:
    sourced: int = 0
    filtered_by_score: int = 0
    with_email: int = 0
    without_email: int = 0
    # (lead id, score, the lead as the actions and templates need it), best score first.
    leads: list[tuple[uuid.UUID, int, dict[str, Any]]] = field(default_factory=list)
    # Leads left out as the org is already talking to them: (lead id, score, the lead, why in words).
    skipped: list[tuple[uuid.UUID, int, dict[str, Any], str]] = field(default_factory=list)
    # Leads under the ICP's minimum (counted once however many searches list them).
    left_out: set[uuid.UUID] = field(default_factory=set)


def snapshot(lead: leads_pb2.Lead) -> dict[str, Any]:
    """What a run keeps of a lead: the template's fields, its zone and phone (when leads carry one)."""
    return {
        "email": lead.email,
        "firstName": lead.first_name,
        "lastName": lead.last_name,
        "companyName": lead.company_name,
        "title": lead.title,
        "companyDomain": lead.company_domain,
        "industry": lead.industry,
        "location": lead.location,
        "seniority": lead.seniority,
        "linkedinUrl": lead.linkedin_url,
        "timeZone": lead.time_zone,
        "phone": getattr(lead, "phone", ""),
    }


class Sourcer:
    def __init__(
        self,
        *,
        icp: icp_pb2_grpc.IcpServiceStub,
        leads: leads_pb2_grpc.LeadsServiceStub,
        contacts: Contacts,
        call_timeout_s: float,
        search_timeout_s: float,
    ) -> None:
        self.icp, self.leads, self.contacts = icp, leads, contacts
        self.call_timeout_s, self.search_timeout_s = call_timeout_s, search_timeout_s

    async def source(self, run: LeadRun) -> Sourced:
        """The run's leads; JobStopped when the ICP or its search cannot give any (retrying cannot help)."""
        icp = await self._icp_call(
            self.icp.GetIcp(icp_pb2.GetIcpRequest(icp_id=str(run.icp_id)), timeout=self.call_timeout_s)
        )
        found, candidates, asked, checked = Sourced(), {}, run.lead_limit, set()
        busy: dict[uuid.UUID, str] = {}  # the leads in touch, and why
        while True:
            fetched = await self._search(run, asked, icp.icp.rules.min_score, found, candidates)
            unchecked = [lead_id for lead_id in candidates if lead_id not in checked]
            busy |= await self.contacts.conversations(unchecked, run.recent_contact_days)
            busy |= await self.contacts.in_sequences(unchecked)  # a sequence says more than its own emails
            checked.update(unchecked)
            ready = sum(1 for lead_id in candidates if lead_id not in busy)
            # Enough to work, or the source gave fewer people than asked (it has no more), or asked all it takes.
            if ready >= run.lead_limit or fetched < asked or asked >= MAX_SEARCH:
                break
            asked = min(asked * 2, MAX_SEARCH)
        # Every lead the searches found that is already in touch is shown skipped, saying why; the others are
        # worked, best score first, up to the limit.
        for lead_id, (score, lead) in sorted(candidates.items(), key=lambda item: -item[1][0]):
            if lead_id in busy:
                found.skipped.append((lead_id, score, lead, busy[lead_id]))
                continue
            if len(found.leads) >= run.lead_limit:
                continue
            found.leads.append((lead_id, score, lead))
            if lead["email"]:
                found.with_email += 1
            else:
                found.without_email += 1
        return found

    async def _icp_call(self, call: Any) -> Any:
        try:
            return await call
        except grpc.aio.AioRpcError as error:
            if error.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
                raise JobStopped(f"the ICP cannot be searched: {error.details()}") from None
            if error.code() == grpc.StatusCode.UNAVAILABLE and "not set" in (error.details() or ""):
                raise JobStopped(f"the search provider is not configured: {error.details()}") from None
            raise

    async def _search(
        self,
        run: LeadRun,
        asked: int,
        min_score: int,
        found: Sourced,
        candidates: dict[uuid.UUID, tuple[int, dict[str, Any]]],
    ) -> int:
        """One search of the ICP for `asked` people: its leads not seen before counted into `found`, those at or
        over the minimum added to `candidates`. Returns how many people the source gave."""
        request = icp_pb2.StartSearchRequest(icp_id=str(run.icp_id), source=run.source, limit=asked)
        started = await self._icp_call(self.icp.StartSearch(request, timeout=self.call_timeout_s))
        search = await self._finished(started.run)
        if search.status == icp_pb2.SEARCH_RUN_STATUS_FAILED:
            raise JobStopped(f"the ICP's search failed: {search.error or 'no reason given'}")
        seen = {lead_id for lead_id in candidates}
        listing = leads_pb2.ListLeadsRequest(
            search_run_id=search.id, filtered=leads_pb2.FILTERED_VIEW_ALL, sort="-score", page_size=PAGE
        )
        while True:
            reply = await self.leads.ListLeads(listing, timeout=self.call_timeout_s)
            for lead in reply.leads:
                lead_id = uuid.UUID(lead.id)
                if lead_id in seen or lead_id in found.left_out:
                    continue
                found.sourced += 1
                if lead.filtered or lead.score < min_score:
                    found.filtered_by_score += 1
                    found.left_out.add(lead_id)
                else:
                    candidates[lead_id] = (lead.score, snapshot(lead))
            if not reply.next_cursor:
                return search.people_fetched
            listing.cursor = reply.next_cursor

    async def _finished(self, search: icp_pb2.SearchRun) -> icp_pb2.SearchRun:
        deadline = time.monotonic() + self.search_timeout_s
        while search.status not in DONE_SEARCH:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the ICP's search {search.id} did not finish in {self.search_timeout_s:.0f} s")
            await asyncio.sleep(POLL_S)
            reply = await self.icp.GetSearchRun(
                icp_pb2.GetSearchRunRequest(icp_id=search.icp_id, run_id=search.id), timeout=self.call_timeout_s
            )
            search = reply.run
        return search


async def record(session: AsyncSession, run_id: uuid.UUID, sourced: Sourced, *, window: int) -> dict[str, Any]:
    """The run's leads with what sourcing counted: the best `window` of them in the queue (due now), the rest
    waiting in the run for their turn (`release`). A run cancelled meanwhile keeps nothing."""
    run = (await session.execute(select(LeadRun).where(LeadRun.id == run_id).with_for_update())).scalar_one()
    if run.state != RUNNING:
        return {"runId": str(run_id), "skipped": f"the run is {run.state}"}
    run.sourced, run.filtered_by_score = sourced.sourced, sourced.filtered_by_score
    run.with_email, run.without_email = sourced.with_email, sourced.without_email
    run.sourced_at, run.leads_charged = finishing.utcnow(), len(sourced.leads)
    await finishing.progressed(session, org_id=run.org_id, run_id=run.id, lead_id="", status="sourced")
    await _record_skipped(session, run, sourced.skipped)
    if sourced.leads:
        now = finishing.utcnow()
        rows = [
            dict(
                id=uuid.uuid4(),
                run_id=run.id,
                org_id=run.org_id,
                lead_id=lead_id,
                lead=lead,
                score=score,
                status=PENDING if n < window else WAITING,
                due_at=now,
            )  # fmt: skip
            for n, (lead_id, score, lead) in enumerate(sourced.leads)
        ]
        await _insert(session, RunLead, rows)
        # The org joins the drain's turns (served longest ago first) if it is new to it.
        turn = insert(OrgTurn).values(org_id=run.org_id, served_at=now)
        await session.execute(turn.on_conflict_do_nothing())
    else:
        await finishing.finish(session, run, COMPLETED, error=None)
    await session.flush()
    return {"runId": str(run_id), "sourced": sourced.sourced, "queued": len(sourced.leads)}


async def _record_skipped(
    session: AsyncSession, run: LeadRun, skipped: list[tuple[uuid.UUID, int, dict[str, Any], str]]
) -> None:
    """The leads left out, in the run as skipped, each with its receipt saying why (the same in a dry run)."""
    if not skipped:
        return
    now, rows, receipts = finishing.utcnow(), [], []
    for lead_id, score, lead, why in skipped:
        row_id = uuid.uuid4()
        rows.append(dict(id=row_id, run_id=run.id, org_id=run.org_id, lead_id=lead_id, lead=lead, score=score,
                         status=SKIPPED, due_at=now, error=why))  # fmt: skip
        receipts.append(dict(id=uuid.uuid4(), run_lead_id=row_id, run_id=run.id, org_id=run.org_id,
                             lead_id=lead_id, kind=CONTACT_CHECK, status=SKIPPED, detail=why,
                             simulated=run.dry_run, attempt=1))  # fmt: skip
    await _insert(session, RunLead, rows)
    # A redelivered job's rows were kept the first time (on conflict nothing): only receipts of rows written now.
    written = set((await session.execute(select(RunLead.id).where(RunLead.id.in_([r["id"] for r in rows])))).scalars())
    await _insert(session, Receipt, [r for r in receipts if r["run_lead_id"] in written])


async def _insert(session: AsyncSession, table: Any, rows: list[dict[str, Any]]) -> None:
    for first in range(0, len(rows), INSERT_CHUNK):  # PostgreSQL takes at most 32,767 parameters a statement
        await session.execute(insert(table).values(rows[first : first + INSERT_CHUNK]).on_conflict_do_nothing())


_RELEASE = text(
    """
    UPDATE run_leads SET status = 'pending', due_at = now(), updated_at = now()
    WHERE id IN (
        SELECT id FROM run_leads WHERE run_id = :run_id AND status = 'waiting'
        ORDER BY score DESC, id
        LIMIT greatest(0, :window - (
            SELECT count(*) FROM run_leads WHERE run_id = :run_id AND status IN ('pending', 'running')
        ))
        FOR UPDATE SKIP LOCKED
    )
    """
)


async def release(session: AsyncSession, run_id: uuid.UUID, *, window: int) -> None:
    """Tops the run's share of the queue back up to `window` leads (pending or held), best score first."""
    await session.execute(_RELEASE, {"run_id": run_id, "window": window})
