"""The home dashboard's figures, from the services' stats RPCs, and the messages list behind its email charts.

Each figure names the list it came from: emails sent, replies and bounces are the mail room's
ListMessages of that category (GET /v1/inbox/messages), counted by the same predicate; leads are the
leads list with `filtered=all`; a sequence's figures are its stats page's, its email steps' apart from its
text steps' (the tiles count emails: a text is neither an email sent nor a bounce); runs and queues are the
lead runs and operations pages'.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import Field

from gateway.auth import Principal
from gateway.deps import principal
from gateway.routes.jobs import dead_letters
from gateway.routes.runs import run_json
from gateway.routes.schemas import Reply, Timestamps, documents
from gateway.routes.sequences import sequence_json
from leadflood.inbox.v1 import stats_pb2 as inbox_stats
from leadflood.leads.v1 import stats_pb2 as lead_stats
from leadflood.runs.v1 import runs_pb2
from leadflood.sequences.v1 import sequences_pb2

router = APIRouter()
Who = Annotated[Principal, Depends(principal)]
Days = Annotated[int, Query(ge=1, le=90, description="Whole days ending today, 1 to 90.")]
Zone = Annotated[
    str, Query(alias="timeZone", max_length=64, description="The IANA time zone the days are counted in; UTC if empty.")
]
CATEGORIES = {
    "sent": inbox_stats.MESSAGE_CATEGORY_SENT,
    "replied": inbox_stats.MESSAGE_CATEGORY_REPLIED,
    "bounced": inbox_stats.MESSAGE_CATEGORY_BOUNCED,
}
MAX_SEQUENCES = 20


class Day(Reply):
    day: str = Field(description="YYYY-MM-DD in the window's time zone")
    leads: int
    sent: int
    replied: int
    bounced: int


class Totals(Reply):
    leads: int = Field(description="Every lead of the org (the leads list with filtered=all)")
    leads_in_window: int
    sent: int
    replied: int
    bounced: int
    reply_rate: float | None = Field(description="replied / sent in the window; null when nothing was sent")


class SequenceFigures(Reply):
    id: str
    name: str
    state: str
    enrolled: int
    active: int
    sent: int = Field(description="Emails its email steps sent, as the tiles count emails (texts apart)")
    replied: int = Field(description="Leads who answered one of its emails (each at the last one it received)")
    bounced: int = Field(description="Leads whose email from it bounced")
    reply_rate: float | None = Field(description="replied / sent: its emails'")
    texts_sent: int = Field(description="Texts its SMS steps sent")
    texts_replied: int = Field(description="Leads who answered one of its texts")
    texts_undelivered: int = Field(description="Leads whose text could not be delivered")


class RunNeedingAttention(Reply):
    id: str
    state: str
    icp_id: str | None
    error: str | None
    settled: int
    total: int
    failed: int
    created_at: datetime | None


class QueueFigures(Reply):
    breached: bool
    pending: int
    oldest_pending_age_s: float
    dead_letters: int = Field(description="The org's failed jobs in every service (the dead-letter list's total)")
    open_alerts: int


class Window(Reply):
    days: int
    time_zone: str
    first: str
    last: str


class Dashboard(Reply):
    window: Window
    totals: Totals
    days: list[Day]
    sequences: list[SequenceFigures]
    runs: list[RunNeedingAttention]
    queue: QueueFigures


class ListedMessage(Reply):
    id: str
    thread_id: str
    lead_id: str | None
    status: str
    kind: str | None
    from_: str = Field(alias="from")
    to: str
    subject: str
    at: datetime | None


class MessagePage(Reply):
    messages: list[ListedMessage]
    next_cursor: str | None
    total: int


def _rate(replied: int, sent: int) -> float | None:
    return round(replied / sent, 4) if sent else None


def _window(days: int, time_zone: str) -> inbox_stats.StatsWindow:
    return inbox_stats.StatsWindow(days=days, time_zone=time_zone)


async def _sequence_figures(services: Any) -> list[dict[str, Any]]:
    newest = sequences_pb2.ListSequencesRequest(page_size=MAX_SEQUENCES)
    listed = (await services.sequences.ListSequences(newest)).sequences
    stats = await asyncio.gather(
        *(services.sequences.GetSequenceStats(sequences_pb2.GetSequenceStatsRequest(sequence_id=s.id)) for s in listed)
    )
    figures = []
    for sequence, reply in zip(listed, stats, strict=True):
        s, head = reply.stats, sequence_json(sequence)
        # As the sequence's own page shows them, step by step: its email steps' sends and the stops counted at
        # them are emails (what the tiles count); its text steps' are texts. A stop before any step reached
        # its lead answered nothing this sequence sent, and counts in neither.
        emails = [step.counts for step in s.steps if step.channel == sequences_pb2.CHANNEL_EMAIL]
        texts = [step.counts for step in s.steps if step.channel == sequences_pb2.CHANNEL_SMS]
        sent, replied = sum(c.sent for c in emails), sum(c.replied for c in emails)
        figures.append(
            {
                "id": head["id"],
                "name": head["name"],
                "state": head["state"],
                "enrolled": s.enrollments.total,
                "active": s.enrollments.active,
                "sent": sent,
                "replied": replied,
                "bounced": sum(c.bounced for c in emails),
                "replyRate": _rate(replied, sent),
                "textsSent": sum(c.sent for c in texts),
                "textsReplied": sum(c.replied for c in texts),
                "textsUndelivered": sum(c.bounced for c in texts),
            }
        )
    return figures


def _needs_attention(run: runs_pb2.Run, days: int) -> bool:
    """Running, or failed inside the window (an old failure is history, not something to do)."""
    if run.state == runs_pb2.RUN_STATE_RUNNING:
        return True
    recent = run.created_at.ToDatetime(tzinfo=UTC) >= datetime.now(UTC) - timedelta(days=days)
    return run.state == runs_pb2.RUN_STATE_FAILED and recent


def _run_figures(run: runs_pb2.Run) -> dict[str, Any]:
    whole = run_json(run)
    progress = whole["progress"]
    return {
        "id": whole["id"],
        "state": whole["state"],
        "icpId": whole.get("icpId"),
        "error": whole.get("error"),
        "settled": progress["done"] + progress["failed"],
        "total": progress["total"],
        "failed": progress["failed"],
        **Timestamps.of(run, "created_at"),
    }


@router.get("/v1/dashboard", **documents(Dashboard))
async def dashboard(request: Request, who: Who, days: Days = 14, time_zone: Zone = "") -> dict[str, Any]:
    """Leads created, emails sent, replies (and the reply rate) and bounces a day over the window; each
    sequence's figures; the runs (running, or failed inside the window) and the queue that need attention.
    Each total is what the list it links to counts: GET /v1/inbox/messages?category=…, the leads list, a
    sequence's stats."""
    services = request.app.state.services
    window = _window(days, time_zone)
    leads, mail, sequences, runs, queue, alerts, dead = await asyncio.gather(
        services.lead_stats.GetLeadStats(lead_stats.GetLeadStatsRequest(days=days, time_zone=time_zone)),
        services.inbox_stats.GetMessageStats(inbox_stats.GetMessageStatsRequest(window=window)),
        _sequence_figures(services),
        services.runs.ListRuns(runs_pb2.ListRunsRequest(page_size=50)),
        services.runs.GetQueueHealth(runs_pb2.GetQueueHealthRequest()),
        services.runs.ListAlerts(runs_pb2.ListAlertsRequest(state="open")),
        dead_letters(request),
    )
    created = {d.day: d.created for d in leads.days}
    health = queue.health
    mine = next((o for o in health.orgs if o.org_id == who.org_id), None)
    return {
        "window": {
            "days": days,
            "timeZone": time_zone or "UTC",
            "first": mail.days[0].day,
            "last": mail.days[-1].day,
        },
        "totals": {
            "leads": leads.total,
            "leadsInWindow": leads.in_window,
            "sent": mail.sent,
            "replied": mail.replied,
            "bounced": mail.bounced,
            "replyRate": _rate(mail.replied, mail.sent),
        },
        "days": [
            {"day": d.day, "leads": created.get(d.day, 0), "sent": d.sent, "replied": d.replied, "bounced": d.bounced}
            for d in mail.days
        ],
        "sequences": sequences,
        "runs": [_run_figures(run) for run in runs.runs if _needs_attention(run, days)],
        "queue": {
            "breached": health.breached,
            "pending": mine.pending if mine else 0,
            "oldestPendingAgeS": round(mine.oldest_pending_age_s, 3) if mine else 0.0,
            "deadLetters": dead,
            "openAlerts": len(alerts.alerts),
        },
    }


def message_json(message: inbox_stats.ListedMessage) -> dict[str, Any]:
    return {
        "id": message.id,
        "threadId": message.thread_id,
        "leadId": message.lead_id or None,
        "status": message.status,
        "kind": message.kind or None,
        "from": message.from_address,
        "to": message.to_address,
        "subject": message.subject,
        **Timestamps.of(message, "at"),
    }


@router.get("/v1/inbox/messages", **documents(MessagePage))
async def list_messages(
    request: Request,
    who: Who,
    category: Annotated[
        Literal["sent", "replied", "bounced"],
        Query(description="sent: emails handed to their server; replied: people's replies; bounced: bounced emails."),
    ],
    days: Days = 14,
    time_zone: Zone = "",
    day: Annotated[str, Query(max_length=10, description="A day of the window, YYYY-MM-DD; all of it if empty.")] = "",
    limit: Annotated[int, Query(ge=1, le=200, description="Messages a page.")] = 50,
    cursor: Annotated[str, Query(max_length=500, description="nextCursor of the page before.")] = "",
) -> dict[str, Any]:
    """The emails behind a dashboard figure, newest first, with their total: what the dashboard counts for
    the same category, window (and day) is `total` here."""
    reply = await request.app.state.services.inbox_stats.ListMessages(
        inbox_stats.ListMessagesRequest(
            category=CATEGORIES[category], window=_window(days, time_zone), day=day, page_size=limit, cursor=cursor
        )
    )
    return {
        "messages": [message_json(m) for m in reply.messages],
        "nextCursor": reply.next_cursor or None,
        "total": reply.total,
    }
