"""The org's suppression list: who is never sent to (email addresses, and phone numbers for texts), and the
recipient's own unsubscribe.

An entry is keyed as sends compare it: an address lowercased, a number in E.164 (leadflood_platform.phones, the rule
a text's recipient and a lead's number are normalised by), so a number suppressed however it was written stops every
text to it.
"""

from __future__ import annotations

import contextlib
import re
import uuid

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import ColumnElement, delete, func, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from inbox import events, metrics, unsubscribe
from inbox.models import Message, Suppression
from leadflood.inbox.v1 import events_pb2
from leadflood_platform import phones, totals
from leadflood_platform.errors import InvalidArgument, NotFound, quoted

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
    to_them = (Message.org_id == named.org_id, func.lower(Message.to_address) == named.address.lower())
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
        found = Suppression.address.contains(query.lower(), autoescape=True)
        if _looks_like_a_number(query):  # "(415) 555" finds +14155550123: numbers are kept without separators
            found = or_(found, Suppression.address.contains(phones.SEPARATORS.sub("", query), autoescape=True))
        where.append(found)
    return where


async def total(
    session: AsyncSession, org_id: uuid.UUID, *, query: str, cap: int = totals.MAX_TOTAL
) -> tuple[int, bool]:
    """How many addresses `page` lists for `query` over all its pages, counted up to `cap`, and whether there are
    more."""
    return await totals.capped_count(session, select(Suppression.address).where(*_matching(org_id, query)), cap)


# What people write a number with: digits, a leading +, and separators.
_NUMBER_LIKE = re.compile(r"\+?[\d\s\-.()/]*\d[\d\s\-.()/]*")


def _looks_like_a_number(value: str) -> bool:
    return _NUMBER_LIKE.fullmatch(value.strip()) is not None


def listed_as(value: str) -> str:
    """What a person typed as the list keys it: an email address normalised and lowercased, a phone number in E.164;
    INVALID_ARGUMENT on `address`, saying what was expected, for anything else."""
    given = value.strip()
    if "@" in given:
        try:
            return validate_email(given, check_deliverability=False).normalized.lower()
        except EmailNotValidError as exc:
            raise InvalidArgument.on("address", str(exc)) from None
    if _looks_like_a_number(given):
        return phones.normalised(given, field="address")
    raise InvalidArgument.on(
        "address",
        f"{quoted(given)} is neither an email address nor a phone number in international form "
        "(for example ada@example.com or +14155550123)",
    )


async def add(session: AsyncSession, org_id: uuid.UUID, address: str) -> tuple[Suppression, bool]:
    """Suppress an address or a number by hand; one already listed keeps its first reason (False)."""
    address = listed_as(address)
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
    """Lift a suppression, named as listed or as typed ("+1 (415) 555-0123"); NOT_FOUND when it is not listed. What
    is given is not judged: an entry listed before today's rules must still be removable."""
    named = {address.strip().lower()}
    with contextlib.suppress(InvalidArgument):
        named.add(listed_as(address))
    gone = await session.execute(
        delete(Suppression).where(Suppression.org_id == org_id, Suppression.address.in_(named))
    )
    if not gone.rowcount:
        raise NotFound(f"{address} is not on the suppression list")
