"""A long job's progress, shown while it runs: written as the job's result, which its completion replaces."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, update

from leadflood_platform.db import Database
from leadflood_platform.jobs import RUNNING
from leadflood_platform.tables import PlatformTables


async def report(db: Database, tables: PlatformTables, job_id: str, progress: dict[str, Any]) -> None:
    """Record how far a running job has got (GET /v1/jobs/{id} shows it as the job's result).

    Only while the job runs: a late report never overwrites a finished job's result.
    """
    jobs = tables.jobs
    async with db.transaction() as session:
        await session.execute(
            update(jobs)
            .where(jobs.c.id == uuid.UUID(job_id), jobs.c.status == RUNNING)
            .values(result=progress, updated_at=func.now())
        )
