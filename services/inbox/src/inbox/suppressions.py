"""The org's suppression list: who is never sent to, and the recipient's own unsubscribe."""

from __future__ import annotations

import uuid

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from inbox import events, metrics, unsubscribe
from inbox.models import Message, Suppression
from leadflood.inbox.v1 import events_pb2
from leadflood_platform import totals
from leadflood_platform.errors import InvalidArgument, NotFound

UNSUBSCRIBED = "unsubscribed"


def recipient(key: bytes, token: str) -> unsubscribe.Recipient:
    """Who a token names; NOT_FOUND (the same answer for any bad token) when the inbox did not sign it."""
    named = unsubscribe.verify(key, token)
    if named is None:
        raise NotFound("this unsubscribe link is not valid")
    return named


async def is_suppressed(session: AsyncSession, org_id: uuid.UUID, address: str) -> bool:
    return await session.get(Suppression, (org_id, address.lower())) is not None


async def unsubscribe_recipient(session: AsyncSession, named: unsubscribe.Recipient) -> bool:
    """Suppress the address; True when it was not suppressed before (then, and only then, one event)."""
    added = await session.execute(
        insert(Suppression)
        .values(org_id=named.org_id, address=named.address, reason=UNSUBSCRIBED)
        .on_conflict_do_nothing()
        .returning(Suppression.address)
    )
    if added.scalar_one_or_none() is None:
        return False
    metrics.SUPPRESSED.labels(UNSUBSCRIBED).inc()
    # The link is signed per recipient, not per message: what it answers is taken to be the last email sent them.
    to_them = (Message.org_id == named.org_id, Message.to_address == named.address)
    last = (
        await session.execute(
            select(Message.lead_id, Message.thread_id).where(*to_them).order_by(Message.created_at.desc()).limit(1)
        )
    ).first()
    lead_id = last.lead_id if last else None
    if last and lead_id is None:  # sent by hand to the address: the lead is the one an earlier email named
        lead_id = await session.scalar(
            select(Message.lead_id)
            .where(*to_them, Message.lead_id.is_not(None))
            .order_by(Message.created_at.desc())
            .limit(1)
        )
    event = events_pb2.RecipientUnsubscribed(
        org_id=str(named.org_id), lead_id=str(lead_id or ""), email=named.address, reason=UNSUBSCRIBED,
        thread_id=str(last.thread_id or "") if last else "",
    )  # fmt: skip
    await events.publish(session, "inbox.recipient.unsubscribed", event)
    return True


BY_HAND = "by-hand"


async def page(
    session: AsyncSession, org_id: uuid.UUID, *, size: int, after: str, query: str
) -> tuple[list[Suppression], str]:
    """The org's list in address order, from after `after`; and the address to continue after (empty at the end)."""
    select_ = select(Suppression).where(*_matching(org_id, query))
    if after:
        select_ = select_.where(Suppression.address > after)
    rows = list((await session.scalars(select_.order_by(Suppression.address).limit(size + 1))).all())
    return rows[:size], (rows[size - 1].address if len(rows) > size else "")


def _matching(org_id: uuid.UUID, query: str) -> list[ColumnElement[bool]]:
    where = [Suppression.org_id == org_id]
    if query:
        where.append(Suppression.address.contains(query.lower(), autoescape=True))
    return where


async def total(
    session: AsyncSession, org_id: uuid.UUID, *, query: str, cap: int = totals.MAX_TOTAL
) -> tuple[int, bool]:
    """How many addresses `page` lists for `query` over all its pages, counted up to `cap`, and whether there are
    more."""
    return await totals.capped_count(session, select(Suppression.address).where(*_matching(org_id, query)), cap)


def _address(value: str) -> str:
    try:
        return validate_email(value, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise InvalidArgument.on("address", str(exc)) from None


async def add(session: AsyncSession, org_id: uuid.UUID, address: str) -> tuple[Suppression, bool]:
    """Suppress an address by hand; an address already listed keeps its first reason (False)."""
    address = _address(address)
    added = await session.execute(
        insert(Suppression)
        .values(org_id=org_id, address=address, reason=BY_HAND)
        .on_conflict_do_nothing()
        .returning(Suppression.address)
    )
    if new := added.scalar_one_or_none() is not None:
        metrics.SUPPRESSED.labels(BY_HAND).inc()
    return await session.get_one(Suppression, (org_id, address), populate_existing=True), new


async def remove(session: AsyncSession, org_id: uuid.UUID, address: str) -> None:
    gone = await session.execute(
        delete(Suppression).where(Suppression.org_id == org_id, Suppression.address == address.strip().lower())
    )
    if not gone.rowcount:
        raise NotFound(f"{address} is not on the suppression list")
