"""Fairness of the lead runs' drain: one org's huge queue against nine small orgs' (issue 16, "Proofs").

Nine small orgs' leads are drained alone (their solo figure), then again beside one big org's; each phase is
drained by WORKERS real `runs.drain.Drainer`s (their claim, lease and heartbeat code, the service's defaults of
batch 20 and concurrency 4; four worker processes' worth) from a scratch database migrated like the runs service's
(its commits not waiting for fsync: who is served is the figure), every lead queued through
the service's own `service.create` and `sourcing.record`, all due at once (the claim's worst case: a real run
releases 20 of its leads at a time into the queue, so a huge run holds fewer of them due).

A lead's actions are a stand-in: the lead's work waits STAND_IN_MS (a mail room call's order) then settles the
lead under its lease (`leases.hold`, status done). The real actions (calendar, mail room, SMTP) at 100,000 leads
would take hours; this measures who the workers serve, which the claim alone decides.

A lead's queue age: from the phase's start (every lead due) to its work beginning, in seconds, and as the number
of leads worked before it (the same age in units of the workers' capacity: a machine's load moves the seconds of
both phases, not this). Figures: the small orgs' p95 queue age alone and beside the big org, their ratio (the
issue's target: at most 2), the big org's share of the work while the small orgs had some, and, once they are
done, the big org's rate alone against the small orgs' solo rate (it gets all the capacity: about 1).

Shared by `make bench` (100,000 and 9 x 1,000) and the runs service's test at a smaller scale.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from bench.context import Context
from bench.report import Row
from leadflood_platform import migrations
from leadflood_platform.db import Database
from runs import finishing, leases, service, sourcing
from runs.drain import Drainer
from runs.models import DONE, RUNNING, Base

MIGRATIONS = Path(__file__).resolve().parents[1] / "services" / "runs" / "migrations"
WORKERS = 4
BATCH_SIZE = 20
CONCURRENCY = 4
STAND_IN_MS = 10.0
ALONE_S = 5.0
PHASE_DEADLINE_S = 900.0
BIG, SMALL, ORGS = 100_000, 1_000, 9
TARGET_RATIO = 2.0
SETTINGS = {
    "bigOrgLeads": BIG, "smallOrgLeads": SMALL, "smallOrgs": ORGS, "workers": WORKERS, "batchSize": BATCH_SIZE,
    "concurrency": CONCURRENCY, "standInMs": STAND_IN_MS, "aloneS": ALONE_S,
}  # fmt: skip


class StandIn:
    """The lead's actions, stood in: a wait, then the lead settled done under its lease. Notes when each lead's
    work began, in order."""

    def __init__(self, db: Database, *, latency_s: float) -> None:
        self.db, self.latency_s = db, latency_s
        self.began: list[tuple[float, uuid.UUID]] = []  # (monotonic time, org), in the order work began

    async def work(self, claimed: leases.Claimed) -> str:
        self.began.append((time.monotonic(), claimed.org_id))
        await asyncio.sleep(self.latency_s)
        async with self.db.transaction() as session:
            lead = await leases.hold(session, claimed)
            lead.status, lead.lease_token, lead.lease_expires_at, lead.leased_by = DONE, None, None, None
        return DONE


@dataclass
class Phase:
    """One drain: when it started and whose work began when."""

    started: float
    began: list[tuple[float, uuid.UUID]] = field(default_factory=list)

    def ages_s(self, orgs: set[uuid.UUID]) -> list[float]:
        return [at - self.started for at, org in self.began if org in orgs]

    def positions(self, orgs: set[uuid.UUID]) -> list[int]:
        return [n for n, (_, org) in enumerate(self.began) if org in orgs]


@dataclass(frozen=True)
class Fairness:
    big: int
    small: int
    orgs: int
    solo_p95_s: float
    with_big_p95_s: float
    solo_p95_position: float
    with_big_p95_position: float
    big_share_meanwhile: float  # of the work begun while the small orgs had some
    solo_rate: float  # leads/s, the small orgs alone
    big_alone_rate: float  # leads/s, the big org alone once the small orgs were done
    big_alone_only_big: bool  # every lead worked then was the big org's

    @property
    def ratio_s(self) -> float:
        return self.with_big_p95_s / self.solo_p95_s if self.solo_p95_s else float("inf")

    @property
    def ratio_position(self) -> float:
        return self.with_big_p95_position / self.solo_p95_position if self.solo_p95_position else float("inf")

    @property
    def alone_share(self) -> float:
        return self.big_alone_rate / self.solo_rate if self.solo_rate else 0.0


def p95(values: list[float] | list[int]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) >= 20 else float(max(values, default=0))


async def queue(db: Database, org_id: uuid.UUID, leads: int) -> None:
    """A running run of `leads` leads for the org, queued as sourcing queues them, every one due now."""
    async with db.transaction() as session:
        spec = service.RunSpec(icp_id=uuid.uuid4(), limit=leads)
        run = await service.create(session, org_id=org_id, spec=spec)
        run.state, run.started_at = RUNNING, finishing.utcnow()
    found = sourcing.Sourced(sourced=leads, with_email=leads)
    for n in range(leads):
        lead_id = uuid.uuid4()
        found.leads.append((lead_id, 80, {"email": f"lead{n}-{lead_id.hex[:8]}@example.com", "firstName": f"L{n}"}))
    async with db.transaction() as session:
        await sourcing.record(session, run.id, found, window=leads)


async def drain(
    db: Database,
    *,
    done: Callable[[Phase], bool],
    latency_s: float,
    workers: int = WORKERS,
    progress: Callable[[str], None] = lambda _: None,
) -> Phase:
    """`workers` drainers at work until `done(phase)` (checked every 20 ms); then they stop, their leads in hand
    finished."""
    stand_in = StandIn(db, latency_s=latency_s)
    drainers = [
        Drainer(
            db=db,
            work=stand_in,
            batch_size=BATCH_SIZE,
            concurrency=CONCURRENCY,  # type: ignore[arg-type]
            lease_s=60,
            idle_s=0.05,
            worker=f"fairness-{n}",
        )  # fmt: skip
        for n in range(workers)
    ]
    stop = asyncio.Event()
    phase = Phase(started=time.monotonic(), began=stand_in.began)
    tasks = [asyncio.create_task(d.run(stop)) for d in drainers]
    reported = phase.started
    try:
        while not done(phase):
            if time.monotonic() - phase.started > PHASE_DEADLINE_S:
                raise RuntimeError(f"the fairness drain did not finish in {PHASE_DEADLINE_S:.0f} s")
            if time.monotonic() - reported > 5:
                reported = time.monotonic()
                progress(f"runs fairness: {len(phase.began):,} leads worked")
            if any(t.done() for t in tasks):
                await asyncio.gather(*tasks)  # a drainer that died says why
                raise RuntimeError("a drainer stopped")
            await asyncio.sleep(0.02)
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
    return phase


async def measure(
    db: Database,
    *,
    big: int,
    small: int,
    orgs: int = 9,
    latency_s: float = STAND_IN_MS / 1000,
    alone_s: float = ALONE_S,
    workers: int = WORKERS,
    progress: Callable[[str], None] = lambda _: None,
) -> Fairness:
    """The small orgs' queue age alone, then beside the big org; then the big org alone for `alone_s`. A short
    drain first warms the connections and statements up, so the first phase does not pay for them."""
    warm = uuid.uuid4()
    await queue(db, warm, workers * BATCH_SIZE)
    await drain(db, latency_s=latency_s, workers=workers, done=lambda p: len(p.began) >= workers * BATCH_SIZE)

    solo = {uuid.uuid4() for _ in range(orgs)}
    for org in solo:
        await queue(db, org, small)
    progress(f"runs fairness: {orgs} x {small:,} leads queued; draining them alone")
    alone = await drain(
        db, latency_s=latency_s, workers=workers, progress=progress, done=lambda p: len(p.ages_s(solo)) >= orgs * small
    )

    smalls, heavy = {uuid.uuid4() for _ in range(orgs)}, uuid.uuid4()
    progress(f"runs fairness: queueing {big:,} leads for one org")
    await queue(db, heavy, big)
    for org in smalls:
        await queue(db, org, small)
    progress(f"runs fairness: {big:,} + {orgs} x {small:,} leads queued; draining")
    small_done_at: list[float] = []

    def finished(phase: Phase) -> bool:
        if not small_done_at and len(phase.ages_s(smalls)) >= orgs * small:
            small_done_at.append(time.monotonic())
            progress(f"runs fairness: the small orgs are done; the big org alone for {alone_s:g} s")
        return bool(small_done_at) and time.monotonic() - small_done_at[0] >= alone_s

    mixed = await drain(db, latency_s=latency_s, workers=workers, progress=progress, done=finished)

    last_small = max(at for at, org in mixed.began if org in smalls)
    meanwhile = [org for at, org in mixed.began if at <= last_small]
    # The big org alone: from the small orgs' last lead to the stop (leads begun after it, per second).
    after = [org for at, org in mixed.began if at > last_small]
    alone_window = max((at for at, _ in mixed.began), default=last_small) - last_small
    solo_span = max(at for at, _ in alone.began) - alone.started
    return Fairness(
        big=big, small=small, orgs=orgs,
        solo_p95_s=p95(alone.ages_s(solo)), with_big_p95_s=p95(mixed.ages_s(smalls)),
        solo_p95_position=p95(alone.positions(solo)), with_big_p95_position=p95(mixed.positions(smalls)),
        big_share_meanwhile=meanwhile.count(heavy) / len(meanwhile),
        solo_rate=len(alone.began) / solo_span if solo_span else 0.0,
        big_alone_rate=len(after) / alone_window if alone_window else 0.0,
        big_alone_only_big=bool(after) and set(after) == {heavy},
    )  # fmt: skip


@contextlib.asynccontextmanager
async def scratch_runs_database(admin_dsn: str) -> AsyncIterator[Database]:
    """A database of its own on the server, migrated like the runs service's; dropped afterwards."""
    name = f"bench_fairness_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(admin_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    dsn = admin_dsn.rsplit("/", 1)[0] + f"/{name}"
    db: Database | None = None
    try:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute("CREATE SCHEMA runs")
            await conn.execute(f'ALTER DATABASE "{name}" SET search_path = runs')
            # Who is served is the figure, not how fast a commit reaches the disk: commits do not wait for fsync
            # here (the rest of the bench's stack is durable, as `make run`).
            await conn.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
        finally:
            await conn.close()
        run = dict(url=dsn, schema="runs", script_location=MIGRATIONS, target_metadata=Base.metadata)
        await asyncio.to_thread(migrations.upgrade, **run)
        db = Database(dsn, pool_size=20)
        yield db
    finally:
        if db is not None:
            await db.close()
        admin = await asyncpg.connect(admin_dsn)
        try:
            await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        finally:
            await admin.close()


async def rows(ctx: Context) -> list[Row]:
    """The issue's scale: one org's 100,000 queued leads beside nine orgs' 1,000 each."""
    async with scratch_runs_database(ctx.admin_dsn) as db:
        fair = await measure(db, big=BIG, small=SMALL, orgs=ORGS, progress=ctx.progress)
    met = "met" if fair.ratio_position <= TARGET_RATIO else "MISSED"
    ctx.notes.append(
        f"runs fairness: {WORKERS} drainers (batch {BATCH_SIZE}, {CONCURRENCY} at a time each), every lead due at"
        f" once, actions stood in ({STAND_IN_MS:g} ms then settled under the lease); the small orgs' p95 queue age"
        f" in leads worked before theirs: {fair.solo_p95_position:,.0f} alone, {fair.with_big_p95_position:,.0f}"
        f" beside the big org ({fair.ratio_position:.2f}x); the big org took {fair.big_share_meanwhile:.0%} of the"
        f" work meanwhile; alone, every lead worked was its: {fair.big_alone_only_big}"
    )
    label = f"{ORGS} orgs x {SMALL:,} leads"
    return [
        Row(f"lead runs fairness: {label}, p95 queue age alone", fair.solo_p95_s, "s"),
        Row(f"lead runs fairness: {label}, p95 queue age beside one org's {BIG:,}", fair.with_big_p95_s, "s"),
        Row(
            "lead runs fairness: beside / alone, p95 queue age in leads worked before",
            fair.ratio_position,
            "x",
            note=f"target <= {TARGET_RATIO:g}: {met}",
        ),
        Row(
            "lead runs fairness: beside / alone, p95 queue age in seconds",
            fair.ratio_s,
            "x",
            note="moves with the machine's load between the two phases",
        ),
        Row(
            "lead runs fairness: the big org alone, of the solo capacity",
            fair.alone_share,
            "x",
            note=f"{fair.big_alone_rate:,.0f} vs {fair.solo_rate:,.0f} leads/s; all the capacity is about 1",
        ),
    ]
