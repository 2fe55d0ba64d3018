"""The org's daily quotas and its cap on concurrent active runs, counted from real rows under a lock.

Admission takes a transaction-scoped advisory lock on the org, then counts the org's `lead_runs` rows
(running now; started since midnight UTC and the leads they took) and admits or refuses. Concurrent
starts of one org queue on the lock, so 20 at once with a cap of 3 admit exactly 3; other orgs take
other locks and never wait. There is no counter to leak: a run that finishes, fails or is cancelled
leaves `running`, and its slot is free in the same commit.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood_platform.errors import ResourceExhausted
from runs import metrics
from runs.models import RUNNING, LeadRun


@dataclass(frozen=True)
class Limits:
    max_runs_per_day: int
    max_leads_per_day: int
    max_active_runs: int


@dataclass(frozen=True)
class Usage:
    runs_today: int
    leads_today: int
    active_run_ids: list[uuid.UUID]
    resets_at: dt.datetime


def _refused(message: str, info: dict[str, str]) -> ResourceExhausted:
    """The refusal naming its limit, counted by it (leadflood_runs_quota_refusals_total)."""
    metrics.QUOTA_REFUSALS.labels(info["limit"]).inc()
    return ResourceExhausted(message, info=info)


def day_start(now: dt.datetime) -> dt.datetime:
    return now.astimezone(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)


async def lock_org(session: AsyncSession, org_id: uuid.UUID) -> None:
    """Serialises the org's admissions until the transaction ends (other orgs are not held)."""
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": f"runs:{org_id}"})


async def usage(session: AsyncSession, org_id: uuid.UUID, now: dt.datetime) -> Usage:
    today = day_start(now)
    runs_today, leads_today = (
        await session.execute(
            select(func.count(), func.coalesce(func.sum(LeadRun.leads_charged), 0)).where(
                LeadRun.org_id == org_id, LeadRun.started_at >= today
            )
        )
    ).one()
    active = (
        await session.execute(
            select(LeadRun.id).where(LeadRun.org_id == org_id, LeadRun.state == RUNNING).order_by(LeadRun.started_at)
        )
    ).scalars()
    return Usage(int(runs_today), int(leads_today), list(active), today + dt.timedelta(days=1))


async def admit(session: AsyncSession, *, org_id: uuid.UUID, leads: int, limits: Limits, now: dt.datetime) -> None:
    """Raises ResourceExhausted naming the limit, the use and when it frees unless one more run of `leads`
    leads fits. The caller holds `lock_org` and marks the run running in the same transaction."""
    use = await usage(session, org_id, now)
    retry_after_s = str(max(1, int((use.resets_at - now).total_seconds())))
    if len(use.active_run_ids) >= limits.max_active_runs:
        raise _refused(
            f"{len(use.active_run_ids)} of {limits.max_active_runs} runs are active (LEAD_RUNS_MAX_ACTIVE_RUNS): "
            "a slot frees when one of them finishes, fails or is cancelled",
            info={
                "limit": "LEAD_RUNS_MAX_ACTIVE_RUNS",
                "max": str(limits.max_active_runs),
                "current": str(len(use.active_run_ids)),
                "frees": "when an active run finishes, fails or is cancelled",
                "activeRunIds": "[" + ",".join(map(str, use.active_run_ids)) + "]",
            },
        )
    if use.runs_today >= limits.max_runs_per_day:
        raise _refused(
            f"{use.runs_today} of {limits.max_runs_per_day} runs started today (LEAD_RUNS_MAX_RUNS_PER_DAY): "
            f"the quota resets at {use.resets_at.isoformat()}",
            info={
                "limit": "LEAD_RUNS_MAX_RUNS_PER_DAY",
                "max": str(limits.max_runs_per_day),
                "current": str(use.runs_today),
                "frees": use.resets_at.isoformat(),
                "retryAfterS": retry_after_s,
            },
        )
    if use.leads_today + leads > limits.max_leads_per_day:
        left = max(0, limits.max_leads_per_day - use.leads_today)
        raise _refused(
            f"{use.leads_today} of {limits.max_leads_per_day} leads used today (LEAD_RUNS_MAX_LEADS_PER_DAY): "
            f"a run of {leads} does not fit, {left} would; the quota resets at {use.resets_at.isoformat()}",
            info={
                "limit": "LEAD_RUNS_MAX_LEADS_PER_DAY",
                "max": str(limits.max_leads_per_day),
                "current": str(use.leads_today),
                "requested": str(leads),
                "frees": use.resets_at.isoformat(),
                "retryAfterS": retry_after_s,
            },
        )
