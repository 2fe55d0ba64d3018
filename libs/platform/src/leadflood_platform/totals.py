"""A list's total, as the lists' headers show it: exact up to a cap, then "10,000+"."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

# Past this many, a list's count stops: an org's first page stays as fast with a million rows as with ten
# thousand, and nobody reads a larger number off a table's header (every list's, the leads list's too).
MAX_TOTAL = 10_000


async def capped_count(session: AsyncSession, matching: Select[Any], cap: int = MAX_TOTAL) -> tuple[int, bool]:
    """How many rows `matching` selects, counted up to `cap`, and whether there are more than that.

    The count reads at most cap + 1 rows (a LIMIT inside the count), whatever the table holds.
    """
    counted = await session.scalar(select(func.count()).select_from(matching.limit(cap + 1).subquery()))
    return min(counted or 0, cap), (counted or 0) > cap
