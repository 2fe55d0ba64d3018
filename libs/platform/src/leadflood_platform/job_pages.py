"""A service's jobs a page at a time, in the one order every service lists them in, and their count."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, select, tuple_
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.jobs.v1 import jobs_pb2
from leadflood_platform import totals
from leadflood_platform.errors import InvalidArgument, NotFound
from leadflood_platform.jobs import parse_public_id
from leadflood_platform.tables import PlatformTables

MAX_PAGE = 200


@dataclass(frozen=True)
class After:
    """Where a page starts: after this job, newest first. `job_id` is the job's public id, of any service."""

    created_at: dt.datetime
    job_id: str = ""


def order(created_at: Any, public_id: str) -> tuple[Any, str, uuid.UUID]:
    """A job's place in every service's list, which is read newest first (highest first): its creation, then, for
    jobs created in the same microsecond, the owning service's name and the job's uuid. A caller merging several
    services' pages sorts by this too, so the last job it shows is a position each service can page on from."""
    owner, job_id = parse_public_id(public_id)
    return created_at, owner, job_id


def merge(replies: Sequence[jobs_pb2.ListJobsResponse], size: int) -> tuple[list[jobs_pb2.Job], bool]:
    """Several services' pages, each asked for `size` jobs after the same job, as one page: the first `size` of them
    all in `order`, whichever services they come from, and whether more follow. The next page is asked after the
    last job shown, so a job is never skipped nor shown twice, however the services' jobs interleave."""
    found = sorted(
        (job for reply in replies for job in reply.jobs),
        key=lambda job: order((job.created_at.seconds, job.created_at.nanos), job.id),
        reverse=True,
    )
    return found[:size], len(found) > size or any(reply.has_more for reply in replies)


def summed(replies: Sequence[jobs_pb2.ListJobsResponse], cap: int = totals.MAX_TOTAL) -> tuple[int, bool]:
    """The services' counts added up as one list's total: capped when any one's is, or when the sum passes `cap`."""
    found = sum(reply.total for reply in replies)
    return min(found, cap), found > cap or any(reply.total_capped for reply in replies)


def _matching(tables: PlatformTables, org_id: uuid.UUID, status: str) -> list[ColumnElement[bool]]:
    jobs = tables.jobs
    return [jobs.c.org_id == org_id, *([jobs.c.status == status] if status else [])]


def _after(tables: PlatformTables, after: After) -> ColumnElement[bool]:
    """The jobs of this service that come after `after` in `order`, newest first."""
    jobs = tables.jobs
    if not after.job_id:
        return jobs.c.created_at < after.created_at
    try:
        owner, last = parse_public_id(after.job_id)
    except NotFound:
        raise InvalidArgument.on("before_id", "is not a job id (<service>.<uuid>)") from None
    if tables.schema < owner:  # at the same moment, this service's jobs come after the other's
        return jobs.c.created_at <= after.created_at
    if tables.schema > owner:
        return jobs.c.created_at < after.created_at
    return tuple_(jobs.c.created_at, jobs.c.id) < tuple_(after.created_at, last)


async def page(
    session: AsyncSession,
    tables: PlatformTables,
    *,
    org_id: uuid.UUID,
    status: str,
    size: int,
    after: After | None,
) -> tuple[list[Row], bool]:
    """The org's jobs (of `status`, when given) newest first, after `after`, at most `size`; and whether more follow."""
    if not 1 <= size <= MAX_PAGE:
        raise InvalidArgument.on("page_size", f"must be between 1 and {MAX_PAGE}")
    jobs = tables.jobs
    query = select(*[c for c in jobs.c if c.name != "message"]).where(*_matching(tables, org_id, status))
    if after is not None:
        query = query.where(_after(tables, after))
    newest_first = query.order_by(jobs.c.created_at.desc(), jobs.c.id.desc()).limit(size + 1)
    rows = list((await session.execute(newest_first)).all())
    return rows[:size], len(rows) > size


async def total(
    session: AsyncSession, tables: PlatformTables, *, org_id: uuid.UUID, status: str, cap: int = totals.MAX_TOTAL
) -> tuple[int, bool]:
    """How many jobs `page` lists over all its pages, counted up to `cap`, and whether there are more."""
    matching: Select[Any] = select(tables.jobs.c.id).where(*_matching(tables, org_id, status))
    return await totals.capped_count(session, matching, cap)
