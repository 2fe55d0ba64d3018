"""Alerts: failed runs past a threshold, a queue that waits too long, leases that went stale; escalation.

One unresolved alert per org and kind (a partial unique index): a condition that holds for an hour
raises one alert, not one per sweep. A failed run counts towards one alert only (`lead_runs.alerted`).
An alert left open (not acknowledged, not resolved) past the escalation delay is escalated once: posted
to the Slack-compatible webhook when one is set, else logged, and marked with when, how and where.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid
from urllib.parse import urlsplit

import httpx
from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood_platform.errors import FailedPrecondition, NotFound
from runs import metrics
from runs.finishing import utcnow
from runs.models import ACKNOWLEDGED, FAILED, OPEN, QUEUE_AGE, RESOLVED, RUN_FAILURES, Alert, LeadRun

log = logging.getLogger(__name__)
WEBHOOK_ATTEMPTS = 3
_MERGED_RUN_IDS = (
    "(SELECT coalesce(jsonb_agg(DISTINCT v), '[]') FROM jsonb_array_elements(alerts.run_ids || excluded.run_ids) v)"
)


async def raise_alert(session: AsyncSession, *, org_id: uuid.UUID, kind: str, message: str, run_ids: list[str]) -> bool:
    """Opens the org's alert of this kind, or adds the runs to the one still unresolved. True if it is new."""
    statement = insert(Alert).values(
        id=uuid.uuid4(), org_id=org_id, kind=kind, state=OPEN, message=message, run_ids=run_ids
    )
    statement = statement.on_conflict_do_update(
        index_elements=["org_id", "kind"],
        index_where=text("state <> 'resolved'"),
        set_={
            "run_ids": text(_MERGED_RUN_IDS),
            "message": statement.excluded.message,
            "updated_at": text("now()"),
        },
    ).returning(text("(xmax = 0) AS inserted"))
    new = bool((await session.execute(statement)).scalar())
    if new:
        metrics.ALERTS_RAISED.labels(kind).inc()
    return new


async def count_failures(session: AsyncSession, *, threshold: int) -> int:
    """Raises each org's run_failures alert once `threshold` failed runs are not yet in one; returns how many."""
    rows = (
        await session.execute(
            select(LeadRun.org_id, LeadRun.id, LeadRun.error)
            .where(LeadRun.state == FAILED, LeadRun.alerted.is_(False))
            .order_by(LeadRun.finished_at)
            .with_for_update(skip_locked=True)
        )
    ).all()
    by_org: dict[uuid.UUID, list[tuple[uuid.UUID, str | None]]] = {}
    for org_id, run_id, error in rows:
        by_org.setdefault(org_id, []).append((run_id, error))
    # An org whose failures alert is still unresolved gets each new failure added to it, one at a time.
    open_orgs = set(
        (
            await session.execute(
                select(Alert.org_id).where(
                    Alert.kind == RUN_FAILURES, Alert.state != RESOLVED, Alert.org_id.in_(list(by_org))
                )
            )
        ).scalars()
    )
    raised = 0
    for org_id, failed in by_org.items():
        if len(failed) < threshold and org_id not in open_orgs:
            continue
        last_error = failed[-1][1] or "no reason recorded"
        message = f"lead runs failed (threshold {threshold} failures); the last: {last_error}"
        await raise_alert(
            session, org_id=org_id, kind=RUN_FAILURES, message=message, run_ids=[str(r) for r, _ in failed]
        )
        await session.execute(update(LeadRun).where(LeadRun.id.in_([r for r, _ in failed])).values(alerted=True))
        raised += 1
    return raised


async def settle_breach(session: AsyncSession, *, org_id: uuid.UUID, kind: str, breached: bool, message: str) -> None:
    """A threshold's alert: raised when the breach begins, resolved by itself when it ends (so the next
    breach raises a new one), left alone while it lasts."""
    if breached:
        statement = insert(Alert).values(id=uuid.uuid4(), org_id=org_id, kind=kind, state=OPEN, message=message)
        raised = await session.execute(
            statement.on_conflict_do_nothing(
                index_elements=["org_id", "kind"], index_where=text("state <> 'resolved'")
            ).returning(Alert.id)
        )
        if raised.first() is not None:
            metrics.ALERTS_RAISED.labels(kind).inc()
    elif kind == QUEUE_AGE:
        await session.execute(
            update(Alert)
            .where(Alert.org_id == org_id, Alert.kind == kind, Alert.state != RESOLVED)
            .values(state=RESOLVED, resolved_at=utcnow(), updated_at=utcnow())
        )


async def escalate_due(session: AsyncSession, *, after: dt.timedelta, webhook_url: str, timeout_s: float) -> int:
    """Escalates each alert still open `after` its creation, once; returns how many."""
    due = list(
        (
            await session.execute(
                select(Alert)
                .where(Alert.state == OPEN, Alert.escalated_at.is_(None), Alert.created_at <= utcnow() - after)
                .with_for_update(skip_locked=True)
                .limit(50)
            )
        ).scalars()
    )
    for alert in due:
        alert.escalated_at = utcnow()
        if not webhook_url:
            alert.escalation_status, alert.escalation_route = "logged", "log"
            log.warning(
                "alert escalated (no webhook set: logged only)",
                extra={
                    "alert_id": str(alert.id),
                    "org_id": str(alert.org_id),
                    "kind": alert.kind,
                    "alert": alert.message,
                },
            )
            continue
        alert.escalation_route = urlsplit(webhook_url).hostname or "webhook"
        alert.escalation_status = "sent" if await post_webhook(webhook_url, alert, timeout_s=timeout_s) else "failed"
    for alert in due:
        metrics.ALERTS_ESCALATED.labels(alert.escalation_status).inc()
    return len(due)


async def post_webhook(url: str, alert: Alert, *, timeout_s: float) -> bool:
    """A Slack-compatible incoming webhook: a JSON body with `text`; retried on 429, 5xx and network faults."""
    body = {
        "text": f":rotating_light: Lead Flood alert ({alert.kind}) open since {alert.created_at:%Y-%m-%d %H:%M} UTC: "
        f"{alert.message}",
        "alert": {"id": str(alert.id), "orgId": str(alert.org_id), "kind": alert.kind, "runIds": alert.run_ids},
    }
    async with httpx.AsyncClient(timeout=timeout_s) as client:
        for attempt in range(1, WEBHOOK_ATTEMPTS + 1):
            try:
                response = await client.post(url, json=body)
            except httpx.TransportError as error:
                reason = type(error).__name__
            else:
                if response.is_success:
                    return True
                reason = f"HTTP {response.status_code}"
                if response.status_code < 500 and response.status_code != 429:
                    break  # refused: asking again cannot help
            if attempt < WEBHOOK_ATTEMPTS:
                await asyncio.sleep(0.5 * 2 ** (attempt - 1))
    log.error("alert webhook failed", extra={"alert_id": str(alert.id), "reason": reason})
    return False


async def page(session: AsyncSession, *, org_id: uuid.UUID, state: str) -> list[Alert]:
    query = select(Alert).where(Alert.org_id == org_id)
    query = query.where(Alert.state == state) if state else query.where(Alert.state != RESOLVED)
    return list((await session.execute(query.order_by(Alert.created_at.desc()).limit(200))).scalars())


async def act(session: AsyncSession, *, org_id: uuid.UUID, alert_id: uuid.UUID, to: str) -> Alert:
    """Acknowledge (stops its escalation) or resolve an alert."""
    alert = (
        await session.execute(select(Alert).where(Alert.id == alert_id, Alert.org_id == org_id).with_for_update())
    ).scalar_one_or_none()
    if alert is None:
        raise NotFound(f"alert {alert_id} not found")
    if alert.state == RESOLVED:
        raise FailedPrecondition("the alert is resolved already")
    if to == ACKNOWLEDGED:
        if alert.state == ACKNOWLEDGED:
            return alert
        alert.state, alert.acknowledged_at = ACKNOWLEDGED, utcnow()
    else:
        alert.state, alert.resolved_at = RESOLVED, utcnow()
    await session.flush()
    return alert
