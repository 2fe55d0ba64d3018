"""A search run's work: page through a provider, keep each page, hand it to the leads service.

The job that runs it is `workers.RunSearch`.

Each page is stored before it is handed on, and handed on under an idempotency key (run, page),
so a run resumed after a crash neither fetches a stored page again nor creates a lead twice.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Callable

import grpc
from sqlalchemy import select

from icp import events
from icp.convert import DIAGNOSTICS, rules_to_proto
from icp.models import SearchPage, SearchRun
from icp.providers.base import Person, SearchProvider, SearchQuery
from leadflood.icp.v1 import icp_pb2, jobs_pb2
from leadflood.leads.v1 import leads_pb2
from leadflood_platform.db import Database
from leadflood_platform.jobs import JobStopped

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


_EMPTY = {"email": "", "company_size": 0}


def _people_bytes(people: list[Person]) -> bytes:
    """The page as it is stored and sent on: an UpsertSourcedLeadsRequest with only `columns` set, serialised."""
    batch = leads_pb2.UpsertSourcedLeadsRequest()
    if not people:
        return batch.SerializeToString()
    # A person is a tuple in Person's field order, and the columns have Person's field names.
    for name, values in zip(Person._fields, zip(*people, strict=True), strict=True):
        fill = _EMPTY.get(name)  # a value the provider did not give, as protobuf's default
        getattr(batch.columns, name).extend(values if fill is None else [value or fill for value in values])
    return batch.SerializeToString()


# The method's path, to call it with the request already serialised (see _deliver).
_UPSERT = leads_pb2.DESCRIPTOR.services_by_name["LeadsService"].methods_by_name["UpsertSourcedLeads"]
UPSERT_SOURCED_LEADS = f"/{_UPSERT.containing_service.full_name}/{_UPSERT.name}"

# The statements each page runs, one statement each, on a pooled connection's bare asyncpg connection
# outside a transaction (Database.driver(transaction=False)): against SQLAlchemy's Core, the worker's CPU per
# run fell from 2.47 to 2.27 s (interleaved A/B), and no transaction is held open between statements
# while the event loop makes the next page. JSON goes in as text.
# The page and the run's counts in one statement: a data-modifying WITH runs whether or not it is read.
_STORE_PAGE = """
WITH stored AS (
  INSERT INTO search_pages (run_id, page, people, count, delivered) VALUES ($1, $2, $3, $4, false)
)
UPDATE search_runs SET pages_fetched = pages_fetched + 1, people_fetched = people_fetched + $4, exhausted = $5
WHERE id = $1
RETURNING status
"""
# The page handed on and its counts added to the run's, once however often it is handed on: the run
# is updated only when this statement marked the page. Two pages marked at once both add their counts
# (the second UPDATE waits for the first and re-reads the run row it changed). A resumed run starts at
# the first page not yet handed on (pages may finish out of order); a page handed on at the same moment
# may still look undelivered here, and a resumed run then starts at it and skips it, as delivered.
_MARK_DELIVERED = """
WITH marked AS (
  UPDATE search_pages SET delivered = true, diagnostics = $3::jsonb
  WHERE run_id = $1 AND page = $2 AND NOT delivered
  RETURNING page
)
UPDATE search_runs r SET
  diagnostics = (
    SELECT jsonb_object_agg(name, coalesce((r.diagnostics ->> name)::bigint, 0) + ($3::jsonb ->> name)::bigint)
    FROM unnest($4::text[]) AS name
  ),
  next_page = coalesce(
    (SELECT min(page) FROM search_pages WHERE run_id = $1 AND NOT delivered AND page <> $2),
    greatest(r.next_page, $2 + 1)
  ),
  pages_delivered = r.pages_delivered + 1
WHERE r.id = $1 AND EXISTS (SELECT FROM marked)
RETURNING r.status
"""

# How many fetched pages may wait for the leads service, and how many it may be applying at once:
# the provider, the leads service's parsing and scoring, and PostgreSQL then work at the same time.
# The leads service may apply pages of one run at once: its upsert keeps the counts exact. Three in
# flight rather than two: faster in each of three interleaved make bench pairs, about 5% more leads/s
# against the same run's raw insert rate (four was no faster than two, in an earlier round).
FETCH_AHEAD = 2
DELIVER_AHEAD = 3


class Cancelled(Exception):
    """The fetcher found its run cancelled: no more pages."""


class SearchRunner:
    """Runs one search run to its end, resuming where a previous attempt stopped."""

    def __init__(
        self,
        db: Database,
        provider_for: Callable[[str], SearchProvider],
        leads: grpc.aio.Channel,
        leads_timeout_s: float,
    ) -> None:
        self.db, self.provider_for, self.leads_timeout_s = db, provider_for, leads_timeout_s
        # UpsertSourcedLeads taking the request as bytes: see _deliver.
        self.upsert_sourced_leads = leads.unary_unary(
            UPSERT_SOURCED_LEADS, response_deserializer=leads_pb2.UpsertSourcedLeadsResponse.FromString
        )

    async def run(self, message: jobs_pb2.SearchJob, attempt: int) -> None:
        run_id = uuid.UUID(message.run_id)
        try:
            await self._run(run_id)
        except Exception:
            # Deleting an ICP deletes its runs, and a run deleted mid-way fails wherever it next
            # touches its rows (a foreign key, a missing row): say why, rather than how.
            if not await self._exists(run_id):
                raise JobStopped("stopped: the ICP was deleted during the search run") from None
            raise

    async def _exists(self, run_id: uuid.UUID) -> bool:
        async with self.db.transaction() as session:
            return await session.scalar(select(SearchRun.id).where(SearchRun.id == run_id)) is not None

    async def _run(self, run_id: uuid.UUID) -> None:
        run = await self._load(run_id)
        pages: asyncio.Queue[SearchPage | BaseException | None] = asyncio.Queue(maxsize=FETCH_AHEAD)
        fetcher = asyncio.create_task(self._fetch_pages(run, pages))
        rules = rules_to_proto(run.rules)
        delivering: set[asyncio.Task[None]] = set()
        # A slot is taken per page sent and given back with the reply: marking the page delivered
        # then overlaps the next page's sending.
        slots = asyncio.Semaphore(DELIVER_AHEAD)
        try:
            while (page := await pages.get()) is not None:
                if isinstance(page, Cancelled):
                    # The pages already with the leads service are counted before the job stops: their
                    # leads exist, and the run's counters must say so.
                    await asyncio.gather(*delivering, return_exceptions=True)
                    raise JobStopped("stopped: the search run was cancelled")
                if isinstance(page, BaseException):
                    raise page
                await slots.acquire()
                for task in [task for task in delivering if task.done()]:
                    delivering.discard(task)
                    task.result()  # a failed delivery fails (or retries) the job
                delivering.add(asyncio.create_task(self._deliver(run, page, rules, slots)))
            for task in asyncio.as_completed(delivering):
                await task
        finally:
            fetcher.cancel()
            for task in delivering:
                task.cancel()

    async def _fetch_pages(self, run: SearchRun, pages: asyncio.Queue[SearchPage | BaseException | None]) -> None:
        """Yields the stored pages not yet handed on, from the first of them, then fetches (and stores) the rest."""
        try:
            provider, query = self.provider_for(run.source), _query(run)
            number, fetched, exhausted = run.next_page, run.people_fetched, run.exhausted
            # Looked up once: a fresh page then costs no read, and a delivered one is not loaded.
            stored = await self._stored_pages(run.id, number)
            while True:
                if number in stored:
                    if not stored[number]:
                        await pages.put(await self._stored_page(run.id, number))
                elif exhausted or fetched >= run.limit:
                    break
                else:
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
        page = SearchPage(run_id=run.id, page=number, people=_people_bytes(people), count=len(people))
        async with self.db.driver(transaction=False) as connection:
            status = await connection.fetchval(_STORE_PAGE, run.id, number, page.people, page.count, exhausted)
        if status == "cancelled":  # checked at every page: a cancelled run fetches no further
            raise Cancelled()
        log.info("page fetched", extra={"run_id": str(run.id), "page": number, "people": len(people)})
        return page, exhausted

    async def _deliver(
        self, run: SearchRun, page: SearchPage, rules: icp_pb2.IcpRules, slots: asyncio.Semaphore
    ) -> None:
        head = leads_pb2.UpsertSourcedLeadsRequest(
            search_run_id=str(run.id), icp_id=str(run.icp_id), source=run.source, batch=page.page, rules=rules
        )
        # The stored page follows the other fields as it is: serialised messages concatenated parse as one
        # (repeated fields append), so ~185 KB of people are neither parsed nor serialised again.
        request = head.SerializeToString() + page.people
        # wait_for_ready: a leads service that is restarting is waited for (up to the deadline),
        # rather than failing the attempt at once.
        try:
            reply = await self.upsert_sourced_leads(request, timeout=self.leads_timeout_s, wait_for_ready=True)
        finally:
            slots.release()
        counts = {name: getattr(reply.diagnostics, name) for name in DIAGNOSTICS}
        # The page's counts and the event that tells live pages to re-read them, in one transaction.
        async with self.db.driver(transaction=True) as connection:
            status = await connection.fetchval(
                _MARK_DELIVERED, run.id, page.page, json.dumps(counts), list(DIAGNOSTICS)
            )
            if status is not None:  # None: handed on before (nothing changed), or the run was deleted
                await events.search_run_changed(
                    connection, org_id=run.org_id, run_id=run.id, icp_id=run.icp_id, status=status
                )

    async def _load(self, run_id: uuid.UUID) -> SearchRun:
        async with self.db.transaction() as session:
            return (await session.execute(select(SearchRun).where(SearchRun.id == run_id))).scalar_one()

    async def _stored_pages(self, run_id: uuid.UUID, first: int) -> dict[int, bool]:
        """Whether each page stored from `first` on was delivered."""
        async with self.db.transaction() as session:
            stored = await session.execute(
                select(SearchPage.page, SearchPage.delivered).where(
                    SearchPage.run_id == run_id, SearchPage.page >= first
                )
            )
            return dict(stored.tuples().all())

    async def _stored_page(self, run_id: uuid.UUID, page: int) -> SearchPage:
        async with self.db.transaction() as session:
            return await session.get_one(SearchPage, (run_id, page))
