"""The active-run cap and the daily quotas hold under concurrency: counted from rows under the org's lock."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter

import pytest
from sqlalchemy import func, select

from leadflood_platform.db import Database
from leadflood_platform.errors import ResourceExhausted
from runs import service
from runs.models import CREATED, RUNNING, LeadRun
from runs.quotas import Limits
from services.runs.tests.conftest import make_run


def limits(active: int = 5, runs: int = 1000, leads: int = 100_000) -> Limits:
    return Limits(max_runs_per_day=runs, max_leads_per_day=leads, max_active_runs=active)


async def _start(db: Database, org_id: uuid.UUID, run_id: uuid.UUID, **limit: int) -> str:
    try:
        async with db.transaction() as session:
            await service.start(session, org_id=org_id, run_id=run_id, limits=limits(**limit), max_attempts=3)
        return "started"
    except ResourceExhausted as refused:
        return refused.info["limit"]


async def test_five_hundred_concurrent_starts_admit_exactly_the_cap_every_time(db: Database) -> None:
    for _ in range(3):
        org, other = uuid.uuid4(), uuid.uuid4()
        runs = [(await make_run(db, org, state=CREATED))[0] for _ in range(500)]
        others = [(await make_run(db, other, state=CREATED))[0] for _ in range(2)]
        outcomes = await asyncio.gather(
            *(_start(db, org, run.id) for run in runs), *(_start(db, other, run.id) for run in others)
        )
        assert Counter(outcomes[:500]) == {"started": 5, "LEAD_RUNS_MAX_ACTIVE_RUNS": 495}
        assert outcomes[500:] == ["started", "started"]  # another org is not held by this one's cap
        async with db.transaction() as session:
            running = (
                await session.execute(select(func.count()).where(LeadRun.org_id == org, LeadRun.state == RUNNING))
            ).scalar_one()
        assert running == 5


async def test_a_finished_run_frees_its_slot_and_the_daily_quotas_refuse_with_the_limit(db: Database) -> None:
    org = uuid.uuid4()
    first, second = (await make_run(db, org, state=CREATED))[0], (await make_run(db, org, state=CREATED))[0]
    assert await _start(db, org, first.id, active=1) == "started"
    assert await _start(db, org, second.id, active=1) == "LEAD_RUNS_MAX_ACTIVE_RUNS"
    async with db.transaction() as session:
        await service.cancel(session, org_id=org, run_id=first.id)
    assert await _start(db, org, second.id, active=1) == "started"

    third = (await make_run(db, org, state=CREATED))[0]
    assert await _start(db, org, third.id, runs=2) == "LEAD_RUNS_MAX_RUNS_PER_DAY"
    assert await _start(db, org, third.id, leads=2) == "LEAD_RUNS_MAX_LEADS_PER_DAY"


async def test_a_refusal_names_the_use_and_when_it_frees(db: Database) -> None:
    org = uuid.uuid4()
    running, refused = (await make_run(db, org, state=CREATED))[0], (await make_run(db, org, state=CREATED))[0]
    await _start(db, org, running.id, active=1)
    with pytest.raises(ResourceExhausted) as caught:
        async with db.transaction() as session:
            await service.start(session, org_id=org, run_id=refused.id, limits=limits(active=1), max_attempts=3)
    info = caught.value.info
    assert info["max"] == "1" and info["current"] == "1" and str(running.id) in info["activeRunIds"]
    assert "frees when one of them finishes" in caught.value.message
