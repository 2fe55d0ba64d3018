"""The inbox as a list of conversations: threads newest first, those needing a reply counted, each opened whole.
System mail (an invitation) and a dry run's messages are stored in no thread (delivery.in_no_thread), so nothing here
lists, counts or opens them."""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, select, tuple_
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncSession

from inbox.models import OUT, DeliveryAttempt, Message, Thread
from leadflood_platform import totals
from leadflood_platform.errors import InvalidArgument, NotFound

FILTERS = {"all", "needs_reply", "unread", "archived"}
SNIPPET = 140


@dataclass(frozen=True)
class Summary:
    """A thread with what its row in the list shows of its messages."""

    thread: Thread
    message_count: int
    snippet: str
    last_from: str
    last_kind: str
    lead_address: str


def _cursor(thread: Thread) -> str:
    payload = json.dumps([thread.last_message_at.isoformat(), str(thread.id)])
    return base64.urlsafe_b64encode(payload.encode()).decode()


def _after(cursor: str) -> tuple[dt.datetime, uuid.UUID]:
    try:
        at, thread_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return dt.datetime.fromisoformat(at), uuid.UUID(thread_id)
    except (ValueError, TypeError):
        raise InvalidArgument.on("cursor", "not a cursor this list returned") from None


async def page(
    session: AsyncSession,
    org_id: uuid.UUID,
    *,
    filter: str,
    lead_id: uuid.UUID | None,
    channel: str,
    size: int,
    cursor: str,
) -> tuple[list[Summary], str]:
    """One page of the org's threads, newest first, and the cursor of the next (empty at the end)."""
    query = select(Thread).where(*_matching(org_id, filter=filter, lead_id=lead_id, channel=channel))
    if cursor:
        at, after_id = _after(cursor)
        query = query.where(tuple_(Thread.last_message_at, Thread.id) < tuple_(at, after_id))
    query = query.order_by(Thread.last_message_at.desc(), Thread.id.desc()).limit(size + 1)
    threads = list((await session.scalars(query)).all())
    more = len(threads) > size
    threads = threads[:size]
    summaries = await _summaries(session, threads)
    return summaries, (_cursor(threads[-1]) if more else "")


def _matching(org_id: uuid.UUID, *, filter: str, lead_id: uuid.UUID | None, channel: str) -> list[ColumnElement[bool]]:
    """What a thread must be to be listed under `filter` (and of the lead, on the channel, when given)."""
    where = [Thread.org_id == org_id, Thread.archived if filter == "archived" else Thread.archived.is_(False)]
    if filter == "needs_reply":
        where.append(Thread.needs_reply)
    elif filter == "unread":
        where.append(Thread.unread)
    if lead_id is not None:
        where.append(Thread.lead_id == lead_id)
    if channel:
        where.append(Thread.channel == channel)
    return where


async def total(
    session: AsyncSession,
    org_id: uuid.UUID,
    *,
    filter: str,
    lead_id: uuid.UUID | None,
    channel: str,
    cap: int = totals.MAX_TOTAL,
) -> tuple[int, bool]:
    """How many threads `page` lists over all its pages, counted up to `cap`, and whether there are more."""
    matching = select(Thread.id).where(*_matching(org_id, filter=filter, lead_id=lead_id, channel=channel))
    return await totals.capped_count(session, matching, cap)


async def counts(session: AsyncSession, org_id: uuid.UUID) -> tuple[int, int]:
    """(needing a reply, unread) among the org's threads not archived."""
    row = (
        await session.execute(
            select(func.count().filter(Thread.needs_reply), func.count().filter(Thread.unread)).where(
                Thread.org_id == org_id, Thread.archived.is_(False)
            )
        )
    ).one()
    return int(row[0]), int(row[1])


async def _summaries(session: AsyncSession, threads: list[Thread]) -> list[Summary]:
    if not threads:
        return []
    ids = [thread.id for thread in threads]
    counted = dict(
        (
            await session.execute(
                select(Message.thread_id, func.count()).where(Message.thread_id.in_(ids)).group_by(Message.thread_id)
            )
        ).all()
    )
    latest = {
        m.thread_id: m
        for m in await session.scalars(
            select(Message)
            .where(Message.thread_id.in_(ids))
            .ext(distinct_on(Message.thread_id))
            .order_by(Message.thread_id, Message.created_at.desc())
        )
    }
    leads = dict(
        (
            await session.execute(
                select(Message.thread_id, Message.to_address)
                .where(Message.thread_id.in_(ids), Message.direction == OUT)
                .ext(distinct_on(Message.thread_id))
                .order_by(Message.thread_id, Message.created_at)
            )
        ).all()
    )
    out = []
    for thread in threads:
        last = latest.get(thread.id)
        out.append(
            Summary(
                thread=thread,
                message_count=counted.get(thread.id, 0),
                snippet=" ".join((last.text_body if last else "").split())[:SNIPPET],
                last_from=last.from_address if last else "",
                last_kind=(last.kind or last.direction) if last else "",
                lead_address=leads.get(thread.id, ""),
            )
        )
    return out


async def get(
    session: AsyncSession, org_id: uuid.UUID, thread_id: uuid.UUID
) -> tuple[Summary, list[tuple[Message, int]]]:
    """The thread and its messages, oldest first, each with its number of delivery attempts."""
    thread = await session.scalar(select(Thread).where(Thread.org_id == org_id, Thread.id == thread_id))
    if thread is None:
        raise NotFound(f"thread {thread_id} not found")
    attempts = select(func.count()).where(DeliveryAttempt.message_id == Message.id).correlate(Message).scalar_subquery()
    rows = (
        await session.execute(
            select(Message, attempts).where(Message.thread_id == thread_id).order_by(Message.created_at, Message.id)
        )
    ).all()
    [summary] = await _summaries(session, [thread])
    return summary, [(message, count) for message, count in rows]


async def noticed(session: AsyncSession, thread_id: uuid.UUID) -> Thread:
    """News in a conversation for someone to see (a reply, an auto-reply, a bounce, a complaint): it moves to the top
    of the list, unread. Whether it needs a reply is the caller's to say (a bounce does not)."""
    thread = await session.get_one(Thread, thread_id, with_for_update=True)
    thread.last_message_at, thread.unread = func.now(), True
    return thread


async def update(
    session: AsyncSession,
    org_id: uuid.UUID,
    thread_id: uuid.UUID,
    *,
    unread: bool | None,
    archived: bool | None,
    needs_reply: bool | None,
) -> Summary:
    thread = await session.scalar(
        select(Thread).where(Thread.org_id == org_id, Thread.id == thread_id).with_for_update()
    )
    if thread is None:
        raise NotFound(f"thread {thread_id} not found")
    for name, value in (("unread", unread), ("archived", archived), ("needs_reply", needs_reply)):
        if value is not None:
            setattr(thread, name, value)
    await session.flush()
    [summary] = await _summaries(session, [thread])
    return summary
