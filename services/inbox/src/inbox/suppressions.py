"""The org's suppression list: who is never sent to, and the recipient's own unsubscribe."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from inbox import events, unsubscribe
from inbox.models import Message, Suppression
from leadflood.inbox.v1 import events_pb2
from leadflood_platform.errors import NotFound

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
    lead_id = await session.scalar(
        select(Message.lead_id)
        .where(Message.org_id == named.org_id, Message.to_address == named.address, Message.lead_id.is_not(None))
        .order_by(Message.created_at.desc())
        .limit(1)
    )
    event = events_pb2.RecipientUnsubscribed(
        org_id=str(named.org_id), lead_id=str(lead_id or ""), email=named.address, reason=UNSUBSCRIBED
    )
    await events.publish(session, "inbox.recipient.unsubscribed", event)
    return True
