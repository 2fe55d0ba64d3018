"""leadflood.inbox.v1.DeliveryService and InboxService: proto in, domain call, proto out."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import Select, select

from inbox import delivery, suppressions, unsubscribe
from inbox.config import InboxSettings
from inbox.convert import captured_to_proto, message_to_proto, send_request, send_response
from inbox.models import CapturedMail, DeliveryAttempt, Message
from leadflood.inbox.v1 import delivery_pb2, delivery_pb2_grpc, inbox_pb2, inbox_pb2_grpc
from leadflood_platform import context
from leadflood_platform.convert import parse_id
from leadflood_platform.db import Database
from leadflood_platform.errors import NotFound


class DeliveryServicer(delivery_pb2_grpc.DeliveryServiceServicer):
    def __init__(self, db: Database, settings: InboxSettings) -> None:
        self.db, self.settings = db, settings

    async def SendMessage(self, request, ctx):  # type: ignore[no-untyped-def]
        send = send_request(request)
        async with self.db.transaction() as session:
            outcome = await delivery.send(
                session=session,
                org_id=context.require_org(),
                request=send,
                settings=self.settings,
                now=dt.datetime.now(dt.UTC),
            )
            return send_response(outcome)

    async def GetMessage(self, request, ctx):  # type: ignore[no-untyped-def]
        message_id, org_id = parse_id(request.message_id, "message"), context.require_org()
        async with self.db.transaction() as session:
            message = await session.scalar(select(Message).where(Message.org_id == org_id, Message.id == message_id))
            if message is None:
                raise NotFound(f"message {request.message_id} not found")
            attempts = await session.scalars(
                select(DeliveryAttempt).where(DeliveryAttempt.message_id == message_id).order_by(DeliveryAttempt.number)
            )
            return delivery_pb2.GetMessageResponse(message=message_to_proto(message, list(attempts)))


class InboxServicer(inbox_pb2_grpc.InboxServiceServicer):
    def __init__(self, db: Database, settings: InboxSettings) -> None:
        self.db, self.settings = db, settings

    async def DescribeUnsubscribe(self, request, ctx):  # type: ignore[no-untyped-def]
        named = suppressions.recipient(self.settings.key(unsubscribe.PURPOSE), request.token)
        async with self.db.transaction() as session:
            done = await suppressions.is_suppressed(session, named.org_id, named.address)
        return inbox_pb2.DescribeUnsubscribeResponse(address=named.address, already_unsubscribed=done)

    async def Unsubscribe(self, request, ctx):  # type: ignore[no-untyped-def]
        named = suppressions.recipient(self.settings.key(unsubscribe.PURPOSE), request.token)
        async with self.db.transaction() as session:
            added = await suppressions.unsubscribe_recipient(session, named)
        return inbox_pb2.UnsubscribeResponse(address=named.address, newly_unsubscribed=added)

    async def ListCapturedMail(self, request, ctx):  # type: ignore[no-untyped-def]
        org_id, size = context.require_org(), min(request.page_size or 50, 200)
        query = _captured_of(org_id).order_by(CapturedMail.id.desc()).limit(size)
        if request.before_id:
            query = query.where(CapturedMail.id < request.before_id)
        async with self.db.transaction() as session:
            mail = (await session.scalars(query)).all()
        return inbox_pb2.ListCapturedMailResponse(mail=[captured_to_proto(m, raw=False) for m in mail])

    async def GetCapturedMail(self, request, ctx):  # type: ignore[no-untyped-def]
        async with self.db.transaction() as session:
            mail = await session.scalar(_captured_of(context.require_org()).where(CapturedMail.id == request.id))
        if mail is None:
            raise NotFound(f"captured mail {request.id} not found")
        return inbox_pb2.GetCapturedMailResponse(mail=captured_to_proto(mail, raw=True))


def _captured_of(org_id: uuid.UUID) -> Select[tuple[CapturedMail]]:
    """Captured mail of the org's own messages: the capture server knows no orgs, the Message-ID tells."""
    ours = select(Message.rfc822_message_id).where(
        Message.org_id == org_id, Message.rfc822_message_id == CapturedMail.rfc822_message_id
    )
    return select(CapturedMail).where(ours.exists())
