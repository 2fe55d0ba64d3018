"""The sweep: a queue that waits too long (a stalled drain: nothing claiming, or every slot held and nothing
settling) raises one alert per breach, dead leases come back with an alert, failed runs past the threshold
raise one alert, and an alert left open is escalated once."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

from sqlalchemy import select, text, update

from leadflood_platform.db import Database
from runs import health, leases
from runs.drain import Drainer, Sweeper, SweepPolicy
from runs.models import DONE, FAILED, LEASED, PENDING, Alert, LeadRun, RunLead
from services.runs.tests.conftest import make_run
from tests.e2e.helpers import until_async


def sweeper(db: Database, *, escalate_after_s: float = 3600, queue_age_alert_s: float = 60) -> Sweeper:
    return Sweeper(
        db=db,
        policy=SweepPolicy(
            every_s=1, failure_threshold=2, escalate_after=dt.timedelta(seconds=escalate_after_s), webhook_url="",
            webhook_timeout_s=1, queue_age_alert_s=queue_age_alert_s,
        ),
    )  # fmt: skip


async def alerts_of(db: Database, org: uuid.UUID) -> list[Alert]:
    async with db.transaction() as session:
        query = select(Alert).where(Alert.org_id == org).order_by(Alert.created_at)
        return list((await session.execute(query)).scalars())


async def _age(db: Database, org: uuid.UUID, minutes: int) -> None:
    async with db.transaction() as session:
        await session.execute(
            update(RunLead)
            .where(RunLead.org_id == org, RunLead.status == PENDING)
            .values(due_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=minutes))
        )


async def test_a_stalled_queue_raises_one_alert_per_breach(db: Database) -> None:
    org = uuid.uuid4()
    await make_run(db, org, leads=3)
    await _age(db, org, 10)  # due for ten minutes and nobody claimed them: the drain is stalled
    sweep = sweeper(db)
    for _ in range(3):
        await sweep.sweep()
    [alert] = await alerts_of(db, org)
    assert alert.kind == "queue_age" and alert.state == "open" and "waited 600 s" in alert.message

    await leases.claim(db, worker="w", limit=10, lease_s=60)  # the drain catches up: the breach ends
    await sweep.sweep()
    assert [a.state for a in await alerts_of(db, org)] == ["resolved"]

    await make_run(db, org, leads=1)
    await _age(db, org, 5)  # a second breach: a second alert
    await sweep.sweep()
    assert [a.state for a in await alerts_of(db, org)] == ["resolved", "open"]


class Stuck:
    """A lead's actions that hang (a peer that never answers) until `unstuck` is set, then settle the lead."""

    def __init__(self, db: Database) -> None:
        self.db, self.unstuck = db, asyncio.Event()

    async def work(self, claimed: leases.Claimed) -> str:
        await self.unstuck.wait()
        async with self.db.transaction() as session:
            lead = await leases.hold(session, claimed)
            lead.status, lead.lease_token, lead.lease_expires_at = DONE, None, None
        return DONE


async def test_a_stalled_consumer_every_slot_held_and_nothing_settling_raises_the_queue_age_alert_once(
    db: Database,
) -> None:
    org = uuid.uuid4()
    await make_run(db, org, leads=6)
    stuck = Stuck(db)
    # A live worker (its heartbeat keeps its leases, so nothing is stale) whose two slots hang.
    drainer = Drainer(
        db=db,
        work=stuck,
        batch_size=2,
        concurrency=2,
        lease_s=6,
        idle_s=0.05,
        worker="stalled",  # type: ignore[arg-type]
    )
    stop = asyncio.Event()
    draining = asyncio.create_task(drainer.run(stop))
    sweep = sweeper(db, queue_age_alert_s=0.5)

    async def breach() -> list[Alert]:
        await sweep.sweep()
        return [a for a in await alerts_of(db, org) if a.kind == "queue_age"]

    try:
        [alert] = await until_async(breach, timeout_s=30, what="the queue-age alert")
        for _ in range(3):  # further ticks of the same breach raise nothing more
            await sweep.sweep()
        assert [(a.kind, a.state) for a in await alerts_of(db, org)] == [("queue_age", "open")]
        async with db.transaction() as session:
            held = (
                await session.execute(select(RunLead).where(RunLead.org_id == org, RunLead.status == LEASED))
            ).scalars()
            assert [lead.stale_recoveries for lead in held] == [0, 0]  # alive and heartbeating, not stale

        async def health_seen() -> health.Health | None:
            async with db.transaction() as session:
                seen = await health.queue_health(session, org_id=org)
            return seen if ("stalled", 2) in [(worker, running) for worker, running, _ in seen.workers] else None

        seen = await until_async(health_seen, timeout_s=30, what="the worker's next heartbeat")  # per worker
        assert (seen.running, seen.pending) == (2, 4) and seen.oldest_pending_age_s > 0.5

        stuck.unstuck.set()  # the peer answers: the drain catches up and the breach ends by itself

        async def resolved() -> bool:
            await sweep.sweep()
            return [a.state for a in await alerts_of(db, org)] == ["resolved"]

        await until_async(resolved, timeout_s=30, what="the queue-age alert to resolve")
    finally:
        stop.set()
        stuck.unstuck.set()
        await draining


async def test_dead_leases_come_back_with_an_alert(db: Database) -> None:
    org = uuid.uuid4()
    run, _ = await make_run(db, org, leads=2)
    await leases.claim(db, worker="dead", limit=10, lease_s=60)
    async with db.transaction() as session:
        await session.execute(text("UPDATE run_leads SET lease_expires_at = now() - interval '1 second'"))
    await sweeper(db).sweep()
    async with db.transaction() as session:
        rows = (await session.execute(select(RunLead).where(RunLead.run_id == run.id))).scalars().all()
    assert {(r.status, r.stale_recoveries) for r in rows} == {(PENDING, 1)}
    [alert] = await alerts_of(db, org)
    assert alert.kind == "stale_runs" and alert.run_ids == [str(run.id)]


async def test_failed_runs_past_the_threshold_raise_one_alert_escalated_once(db: Database) -> None:
    org = uuid.uuid4()
    runs = [(await make_run(db, org))[0] for _ in range(3)]

    async def fail(run: LeadRun) -> None:
        async with db.transaction() as session:
            await session.execute(
                update(LeadRun).where(LeadRun.id == run.id).values(state=FAILED, finished_at=dt.datetime.now(dt.UTC))
            )

    await fail(runs[0])
    await sweeper(db).sweep()
    assert await alerts_of(db, org) == []  # one failure: under the threshold of 2
    await fail(runs[1])
    await sweeper(db).sweep()
    await fail(runs[2])
    await sweeper(db, escalate_after_s=0).sweep()
    await sweeper(db, escalate_after_s=0).sweep()
    [alert] = await alerts_of(db, org)
    assert alert.kind == "run_failures" and sorted(alert.run_ids) == sorted(str(r.id) for r in runs)
    assert alert.escalated_at is not None and (alert.escalation_status, alert.escalation_route) == ("logged", "log")
