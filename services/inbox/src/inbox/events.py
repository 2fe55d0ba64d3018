"""The inbox's domain events, written to its outbox in the transaction that makes the change they announce."""

from __future__ import annotations

import uuid

from google.protobuf.message import Message as Proto
from sqlalchemy.ext.asyncio import AsyncSession

from inbox.models import Message, platform_tables
from leadflood.inbox.v1 import delivery_pb2, events_pb2
from leadflood_platform import outbox

CHANNEL = {"email": delivery_pb2.CHANNEL_EMAIL, "sms": delivery_pb2.CHANNEL_SMS}


def ref(message: Message) -> events_pb2.MessageRef:
    return events_pb2.MessageRef(
        message_id=str(message.id),
        thread_id=str(message.thread_id),
        lead_id=str(message.lead_id or ""),
        channel=CHANNEL[message.channel],
        idempotency_key=message.idempotency_key or "",
        origin=message.origin,
    )


async def publish(session: AsyncSession, subject: str, event: Proto) -> None:
    """`event` has event_id and org_id set by the caller's fields; the event id is its de-duplication id."""
    event_id = str(uuid.uuid4())
    event.event_id = event_id  # type: ignore[attr-defined]
    await outbox.enqueue(session, platform_tables, subject=subject, message=event, msg_id=event_id)
