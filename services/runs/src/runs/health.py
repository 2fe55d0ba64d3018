"""Queue health, as an operator reads it: how long due work waits, what is held, retried, failed, recovered."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from runs.models import FAILED, LEASED, PENDING, RunLead, WorkerBeat, platform_tables

# A worker silent for longer than this is left off the list (it stopped; its leases expire on their own).
WORKER_SEEN_S = 3600


@dataclass
class Health:
    oldest_pending_age_s: float = 0.0
    pending: int = 0
    running: int = 0
    retries: int = 0
    failures: int = 0
    stale_recoveries: int = 0
    dead_letters: int = 0
    workers: list[tuple[str, int, dt.datetime]] = field(default_factory=list)


async def queue_health(session: AsyncSession, *, org_id: uuid.UUID) -> Health:
    now = func.now()
    row = (
        await session.execute(
            select(
                func.coalesce(
                    func.extract(
                        "epoch", now - func.min(RunLead.due_at).filter(RunLead.status == PENDING, RunLead.due_at <= now)
                    ),
                    0,
                ),
                func.count().filter(RunLead.status == PENDING, RunLead.due_at <= now),
                func.count().filter(RunLead.status == LEASED),
                func.coalesce(func.sum(RunLead.attempts), 0),
                func.count().filter(RunLead.status == FAILED),
                func.coalesce(func.sum(RunLead.stale_recoveries), 0),
            ).where(RunLead.org_id == org_id)
        )
    ).one()
    jobs = platform_tables.jobs
    dead = (
        await session.execute(select(func.count()).where(jobs.c.org_id == org_id, jobs.c.status == "failed"))
    ).scalar_one()
    workers = (
        await session.execute(
            select(WorkerBeat.worker, WorkerBeat.running, WorkerBeat.beat_at)
            .where(WorkerBeat.beat_at > now - text(f"interval '{WORKER_SEEN_S} seconds'"))
            .order_by(WorkerBeat.worker)
        )
    ).all()
    return Health(
        oldest_pending_age_s=max(0.0, float(row[0])), pending=row[1], running=row[2], retries=int(row[3]),
        failures=row[4], stale_recoveries=int(row[5]), dead_letters=dead,
        workers=[(w.worker, w.running, w.beat_at) for w in workers],
    )  # fmt: skip
