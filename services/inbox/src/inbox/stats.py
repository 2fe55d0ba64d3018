"""The mail room's dashboard figures (sent, replied, bounced a day) and the messages behind each of them.

A category is one predicate and one timestamp (`_CATEGORIES`), used by both the counts and the list, so
a figure and its list cannot disagree. Each predicate holds only messages the inbox shows (models.in_inbox):
system mail (an invitation) and a dry run's messages are no outreach, and never count as sent, replied or bounced.
"""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.sql.elements import ColumnElement

from inbox.models import BOUNCED, EMAIL, IN, OUT, QUEUED, SENDING, SENT, Message, Thread, in_inbox
from leadflood.inbox.v1 import stats_pb2, stats_pb2_grpc
from leadflood_platform import context
from leadflood_platform.convert import timestamp
from leadflood_platform.day_window import DayWindow
from leadflood_platform.db import Database
from leadflood_platform.errors import InvalidArgument

_SENT_AT = func.coalesce(Message.sent_at, Message.created_at)
# category -> (which messages, the moment that puts one in a day)
_CATEGORIES: dict[int, tuple[ColumnElement[bool], Any]] = {
    stats_pb2.MESSAGE_CATEGORY_SENT: (
        and_(in_inbox(), Message.direction == OUT, Message.channel == EMAIL, Message.sent_at.is_not(None)),
        Message.sent_at,
    ),
    stats_pb2.MESSAGE_CATEGORY_REPLIED: (
        and_(in_inbox(), Message.direction == IN, Message.channel == EMAIL, Message.kind == "reply"),
        Message.created_at,
    ),
    stats_pb2.MESSAGE_CATEGORY_BOUNCED: (
        and_(in_inbox(), Message.direction == OUT, Message.channel == EMAIL, Message.status == BOUNCED),
        _SENT_AT,
    ),
}
# Listed, not counted: an email on its way is a conversation going on (a lead run leaves its lead alone).
_LISTED = _CATEGORIES | {
    stats_pb2.MESSAGE_CATEGORY_EMAILED: (
        and_(in_inbox(), Message.direction == OUT, Message.channel == EMAIL,
             Message.status.in_((QUEUED, SENDING, SENT, BOUNCED))),
        _SENT_AT,
    ),
}  # fmt: skip
_NAMES = {stats_pb2.MESSAGE_CATEGORY_SENT: "sent", stats_pb2.MESSAGE_CATEGORY_REPLIED: "replied",
          stats_pb2.MESSAGE_CATEGORY_BOUNCED: "bounced"}  # fmt: skip


def _window(window: stats_pb2.StatsWindow) -> DayWindow:
    return DayWindow.parse(window.days, window.time_zone)


def _cursor(at: dt.datetime, message_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{message_id}".encode()).decode()


def _after(cursor: str) -> tuple[dt.datetime, uuid.UUID]:
    try:
        at, message_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        return dt.datetime.fromisoformat(at), uuid.UUID(message_id)
    except ValueError:
        raise InvalidArgument.on("cursor", "not a cursor this list gave") from None


MAX_LEAD_IDS = 500


def _lead_ids(given: Sequence[str]) -> list[uuid.UUID]:
    if len(given) > MAX_LEAD_IDS:
        raise InvalidArgument.on("lead_ids", f"at most {MAX_LEAD_IDS} in one call")
    try:
        return [uuid.UUID(lead_id) for lead_id in given]
    except ValueError:
        raise InvalidArgument.on("lead_ids", "each must be a lead's id") from None


class InboxStatsServicer(stats_pb2_grpc.InboxStatsServiceServicer):
    def __init__(self, db: Database) -> None:
        self.db = db

    async def GetMessageStats(self, request, ctx):  # type: ignore[no-untyped-def]
        window, org_id = _window(request.window), context.require_org()
        start, end = window.span()
        rows: dict[str, dict[str, int]] = {}
        async with self.db.read() as connection:
            for category, (which, at) in _CATEGORIES.items():
                day = func.date(func.timezone(window.zone.key, at))
                result = await connection.execute(
                    select(day, func.count())
                    .where(Message.org_id == org_id, which, at >= start, at < end)
                    .group_by(day)
                )
                for found_day, count in result.all():
                    rows.setdefault(found_day.isoformat(), {})[_NAMES[category]] = count
        days = [
            stats_pb2.DayCounts(day=d.isoformat(), **rows.get(d.isoformat(), {}))  # zeros where nothing happened
            for d in window.days
        ]
        return stats_pb2.GetMessageStatsResponse(
            days=days,
            sent=sum(d.sent for d in days),
            replied=sum(d.replied for d in days),
            bounced=sum(d.bounced for d in days),
        )

    async def ListMessages(self, request, ctx):  # type: ignore[no-untyped-def]
        if request.category not in _LISTED:
            raise InvalidArgument.on("category", "one of sent, replied, bounced, emailed")
        window, org_id = _window(request.window), context.require_org()
        start, end = window.span(request.day)
        which, at = _LISTED[request.category]
        where = and_(Message.org_id == org_id, which, at >= start, at < end)
        if request.lead_ids:
            # Through the leads' conversations (threads are indexed by org and lead; messages by thread).
            leads = select(Thread.id).where(Thread.org_id == org_id, Thread.lead_id.in_(_lead_ids(request.lead_ids)))
            where = and_(where, Message.thread_id.in_(leads))
        size = min(max(request.page_size or 50, 1), 200)
        query = select(Message, at.label("at")).where(where)
        if request.cursor:
            after_at, after_id = _after(request.cursor)
            query = query.where(or_(at < after_at, and_(at == after_at, Message.id < after_id)))
        query = query.order_by(at.desc(), Message.id.desc()).limit(size + 1)
        async with self.db.transaction() as session:
            total = await session.scalar(select(func.count()).select_from(Message).where(where))
            found = (await session.execute(query)).all()
        page, more = found[:size], len(found) > size
        return stats_pb2.ListMessagesResponse(
            messages=[
                stats_pb2.ListedMessage(
                    id=str(m.id),
                    thread_id=str(m.thread_id),
                    lead_id=str(m.lead_id or ""),
                    status=m.status,
                    kind=m.kind or "",
                    from_address=m.from_address,
                    to_address=m.to_address,
                    subject=m.subject,
                    at=timestamp(when),
                )  # fmt: skip
                for m, when in page
            ],
            next_cursor=_cursor(page[-1][1], page[-1][0].id) if more else "",
            total=total or 0,
        )
