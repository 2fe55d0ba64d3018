"""The inbox's domain events, written to its outbox in the transaction that makes the change they announce."""

from __future__ import annotations

import json
import uuid

from google.protobuf.message import Message as Proto
from sqlalchemy.ext.asyncio import AsyncSession

from inbox.models import Message, platform_tables
from leadflood.inbox.v1 import delivery_pb2, events_pb2
from leadflood_platform import outbox, tracing
from leadflood_platform.bus import TYPE_HEADER

CHANNEL = {"email": delivery_pb2.CHANNEL_EMAIL, "sms": delivery_pb2.CHANNEL_SMS}


def ref(message: Message) -> events_pb2.MessageRef:
    return events_pb2.MessageRef(
        message_id=str(message.id),
        thread_id=str(message.thread_id or ""),  # empty: system mail, in no thread
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


def outbox_headers(message: Proto, carried: dict[str, str] | None = None) -> str:
    """The headers outbox.enqueue writes with a message (trace context, ids, its type), as JSON: for the hot
    paths that write their outbox row inside a statement of their own (delivery.STORE, workers.MARK_SENT_ANNOUNCED).
    `carried`: the trace context and ids of the caller it is written for, taken in the caller's context."""
    return json.dumps(
        (tracing.message_headers() if carried is None else carried) | {TYPE_HEADER: message.DESCRIPTOR.full_name}
    )
