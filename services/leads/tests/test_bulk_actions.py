"""DeleteLeads and EnrichLeads: a selection of leads in one call, with the rows, jobs and events DeleteLead and
EnrichLead write for one. The servicer's handlers on a scratch leads database, as the org a call names; no worker
runs and nothing is published (the outbox rows are the witness)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select, update

from leadflood.leads.v1 import events_pb2, jobs_pb2, leads_pb2
from leadflood_platform import context
from leadflood_platform.bus import TYPE_HEADER
from leadflood_platform.db import Database
from leadflood_platform.errors import InvalidArgument, Unavailable
from leads import listing, service
from leads.config import LeadsSettings
from leads.models import EnrichmentRun, Lead, platform_tables
from leads.servicer import LeadsServicer
from leads.workers import EnrichLead

DELETED, NOT_FOUND = leads_pb2.LEAD_DELETE_OUTCOME_DELETED, leads_pb2.LEAD_DELETE_OUTCOME_NOT_FOUND
STARTED, RUNNING = leads_pb2.LEAD_ENRICH_OUTCOME_STARTED, leads_pb2.LEAD_ENRICH_OUTCOME_ALREADY_RUNNING
REFUSED, ENRICH_NOT_FOUND = leads_pb2.LEAD_ENRICH_OUTCOME_REFUSED, leads_pb2.LEAD_ENRICH_OUTCOME_NOT_FOUND


@pytest.fixture
async def leads(leads_database: str, migrate_leads: Callable[..., Awaitable[None]]) -> AsyncIterator[SimpleNamespace]:
    """The servicer on a migrated scratch database, and a way to add leads to an org."""
    await migrate_leads()
    db = Database(leads_database, pool_size=4)
    servicer = LeadsServicer(db, LeadsSettings(database_url=leads_database), icp=None)  # type: ignore[arg-type]

    async def add(org: uuid.UUID, email: str | None, *, settled: bool = True) -> uuid.UUID:
        """A lead of the org, added as in a call of the org's (its outbox rows carry the org as a call's do);
        `settled`: the enrichment queued with it has ended, as after the worker ran it."""
        with context.bound(org_id=str(org)):
            return await _add(org, email, settled)

    async def _add(org: uuid.UUID, email: str | None, settled: bool) -> uuid.UUID:
        async with db.transaction() as session:
            if email is None:  # a sourced person the provider had no email for, and no company domain
                lead = Lead(id=uuid.uuid4(), org_id=org, email=None, first_name="No", last_name="Mail", source="x")
                session.add(lead)
                return lead.id
            new = service.NewLead(email, "Ada", "Lovelace")
            lead, job_id = await service.create(session=session, org_id=org, new=new, enrich_kind=EnrichLead,
                                                max_attempts=3)  # fmt: skip
            if settled:
                jobs = platform_tables.jobs
                await session.execute(update(jobs).where(jobs.c.id == job_id).values(status="completed"))
            return lead.id

    async def call(org: uuid.UUID, method: str, request: Any) -> Any:
        with context.bound(org_id=str(org)):
            return await getattr(servicer, method)(request, None)

    async def outbox(subject: str) -> list[Any]:
        async with db.transaction() as session:
            table = platform_tables.outbox
            return list((await session.execute(select(table).where(table.c.subject == subject))).all())

    async def rows(model: Any, *where: Any) -> list[Any]:
        async with db.transaction() as session:
            return list((await session.scalars(select(model).where(*where))).all())

    try:
        yield SimpleNamespace(db=db, add=add, call=call, outbox=outbox, rows=rows)
    finally:
        await db.close()


def _deleted_events(rows: list[Any]) -> list[events_pb2.LeadDeleted]:
    return [events_pb2.LeadDeleted.FromString(row.payload) for row in rows]


async def test_deleting_a_selection_deletes_the_orgs_leads_once_each_with_one_event_each(
    leads: SimpleNamespace,
) -> None:
    org, other = uuid.uuid4(), uuid.uuid4()
    first, second, kept = [await leads.add(org, f"{name}@acme.io") for name in ("ada", "bob", "cy")]
    theirs, missing = await leads.add(other, "ada@acme.io"), uuid.uuid4()

    asked = [str(first), str(theirs), str(second), str(first).upper(), str(missing)]
    reply = await leads.call(org, "DeleteLeads", leads_pb2.DeleteLeadsRequest(lead_ids=asked))
    # One answer per entry, in order; the lead named twice (the second time in capitals) is deleted once.
    assert list(reply.outcomes) == [DELETED, NOT_FOUND, DELETED, DELETED, NOT_FOUND]
    assert {lead.id for lead in await leads.rows(Lead)} == {kept, theirs}  # the other org's lead is untouched
    assert await leads.rows(EnrichmentRun, EnrichmentRun.lead_id.in_([first, second])) == []

    events = _deleted_events(await leads.outbox("leads.lead.deleted"))
    assert sorted((e.lead.id, e.lead.email, e.org_id) for e in events) == sorted(
        [(str(first), "ada@acme.io", str(org)), (str(second), "bob@acme.io", str(org))]
    )
    assert len({e.event_id for e in events}) == 2

    again = await leads.call(org, "DeleteLeads", leads_pb2.DeleteLeadsRequest(lead_ids=[str(first), str(kept)]))
    assert list(again.outcomes) == [NOT_FOUND, DELETED]
    assert len(await leads.outbox("leads.lead.deleted")) == 3  # none for the lead deleted already


async def test_a_bulk_delete_writes_the_outbox_row_deletelead_writes(leads: SimpleNamespace) -> None:
    org = uuid.uuid4()
    one, many = await leads.add(org, "one@acme.io"), await leads.add(org, "many@acme.io")
    with context.bound(org_id=str(org)):  # as DeleteLead runs it
        async with leads.db.transaction() as session:
            await service.remove(session=session, org_id=org, lead_id=one)
    await leads.call(org, "DeleteLeads", leads_pb2.DeleteLeadsRequest(lead_ids=[str(many)]))
    single, bulk = await leads.outbox("leads.lead.deleted")
    assert bulk.id > single.id
    assert bulk.headers == single.headers and single.headers[TYPE_HEADER] == "leadflood.leads.v1.LeadDeleted"
    for row, lead_id in ((single, one), (bulk, many)):
        (event,) = _deleted_events([row])
        assert row.msg_id == event.event_id and event.lead.id == str(lead_id)


async def test_two_overlapping_bulk_deletes_at_once_neither_deadlocks_nor_doubles_an_event(
    leads: SimpleNamespace,
) -> None:
    org = uuid.uuid4()
    ids = [str(await leads.add(org, f"lead{n}@acme.io")) for n in range(12)]
    replies = await asyncio.gather(
        leads.call(org, "DeleteLeads", leads_pb2.DeleteLeadsRequest(lead_ids=ids)),
        leads.call(org, "DeleteLeads", leads_pb2.DeleteLeadsRequest(lead_ids=ids[::-1])),
    )
    deleted = [sum(outcome == DELETED for outcome in reply.outcomes) for reply in replies]
    assert sum(deleted) == 12  # each lead deleted by one call or the other, and only once
    assert sorted(e.lead.id for e in _deleted_events(await leads.outbox("leads.lead.deleted"))) == sorted(ids)


async def test_enriching_a_selection_starts_keeps_refuses_and_skips(leads: SimpleNamespace) -> None:
    org, other = uuid.uuid4(), uuid.uuid4()
    settled = await leads.add(org, "settled@acme.io")
    pending = await leads.add(org, "pending@acme.io", settled=False)  # its first enrichment still queued
    nothing = await leads.add(org, None)
    theirs = await leads.add(other, "theirs@acme.io")
    (pending_job,) = [run.job_id for run in await leads.rows(EnrichmentRun, EnrichmentRun.lead_id == pending)]
    jobs_before = len(await leads.outbox("jobs.leads.enrich"))

    asked = [settled, pending, nothing, theirs, uuid.uuid4(), settled]
    reply = await leads.call(org, "EnrichLeads", leads_pb2.EnrichLeadsRequest(lead_ids=[str(i) for i in asked]))
    outcomes = [(r.outcome, r.job_id, r.reason) for r in reply.results]
    assert [o[0] for o in outcomes] == [STARTED, RUNNING, REFUSED, ENRICH_NOT_FOUND, ENRICH_NOT_FOUND, STARTED]
    assert outcomes[1][1] == f"leads.{pending_job}"
    assert outcomes[2][2] == "the lead needs an email, or a name and a company domain, to be enriched"
    assert outcomes[0][1] == outcomes[5][1] != "" and outcomes[3][1:] == ("", "")  # one job for the lead named twice

    # The new job as EnrichLead writes one: its row, its enrichment run, its outbox message.
    new_job = uuid.UUID(outcomes[0][1].removeprefix("leads."))
    async with leads.db.transaction() as session:
        jobs = platform_tables.jobs
        job = (await session.execute(select(jobs).where(jobs.c.id == new_job))).one()
        reference = (await session.execute(select(jobs).where(jobs.c.id == pending_job))).one()
    message = jobs_pb2.EnrichLeadJob.FromString(job.message)
    (run,) = await leads.rows(EnrichmentRun, EnrichmentRun.job_id == new_job)
    assert (run.lead_id, run.org_id, run.provider, run.status) == (settled, org, "sandbox", "queued")
    assert message == jobs_pb2.EnrichLeadJob(
        job_id=str(new_job), lead_id=str(settled), org_id=str(org), provider="sandbox", enrichment_run_id=str(run.id)
    )
    assert (job.type, job.status, job.org_id, job.max_attempts) == (
        reference.type,
        "queued",
        org,
        reference.max_attempts,
    )
    assert set(job.payload) == set(reference.payload) and job.payload["leadId"] == str(settled)
    sent = await leads.outbox("jobs.leads.enrich")
    assert len(sent) == jobs_before + 1  # nothing for the pending, refused or missing leads
    assert sent[-1].msg_id == str(new_job) and sent[-1].payload == job.message
    assert sent[-1].headers == sent[0].headers  # as jobs.enqueue wrote the first lead's (its creation's)
    assert sent[0].headers[TYPE_HEADER] == "leadflood.leads.v1.EnrichLeadJob"

    again = await leads.call(org, "EnrichLeads", leads_pb2.EnrichLeadsRequest(lead_ids=[str(settled)]))
    assert [(r.outcome, r.job_id) for r in again.results] == [(RUNNING, outcomes[0][1])]  # a double click
    assert len(await leads.rows(EnrichmentRun, EnrichmentRun.lead_id == theirs)) == 1  # its own creation's only


async def test_two_bulk_enrichments_at_once_queue_one_job_a_lead(leads: SimpleNamespace) -> None:
    org = uuid.uuid4()
    ids = [str(await leads.add(org, f"twice{n}@acme.io")) for n in range(6)]
    replies = await asyncio.gather(
        leads.call(org, "EnrichLeads", leads_pb2.EnrichLeadsRequest(lead_ids=ids)),
        leads.call(org, "EnrichLeads", leads_pb2.EnrichLeadsRequest(lead_ids=ids[::-1])),
    )
    first, second = ([(r.outcome, r.job_id) for r in reply.results] for reply in replies)
    assert sorted(o for o, _ in first + second) == [STARTED] * 6 + [RUNNING] * 6
    assert [job for _, job in first] == [job for _, job in second][::-1]  # the same job for each lead


async def test_a_selection_is_refused_whole_when_malformed_empty_or_too_large(leads: SimpleNamespace) -> None:
    org = uuid.uuid4()
    lead = await leads.add(org, "kept@acme.io")
    too_many = [str(uuid.uuid4()) for _ in range(listing.MAX_LEAD_IDS)] + [str(lead)]
    for method, request_type in (("DeleteLeads", leads_pb2.DeleteLeadsRequest),
                                 ("EnrichLeads", leads_pb2.EnrichLeadsRequest)):  # fmt: skip
        for ids, field in ((too_many, "lead_ids"), ([], "lead_ids"), ([str(lead), "nope"], "lead_ids[1]")):
            with pytest.raises(InvalidArgument) as refused:
                await leads.call(org, method, request_type(lead_ids=ids))
            assert refused.value.violations[0].field == field, (method, field)
    with pytest.raises(InvalidArgument):
        await leads.call(org, "EnrichLeads", leads_pb2.EnrichLeadsRequest(lead_ids=[str(lead)], provider="nope"))
    with pytest.raises(Unavailable, match="HUNTER_API_KEY"):
        await leads.call(org, "EnrichLeads", leads_pb2.EnrichLeadsRequest(lead_ids=[str(lead)], provider="hunter"))
    assert len(await leads.rows(EnrichmentRun, EnrichmentRun.lead_id == lead)) == 1  # its creation's only
    # Exactly the limit is fine.
    at_limit = leads_pb2.DeleteLeadsRequest(lead_ids=too_many[1:])
    assert list((await leads.call(org, "DeleteLeads", at_limit)).outcomes).count(DELETED) == 1
    assert await leads.rows(Lead, Lead.id == lead) == []
