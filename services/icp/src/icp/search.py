"""The `icp.search` job: page through a provider, keep each page, hand it to the leads service.

Each page is stored before it is handed on, and handed on under an idempotency key (run, page),
so a run resumed after a crash neither fetches a stored page again nor creates a lead twice.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from icp.convert import DIAGNOSTICS, rules_to_proto
from icp.models import SearchPage, SearchRun
from icp.providers.base import Person, SearchProvider, SearchQuery
from leadflood.icp.v1 import icp_pb2, jobs_pb2
from leadflood.leads.v1 import leads_pb2, leads_pb2_grpc
from leadflood_platform.db import Database
from leadflood_platform.jobs import JobKind

log = logging.getLogger(__name__)


def _query(run: SearchRun) -> SearchQuery:
    rules = run.rules
    return SearchQuery(
        titles=tuple(rules["titles"]),
        seniorities=tuple(rules["seniorities"]),
        industries=tuple(rules["industries"]),
        locations=tuple(rules["locations"]),
        keywords=tuple(rules["keywords"]),
        company_size_min=rules["company_size_min"],
        company_size_max=rules["company_size_max"],
        seed=str(run.icp_id),
    )


def _sourced(person: Person) -> leads_pb2.SourcedPerson:
    return leads_pb2.SourcedPerson(
        external_id=person.external_id,
        email=person.email or "",
        first_name=person.first_name,
        last_name=person.last_name,
        title=person.title,
        seniority=person.seniority,
        company_name=person.company_name,
        company_domain=person.company_domain,
        industry=person.industry,
        company_size=person.company_size or 0,
        location=person.location,
        linkedin_url=person.linkedin_url,
    )


# How many fetched pages may wait for the leads service, and how many it may be applying at once:
# the provider, the leads service's parsing and scoring, and PostgreSQL then work at the same time.
# The leads service may apply pages of one run at once: its upsert keeps the counts exact.
FETCH_AHEAD = 2
DELIVER_AHEAD = 2


class SearchRunner:
    """Runs one search run to its end, resuming where a previous attempt stopped."""

    def __init__(
        self,
        db: Database,
        provider_for: Callable[[str], SearchProvider],
        leads: leads_pb2_grpc.LeadsServiceStub,
        leads_timeout_s: float,
    ) -> None:
        self.db, self.provider_for, self.leads, self.leads_timeout_s = db, provider_for, leads, leads_timeout_s

    async def run(self, message: jobs_pb2.SearchJob, attempt: int) -> None:
        run = await self._load(uuid.UUID(message.run_id))
        pages: asyncio.Queue[SearchPage | BaseException | None] = asyncio.Queue(maxsize=FETCH_AHEAD)
        fetcher = asyncio.create_task(self._fetch_pages(run, pages))
        rules = rules_to_proto(run.rules)
        delivering: set[asyncio.Task[None]] = set()
        try:
            while (page := await pages.get()) is not None:
                if isinstance(page, BaseException):
                    raise page
                if page.delivered:
                    continue
                if len(delivering) >= DELIVER_AHEAD:
                    done, delivering = await asyncio.wait(delivering, return_when=asyncio.FIRST_COMPLETED)
                    for task in done:
                        task.result()  # a failed delivery fails (or retries) the job
                delivering.add(asyncio.create_task(self._deliver(run, page, rules)))
            for task in asyncio.as_completed(delivering):
                await task
        finally:
            fetcher.cancel()
            for task in delivering:
                task.cancel()

    async def _fetch_pages(self, run: SearchRun, pages: asyncio.Queue[SearchPage | BaseException | None]) -> None:
        """Yields the stored pages from the first undelivered one, then fetches (and stores) the rest."""
        try:
            provider, query = self.provider_for(run.source), _query(run)
            number, fetched, exhausted = run.next_page, run.people_fetched, run.exhausted
            while True:
                page = await self._stored_page(run.id, number)
                if page is None:
                    if exhausted or fetched >= run.limit:
                        break
                    page, exhausted = await self._fetch(run, provider, query, number, fetched)
                    fetched += page.count
                await pages.put(page)
                number += 1
            await pages.put(None)
        except Exception as exc:  # handed to the delivering side, which fails or retries the job
            await pages.put(exc)

    async def _fetch(
        self, run: SearchRun, provider: SearchProvider, query: SearchQuery, number: int, fetched: int
    ) -> tuple[SearchPage, bool]:
        result = await provider.search(query, page=number, per_page=run.per_page)
        people = result.people[: run.limit - fetched]
        exhausted = not result.has_more or fetched + len(people) >= run.limit
        batch = leads_pb2.UpsertSourcedLeadsRequest(people=[_sourced(p) for p in people])
        page = SearchPage(
            run_id=run.id, page=number, people=batch.SerializeToString(), count=len(people), delivered=False
        )
        async with self.db.transaction() as session:
            session.add(page)
            await session.execute(
                update(SearchRun)
                .where(SearchRun.id == run.id)
                .values(
                    pages_fetched=SearchRun.pages_fetched + 1,
                    people_fetched=SearchRun.people_fetched + len(people),
                    exhausted=exhausted,
                )
            )
        log.info("page fetched", extra={"run_id": str(run.id), "page": number, "people": len(people)})
        return page, exhausted

    async def _deliver(self, run: SearchRun, page: SearchPage, rules: icp_pb2.IcpRules) -> None:
        request = leads_pb2.UpsertSourcedLeadsRequest.FromString(page.people)
        request.search_run_id, request.icp_id, request.source, request.batch = (
            str(run.id), str(run.icp_id), run.source, page.page,
        )  # fmt: skip
        request.rules.CopyFrom(rules)
        # wait_for_ready: a leads service that is restarting is waited for (up to the deadline),
        # rather than failing the attempt at once.
        reply = await self.leads.UpsertSourcedLeads(request, timeout=self.leads_timeout_s, wait_for_ready=True)
        counts = {name: getattr(reply.diagnostics, name) for name in DIAGNOSTICS}
        async with self.db.transaction() as session:
            marked = await session.execute(
                update(SearchPage)
                .where(SearchPage.run_id == run.id, SearchPage.page == page.page, SearchPage.delivered.is_(False))
                .values(delivered=True, diagnostics=counts)
                .returning(SearchPage.page)
            )
            if marked.scalar_one_or_none() is not None:
                await _add_diagnostics(session, run.id, counts, next_page=page.page + 1)

    async def _load(self, run_id: uuid.UUID) -> SearchRun:
        async with self.db.transaction() as session:
            return (await session.execute(select(SearchRun).where(SearchRun.id == run_id))).scalar_one()

    async def _stored_page(self, run_id: uuid.UUID, page: int) -> SearchPage | None:
        async with self.db.transaction() as session:
            return await session.get(SearchPage, (run_id, page))


async def _add_diagnostics(session: AsyncSession, run_id: uuid.UUID, counts: dict[str, int], *, next_page: int) -> None:
    run = (await session.execute(select(SearchRun).where(SearchRun.id == run_id).with_for_update())).scalar_one()
    run.diagnostics = {k: run.diagnostics.get(k, 0) + counts.get(k, 0) for k in DIAGNOSTICS}
    # Pages may finish out of order: a resumed run starts at the first page not yet handed on.
    undelivered = await session.execute(
        select(func.min(SearchPage.page)).where(SearchPage.run_id == run_id, SearchPage.delivered.is_(False))
    )
    run.next_page = undelivered.scalar_one() or max(run.next_page, next_page)


async def _set_run(session: AsyncSession, message: jobs_pb2.SearchJob, **values: Any) -> None:
    await session.execute(update(SearchRun).where(SearchRun.id == uuid.UUID(message.run_id)).values(**values))


def search_kind(runner: SearchRunner | None) -> JobKind:
    """The job kind; the server only enqueues it (runner None), the worker runs it."""

    async def perform(message: jobs_pb2.SearchJob, attempt: int) -> None:
        assert runner is not None, "search jobs run in the worker process"
        await runner.run(message, attempt)

    async def apply(session: AsyncSession, message: jobs_pb2.SearchJob, _: None) -> dict[str, Any]:
        await _set_run(session, message, status="completed", error=None, finished_at=func.now())
        run = await session.get(SearchRun, uuid.UUID(message.run_id))
        return {"runId": message.run_id, "diagnostics": run.diagnostics if run else {}}

    async def on_start(session: AsyncSession, message: jobs_pb2.SearchJob) -> None:
        await _set_run(session, message, status="running", started_at=func.coalesce(SearchRun.started_at, func.now()))

    async def on_failure(session: AsyncSession, message: jobs_pb2.SearchJob, error: str) -> None:
        await _set_run(session, message, status="failed", error=error, finished_at=func.now())

    return JobKind(
        type="icp.search",
        subject="jobs.icp.search",
        message_type=jobs_pb2.SearchJob,
        perform=perform,
        apply=apply,
        on_start=on_start,
        on_failure=on_failure,
    )
