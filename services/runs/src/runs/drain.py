"""The runs worker's loops: the drain (claim due leads, work on them, heartbeat their leases) and the sweep
(take dead leases back, finish drained runs, raise and escalate alerts).

The drain holds at most `batch_size` leads at once (claimed in batches, fairly across orgs) and works on
`concurrency` of them at a time; a finished lead's place is filled by the next claim, so one slow lead
(a calendar retry, a mailbox's spacing) never holds the others back: it goes back to the queue with a
due time instead of waiting in a worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import socket
import uuid
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert

from leadflood_platform import context
from leadflood_platform.db import Database
from runs import actions, alerts, leases, metrics
from runs.models import ALERT_KINDS, QUEUE_AGE, STALE_RUNS, WorkerBeat

log = logging.getLogger(__name__)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Drainer:
    def __init__(
        self,
        *,
        db: Database,
        work: actions.LeadActions,
        batch_size: int,
        concurrency: int,
        lease_s: float,
        idle_s: float,
        worker: str | None = None,
    ) -> None:
        self.db, self.work = db, work
        self.batch_size, self.concurrency, self.lease_s, self.idle_s = batch_size, concurrency, lease_s, idle_s
        self.worker = worker or worker_name()
        self.held: dict[uuid.UUID, leases.Claimed] = {}  # by lease token

    async def run(self, stop: asyncio.Event) -> None:
        heartbeat = asyncio.create_task(self._heartbeat(stop))
        slots = asyncio.Semaphore(self.concurrency)
        tasks: set[asyncio.Task[None]] = set()
        log.info("draining lead runs", extra={"worker": self.worker, "batch_size": self.batch_size})
        try:
            while not stop.is_set():
                room = self.batch_size - len(self.held)
                claimed: list[leases.Claimed] = []
                if room > 0:
                    try:
                        claimed = await leases.claim(self.db, worker=self.worker, limit=room, lease_s=self.lease_s)
                    except Exception:
                        log.exception("claiming due leads failed; trying again")
                for lead in claimed:
                    self.held[lead.token] = lead
                    task = asyncio.create_task(self._work(lead, slots))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                if not claimed:
                    # Nothing due (or no room): wait for a lead to finish, the idle pause, or the stop.
                    waiters = [asyncio.create_task(stop.wait())]
                    await asyncio.wait([*waiters, *tasks], timeout=self.idle_s, return_when=asyncio.FIRST_COMPLETED)
                    for waiter in waiters:
                        waiter.cancel()
        finally:
            if (
                tasks
            ):  # a stop lets the leads in hand finish; a lead left waiting for a slot keeps its lease till it expires
                await asyncio.gather(*tasks, return_exceptions=True)
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat

    async def _work(self, lead: leases.Claimed, slots: asyncio.Semaphore) -> None:
        try:
            async with slots:
                with context.bound(org_id=str(lead.org_id)):
                    metrics.LEADS_WORKED.labels(await self.work.work(lead)).inc()
        except leases.LeaseLost as lost:
            metrics.LEASES_LOST.inc()
            log.warning("lease lost; the lead's rescuer carries on", extra={"reason": str(lost)})
        except Exception:
            metrics.LEADS_WORKED.labels("error").inc()
            # Its lease expires and the sweep puts it back in the queue, counted as a lost lease.
            log.exception("working on a lead failed", extra={"lead_id": str(lead.lead_id), "run_id": str(lead.run_id)})
        finally:
            self.held.pop(lead.token, None)

    async def _heartbeat(self, stop: asyncio.Event) -> None:
        """Extends every held lease each third of its length, and says this worker is alive."""
        while not stop.is_set():
            try:
                await leases.extend(self.db, list(self.held), lease_s=self.lease_s)
                async with self.db.transaction() as session:
                    beat = insert(WorkerBeat).values(worker=self.worker, running=len(self.held), beat_at=text("now()"))
                    await session.execute(
                        beat.on_conflict_do_update(
                            index_elements=["worker"], set_={"running": len(self.held), "beat_at": text("now()")}
                        )
                    )
            except Exception:
                log.exception("heartbeat failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.lease_s / 3)


@dataclass(frozen=True)
class SweepPolicy:
    every_s: float
    failure_threshold: int
    escalate_after: dt.timedelta
    webhook_url: str
    webhook_timeout_s: float
    queue_age_alert_s: float
    # A sweep whose worker stalls mid-transaction longer than this is ended by the server, so its lock passes on
    # (LEAD_RUNS_TRANSACTION_IDLE_S).
    transaction_idle_s: float = 30.0


_QUEUE_BY_ORG = text(
    """
    SELECT org_id,
           coalesce(extract(epoch FROM now() - min(due_at) FILTER (WHERE status = 'pending' AND due_at <= now())), 0)
               AS age_s,
           count(*) FILTER (WHERE status = 'pending' AND due_at <= now()) AS pending,
           count(*) FILTER (WHERE status = 'running') AS running
    FROM run_leads WHERE status IN ('pending', 'running') GROUP BY org_id
    """
)
_OPEN_ALERTS = text("SELECT kind, count(*) FROM alerts WHERE state <> 'resolved' GROUP BY kind")
_ORGS_WITH_ALERTS = text("SELECT DISTINCT org_id FROM alerts WHERE kind = 'queue_age' AND state <> 'resolved'")
_DRAINED_RUNS = text(
    """
    SELECT r.id FROM lead_runs r
    WHERE r.state = 'running' AND r.sourced_at IS NOT NULL
      AND NOT EXISTS (
          SELECT 1 FROM run_leads l WHERE l.run_id = r.id AND l.status IN ('waiting', 'pending', 'running')
      )
    """
)


class Sweeper:
    """Housekeeping, by one worker at a time (an advisory lock): dead leases back to the queue, drained runs
    finished (a worker that died between a run's last lead and its end), alerts raised and escalated."""

    def __init__(self, *, db: Database, policy: SweepPolicy) -> None:
        self.db, self.policy = db, policy

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.sweep()
            except Exception:
                log.exception("sweep failed; trying again")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.policy.every_s)

    async def sweep(self) -> None:
        async with self.db.transaction() as session:
            await leases.end_if_idle(session, self.policy.transaction_idle_s)
            got = (
                await session.execute(text("SELECT pg_try_advisory_xact_lock(hashtextextended('runs:sweep', 0))"))
            ).scalar()
            if not got:
                return
            recovered = await leases.recover(session)
            metrics.STALE_RECOVERIES.inc(len(recovered))
            if recovered:
                log.warning("stale leases recovered", extra={"leads": len(recovered)})
                for org_id in {org for org, _ in recovered}:
                    runs = sorted({str(run) for org, run in recovered if org == org_id})
                    leads = sum(1 for org, _ in recovered if org == org_id)
                    message = f"the workers of {leads} leads stopped answering; their work was taken back"
                    await alerts.raise_alert(session, org_id=org_id, kind=STALE_RUNS, message=message, run_ids=runs)
            for (run_id,) in (await session.execute(_DRAINED_RUNS)).all():
                await actions.finish_if_drained(session, run_id)
            await alerts.count_failures(session, threshold=self.policy.failure_threshold)
            queue = (await session.execute(_QUEUE_BY_ORG)).all()
            ages = {row.org_id: float(row.age_s) for row in queue}
            metrics.queue(
                {str(r.org_id): float(r.age_s) for r in queue},
                {str(r.org_id): r.pending for r in queue},
                {str(r.org_id): r.running for r in queue},
            )
            alerted = {row.org_id for row in await session.execute(_ORGS_WITH_ALERTS)}
            for org_id in ages.keys() | alerted:
                age = ages.get(org_id, 0.0)
                await alerts.settle_breach(
                    session, org_id=org_id, kind=QUEUE_AGE, breached=age > self.policy.queue_age_alert_s,
                    message=f"the oldest due lead has waited {age:.0f} s "
                    f"(threshold {self.policy.queue_age_alert_s:.0f} s)",
                )  # fmt: skip
            await alerts.escalate_due(
                session, after=self.policy.escalate_after, webhook_url=self.policy.webhook_url,
                timeout_s=self.policy.webhook_timeout_s,
            )  # fmt: skip
            open_alerts = dict((await session.execute(_OPEN_ALERTS)).all())
            for kind in ALERT_KINDS:
                metrics.ALERTS_OPEN.labels(kind).set(open_alerts.get(kind, 0))
