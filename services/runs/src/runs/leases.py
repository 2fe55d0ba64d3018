"""The drain's queue: claiming due leads fairly across orgs, holding them by lease, and taking dead leases back.

A claim gives each lead a fresh lease token and an expiry; the claiming worker's heartbeat extends
the expiry of every lead it holds. A lead whose lease expired (its worker was killed, or paused past
the expiry) goes back to the queue through `recover`, and another worker takes it. Every write a worker
makes for a lead goes through `hold`, which locks the lead's row and checks the token: a worker that
lost its lease cannot commit anything, and a lead completed in the same moment the rescuer looks at it
stays completed (the sweep and the completion lock the same row; only `running` rows are swept).

Fairness: orgs take turns. A claim serves the orgs with due leads that were served longest ago, an
equal share each, so one org's hundred thousand queued leads hold another org's ten back by one share
at most; an org alone gets the whole batch.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood_platform.db import Database
from runs.models import LEASED, RunLead

_ORGS_WITH_DUE_WORK = text(
    """
    SELECT t.org_id FROM org_turns t
    WHERE EXISTS (
        SELECT 1 FROM run_leads l WHERE l.org_id = t.org_id AND l.status = 'pending' AND l.due_at <= now()
    )
    ORDER BY t.served_at
    LIMIT :limit
    """
)

_CLAIM = text(
    """
    WITH picked AS (
        SELECT l.id FROM unnest(CAST(:orgs AS uuid[])) AS o(org_id)
        CROSS JOIN LATERAL (
            SELECT id FROM run_leads l
            WHERE l.org_id = o.org_id AND l.status = 'pending' AND l.due_at <= now()
            ORDER BY l.due_at
            LIMIT :share
            FOR UPDATE SKIP LOCKED
        ) l
        LIMIT :limit
    )
    UPDATE run_leads r
    SET status = 'running', lease_token = gen_random_uuid(), lease_expires_at = now() + make_interval(secs => :lease_s),
        leased_by = :worker, updated_at = now()
    FROM picked WHERE r.id = picked.id
    RETURNING r.id, r.run_id, r.org_id, r.lead_id, r.lead, r.score, r.attempts, r.stale_recoveries,
              r.calendar_attempts, r.lease_token, r.meeting, r.earlier_tries
    """
)

# An org's turn row locked by another claim (one in flight, or one whose worker was paused mid-claim) is left
# to that claim: a claim never waits on another.
_SERVED = text(
    """
    UPDATE org_turns SET served_at = clock_timestamp()
    WHERE org_id IN (
        SELECT org_id FROM org_turns WHERE org_id = ANY(CAST(:orgs AS uuid[])) FOR UPDATE SKIP LOCKED
    )
    """
)

_EXTEND = text(
    """
    UPDATE run_leads SET lease_expires_at = now() + make_interval(secs => :lease_s)
    WHERE lease_token = ANY(CAST(:tokens AS uuid[])) AND status = 'running'
    """
)

_RECOVER = text(
    """
    UPDATE run_leads
    SET status = 'pending', lease_token = NULL, lease_expires_at = NULL, leased_by = NULL,
        stale_recoveries = stale_recoveries + 1, updated_at = now()
    WHERE id IN (
        SELECT id FROM run_leads WHERE status = 'running' AND lease_expires_at < now() FOR UPDATE SKIP LOCKED
    )
    RETURNING org_id, run_id
    """
)


@dataclass(frozen=True)
class Claimed:
    """A lead a worker holds: what its actions need, and the token every write of it must show."""

    id: uuid.UUID
    run_id: uuid.UUID
    org_id: uuid.UUID
    lead_id: uuid.UUID
    lead: dict[str, Any]
    score: int
    attempts: int
    stale_recoveries: int
    calendar_attempts: int
    token: uuid.UUID
    meeting: dict[str, Any] | None
    # Tries before the latest "Try again" (0 for a lead never tried again by hand).
    earlier_tries: int = 0

    @property
    def attempt(self) -> int:
        """This try's number among all the lead's tries: its receipts' attempt."""
        return self.earlier_tries + self.attempts + 1


class LeaseLost(Exception):
    """The lead's lease was taken over (or its run ended): this worker must not write for it."""


async def claim(db: Database, *, worker: str, limit: int, lease_s: float) -> list[Claimed]:
    """Up to `limit` due leads, an equal share from each org with due work (the least recently served first)."""
    if limit <= 0:
        return []
    async with db.transaction() as session:
        await end_if_idle(session, lease_s)
        orgs = [row[0] for row in await session.execute(_ORGS_WITH_DUE_WORK, {"limit": limit})]
        if not orgs:
            return []
        share = math.ceil(limit / len(orgs))
        rows = (
            await session.execute(
                _CLAIM, {"orgs": orgs, "share": share, "limit": limit, "lease_s": lease_s, "worker": worker}
            )
        ).all()
        served = list({row.org_id for row in rows})
        if served:
            await session.execute(_SERVED, {"orgs": served})
    return [
        Claimed(
            id=row.id,
            run_id=row.run_id,
            org_id=row.org_id,
            lead_id=row.lead_id,
            lead=row.lead,
            score=row.score,
            attempts=row.attempts,
            stale_recoveries=row.stale_recoveries,
            calendar_attempts=row.calendar_attempts,
            earlier_tries=row.earlier_tries,
            token=row.lease_token,
            meeting=row.meeting,
        )  # fmt: skip
        for row in rows
    ]


async def end_if_idle(session: AsyncSession, seconds: float) -> None:
    """The server ends this transaction, and frees its locks, if it waits on its process longer than `seconds`:
    a worker paused in the middle of one (SIGSTOP, a frozen VM) must not hold the rows or the lock every other
    worker needs until it wakes."""
    await session.execute(text(f"SET LOCAL idle_in_transaction_session_timeout = {max(1, int(seconds * 1000))}"))


async def extend(db: Database, tokens: list[uuid.UUID], *, lease_s: float) -> None:
    """The heartbeat: every lead this worker holds keeps its lease for another `lease_s`."""
    if tokens:
        async with db.transaction() as session:
            await session.execute(_EXTEND, {"tokens": tokens, "lease_s": lease_s})


async def recover(session: AsyncSession) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """Leads whose lease expired, back in the queue: their (org, run) pairs. They keep their due time, so they
    come before what was released after them (they waited longest)."""
    return [(row.org_id, row.run_id) for row in await session.execute(_RECOVER)]


async def hold(session: AsyncSession, claimed: Claimed) -> RunLead:
    """The lead's row, locked for the caller's transaction, if this worker still holds its lease."""
    row = (
        await session.execute(
            select(RunLead)
            .where(RunLead.id == claimed.id, RunLead.lease_token == claimed.token, RunLead.status == LEASED)
            .with_for_update()
        )
    ).scalar_one_or_none()
    if row is None:
        raise LeaseLost(f"lead {claimed.lead_id} of run {claimed.run_id}: the lease was taken over or the run ended")
    return row
