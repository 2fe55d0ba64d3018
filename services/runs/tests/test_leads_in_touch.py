"""A lead the org is already talking to is never worked by a run: enrolled in a sequence or in a conversation since
sourcing, it is skipped just before its first action with a receipt saying why, counted as skipped, and sent
nothing; a lead that cannot be checked waits rather than being emailed on a guess."""

from __future__ import annotations

import datetime as dt
import uuid
from types import SimpleNamespace

import grpc
from sqlalchemy import select

from leadflood_platform.db import Database
from runs import leases, service
from runs.models import COMPLETED, PENDING, SKIPPED, LeadRun, Receipt, RunLead
from services.runs.tests.conftest import StandInContacts, make_run
from services.runs.tests.test_actions import drain, work


async def _leads(db: Database, run_id: uuid.UUID) -> dict[uuid.UUID, RunLead]:
    async with db.transaction() as session:
        rows = (await session.execute(select(RunLead).where(RunLead.run_id == run_id))).scalars()
        return {row.lead_id: row for row in rows}


async def _receipts(db: Database, run_id: uuid.UUID) -> list[Receipt]:
    async with db.transaction() as session:
        return list((await session.execute(select(Receipt).where(Receipt.run_id == run_id))).scalars())


async def test_a_lead_enrolled_or_answered_since_sourcing_is_skipped_saying_why(
    db: Database, inbox: SimpleNamespace
) -> None:
    run, (enrolled, answered, emailed_long_ago, fresh) = await make_run(db, uuid.uuid4(), leads=4, call=True)
    peers = StandInContacts()
    now = dt.datetime.now(dt.UTC)
    peers.enrolled[enrolled] = "Spring outreach"
    peers.replied[answered] = now - dt.timedelta(days=2)
    peers.emailed[emailed_long_ago] = now - dt.timedelta(days=45)  # outside the run's 30 days: worked
    assert await drain(db, work(db, inbox, contacts=peers)) == 4

    # The witness: the mail room was asked for the two leads nobody is talking to, and no other.
    assert sorted(inbox.servicer.keys()) == sorted(f"runs:{run.id}:{lead}:email" for lead in (emailed_long_ago, fresh))
    rows = await _leads(db, run.id)
    assert {lead for lead, row in rows.items() if row.status == SKIPPED} == {enrolled, answered}
    said = {r.lead_id: r.detail for r in await _receipts(db, run.id) if r.kind == "contact_check"}
    assert said == {
        enrolled: 'already in the sequence "Spring outreach" (active)',
        answered: f"in a conversation: a message on {(now - dt.timedelta(days=2)):%Y-%m-%d}, within the last 30 days",
    }
    async with db.transaction() as session:
        progress = (await service.progress(session, [run.id]))[run.id]
        state = (await session.execute(select(LeadRun.state).where(LeadRun.id == run.id))).scalar_one()
    assert (progress.skipped, progress.total, progress.done, progress.sent) == (2, 2, 2, 2)
    assert state == COMPLETED


async def test_a_lead_that_cannot_be_checked_waits_and_is_sent_nothing(db: Database, inbox: SimpleNamespace) -> None:
    run, [lead] = await make_run(db, uuid.uuid4(), leads=1)
    peers = StandInContacts()
    peers.refuse = grpc.StatusCode.UNAVAILABLE
    assert await drain(db, work(db, inbox, contacts=peers)) == 1
    assert inbox.servicer.requests == []
    row = (await _leads(db, run.id))[lead]
    assert row.status == PENDING and row.attempts == 1 and "checking the lead's sequences" in (row.error or "")

    # Back after the fault, it is checked for sequences only: a conversation then may be its own email's.
    peers.refuse = None
    peers.emailed[lead] = dt.datetime.now(dt.UTC)
    assert await drain(db, work(db, inbox, contacts=peers), due_now=True) == 1
    assert inbox.servicer.keys() == [f"runs:{run.id}:{lead}:email"]
    assert peers.calls[-1] == "ListLeadsInSequences"


async def test_the_check_asks_sequences_then_open_and_archived_threads_once(
    db: Database, inbox: SimpleNamespace
) -> None:
    run, [lead] = await make_run(db, uuid.uuid4(), leads=1, call=True)
    peers = StandInContacts()
    [claimed] = await leases.claim(db, worker="test", limit=1, lease_s=60)
    await work(db, inbox, contacts=peers).work(claimed)
    assert peers.calls == ["ListLeadsInSequences", "ListThreads", "ListThreads"]
    assert [r.kind for r in await _receipts(db, run.id)] == ["email", "call_task"]
