"""An ICP's search runs a page at a time, newest first (a keyset cursor on the run's creation), and their total."""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from collections.abc import Sequence

from sqlalchemy import Select, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from icp.models import SearchRun
from leadflood_platform import totals
from leadflood_platform.errors import InvalidArgument

MAX_PAGE = 200


def _encode(run: SearchRun) -> str:
    return base64.urlsafe_b64encode(json.dumps([run.created_at.isoformat(), str(run.id)]).encode()).decode()


def _decode(cursor: str) -> tuple[dt.datetime, uuid.UUID]:
    try:
        at, run_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return dt.datetime.fromisoformat(at), uuid.UUID(run_id)
    except (ValueError, TypeError):
        raise InvalidArgument.on("cursor", "is not a cursor this list returned") from None


def _of(org_id: uuid.UUID, icp_id: uuid.UUID) -> Select[tuple[SearchRun]]:
    return select(SearchRun).where(SearchRun.icp_id == icp_id, SearchRun.org_id == org_id)


async def page(
    *, session: AsyncSession, org_id: uuid.UUID, icp_id: uuid.UUID, size: int, cursor: str
) -> tuple[Sequence[SearchRun], str]:
    """One page of the ICP's runs, newest first, and the cursor of the next ('' at the end)."""
    if not 1 <= size <= MAX_PAGE:
        raise InvalidArgument.on("page_size", f"must be between 1 and {MAX_PAGE}")
    query = _of(org_id, icp_id)
    if cursor:
        # (created_at, id): two runs started in the same microsecond still come once each.
        query = query.where(tuple_(SearchRun.created_at, SearchRun.id) < tuple_(*_decode(cursor)))
    order = (SearchRun.created_at.desc(), SearchRun.id.desc())
    runs = (await session.execute(query.order_by(*order).limit(size + 1))).scalars().all()
    if len(runs) <= size:
        return runs, ""
    return runs[:size], _encode(runs[size - 1])


async def total(
    *, session: AsyncSession, org_id: uuid.UUID, icp_id: uuid.UUID, cap: int = totals.MAX_TOTAL
) -> tuple[int, bool]:
    """How many runs the ICP has, counted up to `cap`, and whether there are more."""
    return await totals.capped_count(session, _of(org_id, icp_id).with_only_columns(SearchRun.id), cap)
