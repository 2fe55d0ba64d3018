"""The jobs of several services page as one list (#18): each service lists its own in the order they all share,
the caller merges their pages and asks the next after the last job it showed, so no job is skipped or shown twice,
whichever service it is in and however many were created in the same second (or microsecond); each counts its own,
by the list's status, exact up to the cap, and the counts add up as one total.

Two services' job tables ("alpha" and "beta" schemas of a scratch database), each served by the JobsServicer every
service runs, called as the gateway calls them."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from types import SimpleNamespace

import asyncpg
import pytest
from google.protobuf import timestamp_pb2
from sqlalchemy import MetaData, insert

from leadflood.jobs.v1 import jobs_pb2
from leadflood_platform import context, job_pages
from leadflood_platform.db import Database
from leadflood_platform.errors import InvalidArgument
from leadflood_platform.jobs_servicer import JobsServicer
from leadflood_platform.tables import PlatformTables

SERVICES = ("alpha", "beta")
FAILED = jobs_pb2.JOB_STATUS_FAILED
MOMENT = dt.datetime(2026, 3, 2, 9, 30, 15, 250_000, tzinfo=dt.UTC)


@pytest.fixture
async def world(scratch_dsn: str) -> AsyncIterator[SimpleNamespace]:
    """Two services' jobs of an org, mostly failed and mostly created within one second: several in the very same
    microsecond in both services, some in one service only; a completed job beside them, another org's too."""
    admin = await asyncpg.connect(scratch_dsn)
    try:
        for schema in SERVICES:
            await admin.execute(f"CREATE SCHEMA {schema}")
    finally:
        await admin.close()
    db = Database(scratch_dsn, pool_size=2)
    tables = {name: PlatformTables(MetaData(schema=name), version=2) for name in SERVICES}
    async with db.engine.begin() as connection:
        for table in tables.values():
            await connection.run_sync(table.jobs.create)
    org, other = uuid.uuid4(), uuid.uuid4()
    same_microsecond = MOMENT
    moments = {
        "alpha": [same_microsecond] * 4 + [MOMENT + dt.timedelta(microseconds=n) for n in (1, 7, 300_000)],
        "beta": [same_microsecond] * 3
        + [MOMENT + dt.timedelta(microseconds=n) for n in (1, 2, -400_000)]
        + [MOMENT - dt.timedelta(days=1)],
    }
    failed: list[tuple[dt.datetime, str, str]] = []  # (created_at, service, uuid text): an oracle of the order
    async with db.transaction() as session:
        for name, table in tables.items():
            for at in moments[name]:
                job_id = uuid.uuid4()
                await session.execute(insert(table.jobs).values(_job(job_id, org, "failed", at)))
                failed.append((at, name, str(job_id)))
            others = [(uuid.uuid4(), org, "completed"), (uuid.uuid4(), other, "failed")]
            for job_id, owner, status in others:
                await session.execute(insert(table.jobs).values(_job(job_id, owner, status, MOMENT)))
    # Newest first: created_at, then the service's name, then the uuid as text (what Postgres's uuid order is).
    expected = [f"{name}.{job_id}" for _, name, job_id in sorted(failed, reverse=True)]
    servicers = [JobsServicer(db, table) for table in tables.values()]
    try:
        yield SimpleNamespace(db=db, tables=tables, servicers=servicers, org=org, other=other, expected=expected)
    finally:
        await db.close()


def _job(job_id: uuid.UUID, org_id: uuid.UUID, status: str, at: dt.datetime) -> dict[str, object]:
    return dict(
        id=job_id, org_id=org_id, type="test.kind", status=status, max_attempts=3, payload={}, created_at=at,
        attempts=3 if status == "failed" else 1,
    )  # fmt: skip


async def _ask(w: SimpleNamespace, request: jobs_pb2.ListJobsRequest, org: uuid.UUID | None = None) -> list:
    with context.bound(org_id=str(org or w.org)):
        return [await servicer.ListJobs(request, None) for servicer in w.servicers]


async def _every_page(w: SimpleNamespace, size: int) -> list[list[str]]:
    """The merged list's pages as the gateway reads them: each service asked for `size` jobs after the last job
    shown, the first `size` of them all shown."""
    pages: list[list[str]] = []
    request = jobs_pb2.ListJobsRequest(status=FAILED, page_size=size)
    while True:
        shown, more = job_pages.merge(await _ask(w, request), size)
        pages.append([job.id for job in shown])
        if not more:
            return pages
        request = jobs_pb2.ListJobsRequest(status=FAILED, page_size=size, before=shown[-1].created_at,
                                           before_id=shown[-1].id)  # fmt: skip


async def test_the_merged_pages_hold_every_job_once_in_order_at_any_page_size(world: SimpleNamespace) -> None:
    w = world
    assert len(w.expected) == 14
    for size in range(1, len(w.expected) + 2):  # page boundaries fall inside every run of same-moment jobs
        pages = await _every_page(w, size)
        listed = [job for page in pages for job in page]
        assert listed == w.expected, f"page size {size}"  # each job once, none missing, newest first
        assert all(len(page) == size for page in pages[:-1]) and pages[-1], f"page size {size}: an empty last page"


async def test_a_page_boundary_between_jobs_of_one_microsecond_in_two_services(world: SimpleNamespace) -> None:
    w = world
    # Five jobs newer than MOMENT, then beta's three and alpha's four of that very microsecond (beta first: newest
    # first, services by name, descending), then beta's two older ones.
    tied = w.expected[5:12]
    assert [job.split(".")[0] for job in tied] == ["beta"] * 3 + ["alpha"] * 4
    first, second = (await _every_page(w, 6))[:2]  # a page ends on beta's first of the microsecond
    assert first[-1] == tied[0] and second == tied[1:7]
    first, second = (await _every_page(w, 8))[:2]  # a page ends on beta's last: alpha's of that moment follow
    assert first[-1] == tied[2] and second[:4] == tied[3:7]


async def test_jobs_created_while_paging_are_shown_once_where_they_belong(world: SimpleNamespace) -> None:
    w = world
    shown, _ = job_pages.merge(await _ask(w, jobs_pb2.ListJobsRequest(status=FAILED, page_size=4)), 4)
    newest, tied = uuid.uuid4(), uuid.uuid4()
    async with w.db.transaction() as session:
        beta = w.tables["beta"].jobs
        await session.execute(insert(beta).values(_job(newest, w.org, "failed", MOMENT + dt.timedelta(seconds=1))))
        await session.execute(insert(beta).values(_job(tied, w.org, "failed", MOMENT)))
    after = jobs_pb2.ListJobsRequest(status=FAILED, page_size=50, before=shown[-1].created_at, before_id=shown[-1].id)
    rest, more = job_pages.merge(await _ask(w, after), 50)
    listed = [job.id for job in shown + rest]
    # The newest belongs before the first page, read already: not shown now. The one of MOMENT comes after the
    # last job shown: among the rest, once.
    assert f"beta.{newest}" not in listed and listed.count(f"beta.{tied}") == 1 and not more
    assert [job for job in listed if job != f"beta.{tied}"] == w.expected


async def test_each_service_counts_its_own_by_the_status_and_the_counts_add_up(world: SimpleNamespace) -> None:
    w = world
    replies = await _ask(w, jobs_pb2.ListJobsRequest(status=FAILED, page_size=2, with_total=True))
    assert [(r.total, r.total_capped) for r in replies] == [(7, False), (7, False)]
    assert job_pages.summed(replies) == (14, False)  # every page's jobs, not only this page's
    every = await _ask(w, jobs_pb2.ListJobsRequest(page_size=2, with_total=True))  # any status: the completed too
    assert [r.total for r in every] == [8, 8]
    theirs = await _ask(w, jobs_pb2.ListJobsRequest(status=FAILED, with_total=True), org=w.other)
    assert [r.total for r in theirs] == [1, 1]
    later = jobs_pb2.ListJobsRequest(status=FAILED, with_total=True, before=replies[0].jobs[-1].created_at,
                                     before_id=replies[0].jobs[-1].id)  # fmt: skip
    assert not any(r.HasField("total") for r in await _ask(w, later))  # a later page is not counted again
    unasked = await _ask(w, jobs_pb2.ListJobsRequest(status=FAILED))
    assert not any(r.HasField("total") for r in unasked)

    async with w.db.transaction() as session:
        alpha = w.tables["alpha"]
        assert await job_pages.total(session, alpha, org_id=w.org, status="failed", cap=5) == (5, True)
        assert await job_pages.total(session, alpha, org_id=w.org, status="failed", cap=7) == (7, False)
    # Added up: capped when one service's count is, or when the sum passes the cap.
    one_capped = [jobs_pb2.ListJobsResponse(total=5, total_capped=True), jobs_pb2.ListJobsResponse(total=2)]
    assert job_pages.summed(one_capped, cap=10) == (7, True)
    assert job_pages.summed([jobs_pb2.ListJobsResponse(total=6)] * 2, cap=10) == (10, True)
    assert job_pages.summed([jobs_pb2.ListJobsResponse(total=5)] * 2, cap=10) == (10, False)


async def test_a_position_that_is_not_a_job_or_a_page_size_out_of_range_is_refused(world: SimpleNamespace) -> None:
    w = world
    at = timestamp_pb2.Timestamp()
    at.FromDatetime(MOMENT)
    for request, field in (
        (jobs_pb2.ListJobsRequest(before_id=w.expected[0]), "before_id"),  # a job without its moment
        (jobs_pb2.ListJobsRequest(before=at, before_id="not-a-job"), "before_id"),
        (jobs_pb2.ListJobsRequest(page_size=201), "page_size"),
        (jobs_pb2.ListJobsRequest(page_size=-1), "page_size"),
    ):
        with pytest.raises(InvalidArgument) as refused:
            await _ask(w, request)
        assert refused.value.violations[0].field == field
    # `before` alone, as before: the jobs created before that moment, none of that moment's.
    older = await _ask(w, jobs_pb2.ListJobsRequest(status=FAILED, before=at))
    assert sorted(job.id for reply in older for job in reply.jobs) == sorted(w.expected[-2:])
