"""ICP domain logic: profiles and search runs. Plain functions; the caller owns the transaction."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from icp import events, run_pages
from icp import rules as icp_rules
from icp.convert import FINISHED
from icp.models import Icp, SearchRun, platform_tables
from leadflood.icp.v1 import jobs_pb2
from leadflood_platform import jobs
from leadflood_platform.errors import AlreadyExists, FailedPrecondition, FieldViolation, InvalidArgument, NotFound

MAX_LIMIT = 100_000


async def create(*, session: AsyncSession, org_id: uuid.UUID, name: str, rules: icp_rules.Rules) -> Icp:
    name, rules = icp_rules.validate_profile(name, rules)
    icp = Icp(id=uuid.uuid4(), org_id=org_id, name=name, **rules.as_dict())
    session.add(icp)
    await _flush_unique_name(session, icp.name)
    return icp


async def get(*, session: AsyncSession, org_id: uuid.UUID, icp_id: uuid.UUID) -> Icp:
    icp = (await session.execute(select(Icp).where(Icp.id == icp_id, Icp.org_id == org_id))).scalar_one_or_none()
    if icp is None:
        raise NotFound(f"ICP {icp_id} not found")
    return icp


async def list_all(*, session: AsyncSession, org_id: uuid.UUID) -> Sequence[Icp]:
    return (await session.execute(select(Icp).where(Icp.org_id == org_id).order_by(Icp.name))).scalars().all()


async def update(
    *, session: AsyncSession, org_id: uuid.UUID, icp_id: uuid.UUID, name: str, rules: icp_rules.Rules
) -> tuple[Icp, bool]:
    """The ICP with its new name and rules, and whether its minimum score changed (its leads must follow it).

    The row is locked as it is read: a save at the same moment waits, and then compares with this one's minimum.
    """
    icp = (
        await session.execute(select(Icp).where(Icp.id == icp_id, Icp.org_id == org_id).with_for_update())
    ).scalar_one_or_none()
    if icp is None:
        raise NotFound(f"ICP {icp_id} not found")
    name, rules = icp_rules.validate_profile(name, rules)
    min_score_changed = icp.min_score != rules.min_score
    icp.name = name
    for key, value in rules.as_dict().items():
        setattr(icp, key, value)
    icp.updated_at = dt.datetime.now(dt.UTC)
    await _flush_unique_name(session, icp.name)
    return icp, min_score_changed


async def remove(*, session: AsyncSession, org_id: uuid.UUID, icp_id: uuid.UUID) -> None:
    """Deletes the ICP and its runs; leads it sourced stay, still naming it."""
    deleted = await session.execute(delete(Icp).where(Icp.id == icp_id, Icp.org_id == org_id).returning(Icp.id))
    if deleted.scalar_one_or_none() is None:
        raise NotFound(f"ICP {icp_id} not found")


async def _flush_unique_name(session: AsyncSession, name: str) -> None:
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise AlreadyExists(f"an ICP named {name!r} already exists", [FieldViolation("name", "is taken")]) from None


async def start_search(
    *,
    session: AsyncSession,
    org_id: uuid.UUID,
    icp_id: uuid.UUID,
    source: str,
    limit: int,
    force: bool,
    per_page: int,
    search_kind: type[jobs.JobKind[Any, Any]],
    max_attempts: int,
    today: dt.date,
) -> tuple[SearchRun, bool]:
    """Today's run with the same parameters, or a new queued run with its job; True when reused."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidArgument.on("limit", f"must be between 1 and {MAX_LIMIT}")
    icp = await get(session=session, org_id=org_id, icp_id=icp_id)
    rules = icp_rules.rules_of(icp)
    key = icp_rules.search_key(icp_id=str(icp_id), source=source, limit=limit, rules=rules, day=today)
    run_id = uuid.uuid4()
    if force:
        key = f"{key}:{run_id}"
    inserted = await session.execute(
        insert(SearchRun)
        .values(
            id=run_id,
            org_id=org_id,
            icp_id=icp_id,
            source=source,
            limit=limit,
            per_page=min(per_page, limit),
            rules=rules.as_dict(),
            idempotency_key=key,
            status="queued",
            diagnostics={},
        )
        .on_conflict_do_nothing(index_elements=["org_id", "idempotency_key"])
        .returning(SearchRun.id)
    )
    if inserted.scalar_one_or_none() is None:
        existing = await session.execute(
            select(SearchRun).where(SearchRun.org_id == org_id, SearchRun.idempotency_key == key)
        )
        return existing.scalar_one(), True
    job_id = await jobs.enqueue(
        session,
        platform_tables,
        search_kind,
        jobs_pb2.SearchJob(run_id=str(run_id), org_id=str(org_id)),
        org_id=org_id,
        max_attempts=max_attempts,
    )
    run = await get_run(session=session, org_id=org_id, icp_id=icp_id, run_id=run_id)
    run.job_id = job_id
    return run, False


async def get_run(*, session: AsyncSession, org_id: uuid.UUID, icp_id: uuid.UUID, run_id: uuid.UUID) -> SearchRun:
    run = (
        await session.execute(
            select(SearchRun).where(SearchRun.id == run_id, SearchRun.icp_id == icp_id, SearchRun.org_id == org_id)
        )
    ).scalar_one_or_none()
    if run is None:
        raise NotFound(f"search run {run_id} not found")
    return run


async def cancel_run(*, session: AsyncSession, org_id: uuid.UUID, icp_id: uuid.UUID, run_id: uuid.UUID) -> SearchRun:
    """Marks a queued or running run cancelled; its job stops at its next page (see workers.RunSearch).

    The row is locked, so a run finishing at the same moment is either finished (refused) or cancelled.
    Its idempotency key is freed: the same search started again today is a new run, not this one.
    """
    run = (
        await session.execute(
            select(SearchRun)
            .where(SearchRun.id == run_id, SearchRun.icp_id == icp_id, SearchRun.org_id == org_id)
            .with_for_update()
        )
    ).scalar_one_or_none()
    if run is None:
        raise NotFound(f"search run {run_id} not found")
    if run.status in FINISHED:
        raise FailedPrecondition(f"the search run has already finished ({run.status}): there is nothing to cancel")
    run.status, run.finished_at = "cancelled", func.now()
    run.idempotency_key = f"{run.idempotency_key}:cancelled:{run.id}"
    await session.flush()
    await session.refresh(run)
    await events.search_run_changed(session, org_id=org_id, run_id=run.id, icp_id=icp_id, status="cancelled")
    return run


async def list_runs(
    *, session: AsyncSession, org_id: uuid.UUID, icp_id: uuid.UUID, size: int, cursor: str, with_total: bool
) -> tuple[Sequence[SearchRun], str, tuple[int, bool] | None]:
    """A page of the ICP's runs, newest first, the next page's cursor, and (asked for, on the first page) their
    total. NotFound for an ICP not the org's."""
    await get(session=session, org_id=org_id, icp_id=icp_id)
    runs, next_cursor = await run_pages.page(session=session, org_id=org_id, icp_id=icp_id, size=size, cursor=cursor)
    # Counted on the first page only: "Load more" keeps the total it was shown.
    if not with_total or cursor:
        return runs, next_cursor, None
    return runs, next_cursor, await run_pages.total(session=session, org_id=org_id, icp_id=icp_id)
