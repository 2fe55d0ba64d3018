"""Pages of one search run applied at the same moment, straight at the leads service's gRPC API.

The icp worker hands several pages of a run to the leads service at once. People who appear on more
than one of them must become one lead, counted as created once and as a duplicate everywhere else,
whichever page's transaction gets there first; a page resent while its first copy is still being
applied must not be applied twice.
"""

from __future__ import annotations

import asyncio
import uuid

import grpc
import pytest

from devstack.stack import Stack
from leadflood.icp.v1 import icp_pb2
from leadflood.leads.v1 import leads_pb2, leads_pb2_grpc
from leadflood_platform import identity

PAGES, PER_PAGE, SHARED = 6, 200, 50  # every page also carries the same SHARED people


def _person(n: int, run: str) -> leads_pb2.SourcedPerson:
    return leads_pb2.SourcedPerson(
        external_id=f"conc-{run}-{n}", email=f"p{n}.{run}@concurrency.example", first_name="Pat", last_name=f"N{n}",
        title="VP Sales", seniority="vp", company_name="Concurrency Oy", industry="Software", company_size=40,
    )  # fmt: skip


def _page(batch: int, run_id: str, icp_id: str, tag: str) -> leads_pb2.UpsertSourcedLeadsRequest:
    own = range(SHARED + (batch - 1) * PER_PAGE, SHARED + batch * PER_PAGE)
    people = [_person(n, tag) for n in [*range(SHARED), *own]]
    if batch % 2:  # both row orders, so two pages' row locks are requested in opposite orders
        people.reverse()
    return leads_pb2.UpsertSourcedLeadsRequest(
        search_run_id=run_id, icp_id=icp_id, source="sandbox", batch=batch, people=people,
        rules=icp_pb2.IcpRules(titles=["VP Sales"], min_score=10, weights=icp_pb2.ScoringWeights(title=100)),
    )  # fmt: skip


@pytest.mark.parametrize("attempt", range(3))
async def test_pages_applied_at_once_create_each_person_once(stack: Stack, attempt: int) -> None:
    org, run_id, icp_id, tag = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4()), uuid.uuid4().hex[:8]
    metadata = identity.metadata_for(org)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{stack.config.ports.grpc['leads']}") as channel:
        leads = leads_pb2_grpc.LeadsServiceStub(channel)
        pages = [_page(batch, run_id, icp_id, tag) for batch in range(1, PAGES + 1)]
        # Every page twice, all at once: the second copy of a page must replay the first's counts.
        replies = await asyncio.gather(
            *(leads.UpsertSourcedLeads(page, metadata=metadata, timeout=30) for page in pages + pages)
        )
        emails, cursor = [], ""
        while True:
            listed = await leads.ListLeads(
                leads_pb2.ListLeadsRequest(
                    search_run_id=run_id, page_size=500, filtered=leads_pb2.FILTERED_VIEW_ALL, cursor=cursor
                ),
                metadata=metadata,
                timeout=30,
            )
            emails += [lead.email for lead in listed.leads]
            if not (cursor := listed.next_cursor):
                break

    first, second = replies[:PAGES], replies[PAGES:]
    for a, b in zip(first, second, strict=True):
        assert a.diagnostics == b.diagnostics and a.replayed != b.replayed
    applied = [r.diagnostics for r in replies if not r.replayed]
    unique = SHARED + PAGES * PER_PAGE
    assert sum(d.created for d in applied) == unique
    assert sum(d.duplicates for d in applied) == (PAGES - 1) * SHARED
    assert sum(d.updated for d in applied) == 0
    for d in applied:
        assert d.fetched == d.duplicates + d.failed + d.created + d.updated
    assert len(emails) == len(set(emails)) == unique
