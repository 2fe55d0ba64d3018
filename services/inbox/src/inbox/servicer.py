"""leadflood.inbox.v1.DeliveryService and InboxService: proto in, domain call, proto out."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from inbox import delivery, inbound, mailboxes, receiving, recipient_reply, sms, suppressions, threads, unsubscribe
from inbox.config import InboxSettings
from inbox.convert import (
    captured_to_proto,
    mailbox_to_proto,
    message_to_proto,
    send_request,
    send_response,
    suppression_to_proto,
    thread_message_to_proto,
    thread_to_proto,
)
from inbox.models import SYSTEM_ORIGINS, CapturedMail, DeliveryAttempt, Message, not_system_mail
from leadflood.inbox.v1 import delivery_pb2, delivery_pb2_grpc, inbox_pb2, inbox_pb2_grpc
from leadflood_platform import context, tracing
from leadflood_platform.convert import parse_id
from leadflood_platform.db import Database
from leadflood_platform.errors import InvalidArgument, NotFound, PermissionDenied, Unavailable
from leadflood_platform.group_commit import GroupCommit, Submitted
from leadflood_platform.totals import capped_count

log = logging.getLogger(__name__)
# Plain emails from concurrent SendMessage calls stored in one transaction, up to this many (group commit).
SEND_GROUP_MAX = 64
# The callers an internal team's credential makes (identity.py): they never read system mail, whatever they ask.
TEAM_CALLER = "team:"


def _shown(request: Any) -> list[ColumnElement[bool]]:
    """What a message must be for this caller to read it: anything when the caller may read system mail (it asks,
    and it is the deployment's own: the gateway asks for owners and admins), else anything but system mail (a dry
    run's messages included: in no thread, but what a run's receipts name). An invitation's link lets whoever reads
    it join the org in the role it names: only those who invite read it."""
    if request.with_system_mail and not (context.caller.get() or "").startswith(TEAM_CALLER):
        return []
    return [not_system_mail()]


class DeliveryServicer(delivery_pb2_grpc.DeliveryServiceServicer):
    def __init__(self, db: Database, settings: InboxSettings) -> None:
        self.db, self.settings = db, settings
        self._plain_emails: GroupCommit[delivery.PlainEmail, delivery.Outcome] = GroupCommit(
            self._store_plain_emails, max_batch=SEND_GROUP_MAX
        )

    async def SendMessage(self, request, ctx):  # type: ignore[no-untyped-def]
        send = delivery.validate(send_request(request))
        org_id, now = context.require_org(), dt.datetime.now(dt.UTC)
        if delivery.is_plain_email(send):  # the hot path: stored with the calls arriving meanwhile, few statements
            email = delivery.PlainEmail(org_id, send, now, tracing.message_headers())
            return send_response(await self._plain_emails.submit(email))
        async with self.db.transaction() as session:
            outcome = await delivery.send(session=session, org_id=org_id, request=send, settings=self.settings, now=now)
            return send_response(outcome)

    async def _store_plain_emails(
        self, batch: list[Submitted[delivery.PlainEmail]]
    ) -> list[delivery.Outcome | Exception]:
        """Concurrent calls' emails in one transaction on the bare connection (its BEGIN, its COMMIT and the keys'
        locks shared). Should anything fail (one caller's mailbox not found, say), each is stored alone, so one
        caller's error is its own and never another's."""
        if len(batch) > 1:
            try:
                async with self.db.driver(transaction=True) as conn:
                    return await delivery.send_emails(
                        into=conn, emails=[one.item for one in batch], settings=self.settings
                    )
            except Exception as error:
                log.info("plain emails failed together; storing each alone", extra={"error": str(error)})
        return [await one.within(self._store_plain_email, one.item) for one in batch]

    async def _store_plain_email(self, email: delivery.PlainEmail) -> delivery.Outcome | Exception:
        try:
            async with self.db.driver(transaction=True) as conn:
                return (await delivery.send_emails(into=conn, emails=[email], settings=self.settings))[0]
        except Exception as exc:  # to its caller alone
            return exc

    async def SendMessages(self, request, ctx):  # type: ignore[no-untyped-def]
        if len(request.requests) > delivery.MAX_BATCH:
            raise InvalidArgument.on("requests", f"at most {delivery.MAX_BATCH} in one call")
        sends = []
        for index, one in enumerate(request.requests):
            with delivery.in_batch(index):
                sends.append(delivery.validate(send_request(one)))
        org_id, now = context.require_org(), dt.datetime.now(dt.UTC)
        async with self.db.transaction() as session:
            outcomes = await delivery.send_many(
                session=session, org_id=org_id, requests=sends, settings=self.settings, now=now
            )
        return delivery_pb2.SendMessagesResponse(responses=[send_response(o) for o in outcomes])

    async def SendDraft(self, request, ctx):  # type: ignore[no-untyped-def]
        message_id, org_id = parse_id(request.message_id, "message"), context.require_org()
        async with self.db.transaction() as session:
            outcome = await delivery.send_draft(
                session=session, org_id=org_id, message_id=message_id, subject=request.subject,
                text_body=request.text_body, settings=self.settings, now=dt.datetime.now(dt.UTC),
            )  # fmt: skip
            return delivery_pb2.SendDraftResponse(send=send_response(outcome))

    async def GetMessage(self, request, ctx):  # type: ignore[no-untyped-def]
        message_id, org_id = parse_id(request.message_id, "message"), context.require_org()
        query = select(Message).where(Message.org_id == org_id, Message.id == message_id, *_shown(request))
        async with self.db.transaction() as session:
            message = await session.scalar(query)
            if message is None:
                raise NotFound(f"message {request.message_id} not found")
            attempts = await session.scalars(
                select(DeliveryAttempt).where(DeliveryAttempt.message_id == message_id).order_by(DeliveryAttempt.number)
            )
            return delivery_pb2.GetMessageResponse(message=message_to_proto(message, list(attempts)))


class InboxServicer(inbox_pb2_grpc.InboxServiceServicer):
    def __init__(self, db: Database, settings: InboxSettings) -> None:
        self.db, self.settings = db, settings

    async def ListMailboxes(self, request, ctx):  # type: ignore[no-untyped-def]
        async with self.db.transaction() as session:
            counted = await mailboxes.list_all(session, context.require_org(), dt.datetime.now(dt.UTC))
        return inbox_pb2.ListMailboxesResponse(mailboxes=[mailbox_to_proto(c) for c in counted])

    async def CreateMailbox(self, request, ctx):  # type: ignore[no-untyped-def]
        given = request.mailbox
        values = {name: getattr(given, name) for name in ("from_address", *mailboxes.EDITABLE)}
        values["time_zone"] = values["time_zone"] or "UTC"
        async with self.db.transaction() as session:
            counted = await mailboxes.create(
                session, context.require_org(), values, make_default=request.make_default, now=dt.datetime.now(dt.UTC)
            )
        return inbox_pb2.CreateMailboxResponse(mailbox=mailbox_to_proto(counted))

    async def UpdateMailbox(self, request, ctx):  # type: ignore[no-untyped-def]
        changes = {name: getattr(request, name) for name in mailboxes.EDITABLE if request.HasField(name)}
        async with self.db.transaction() as session:
            counted = await mailboxes.update_one(
                session, context.require_org(), parse_id(request.mailbox_id, "mailbox"), changes,
                make_default=request.HasField("make_default") and request.make_default, now=dt.datetime.now(dt.UTC),
            )  # fmt: skip
        return inbox_pb2.UpdateMailboxResponse(mailbox=mailbox_to_proto(counted))

    async def ListSuppressions(self, request, ctx):  # type: ignore[no-untyped-def]
        org_id = context.require_org()
        async with self.db.snapshot() as session:
            rows, after = await suppressions.page(
                session, org_id, size=min(request.page_size or 100, 500), after=request.after, query=request.query
            )
            reply = inbox_pb2.ListSuppressionsResponse(
                suppressions=[suppression_to_proto(r) for r in rows], next_after=after
            )
            # Counted on the first page only: "Load more" keeps the total it was shown.
            if request.with_total and not request.after:
                reply.total, reply.total_capped = await suppressions.total(session, org_id, query=request.query)
        return reply

    async def AddSuppression(self, request, ctx):  # type: ignore[no-untyped-def]
        async with self.db.transaction() as session:
            row, added = await suppressions.add(session, context.require_org(), request.address)
            return inbox_pb2.AddSuppressionResponse(suppression=suppression_to_proto(row), added=added)

    async def RemoveSuppression(self, request, ctx):  # type: ignore[no-untyped-def]
        async with self.db.transaction() as session:
            await suppressions.remove(session, context.require_org(), request.address)
        return inbox_pb2.RemoveSuppressionResponse()

    async def ListThreads(self, request, ctx):  # type: ignore[no-untyped-def]
        org_id = context.require_org()
        lead_id = parse_id(request.lead_id, "lead") if request.lead_id else None
        name = inbox_pb2.ThreadFilter.Name(request.filter).removeprefix("THREAD_FILTER_").lower()
        matching = {"filter": "all" if name == "unspecified" else name, "lead_id": lead_id, "channel": request.channel}
        async with self.db.snapshot() as session:
            summaries, cursor = await threads.page(
                session, org_id, **matching, size=min(request.page_size or 50, 200), cursor=request.cursor
            )
            needs_reply, unread = await threads.counts(session, org_id)
            reply = inbox_pb2.ListThreadsResponse(
                threads=[thread_to_proto(s) for s in summaries], next_cursor=cursor,
                needs_reply_count=needs_reply, unread_count=unread,
            )  # fmt: skip
            # Counted on the first page only: "Load more" keeps the total it was shown.
            if request.with_total and not request.cursor:
                reply.total, reply.total_capped = await threads.total(session, org_id, **matching)
        return reply

    async def GetThread(self, request, ctx):  # type: ignore[no-untyped-def]
        # One moment for its messages and its summary (their count, the latest): a reply committed between the two
        # reads was counted and not listed.
        async with self.db.snapshot() as session:
            summary, messages = await threads.get(session, context.require_org(), parse_id(request.thread_id, "thread"))
        return inbox_pb2.GetThreadResponse(
            thread=thread_to_proto(summary), messages=[thread_message_to_proto(m, n) for m, n in messages]
        )

    async def UpdateThread(self, request, ctx):  # type: ignore[no-untyped-def]
        def given(name: str) -> bool | None:
            return getattr(request, name) if request.HasField(name) else None

        async with self.db.transaction() as session:
            summary = await threads.update(
                session, context.require_org(), parse_id(request.thread_id, "thread"),
                unread=given("unread"), archived=given("archived"), needs_reply=given("needs_reply"),
            )  # fmt: skip
        return inbox_pb2.UpdateThreadResponse(thread=thread_to_proto(summary))

    async def ReceiveSms(self, request, ctx):  # type: ignore[no-untyped-def]
        token = self.settings.twilio_auth_token
        if not token:
            raise Unavailable("TWILIO_AUTH_TOKEN is not set: inbound texts cannot be checked, so none are taken")
        params = [(field.name, field.value) for field in request.params]
        if not sms.verify_twilio_signature(token, request.url, params, request.signature):
            raise PermissionDenied("the X-Twilio-Signature does not match: not a webhook from Twilio")
        text = sms.parse_inbound(params)
        async with self.db.transaction() as session:
            new, filed_as = await inbound.file_sms(session, text, urlencode(params).encode())
        return inbox_pb2.ReceiveSmsResponse(accepted=new, filed_as=filed_as)

    async def ReceiveEmail(self, request, ctx):  # type: ignore[no-untyped-def]
        if not request.raw.strip():
            raise InvalidArgument.on("raw", "an RFC 5322 message is required")
        raw_id = await receiving.accept(self.db, self.settings, request.raw, source="webhook")
        return inbox_pb2.ReceiveEmailResponse(accepted=raw_id is not None, raw_id=str(raw_id or ""))

    async def ReplyAsRecipient(self, request, ctx):  # type: ignore[no-untyped-def]
        async with self.db.transaction() as session:
            mail = await session.scalar(
                _captured_of(context.require_org(), request).where(CapturedMail.id == request.captured_mail_id)
            )
        if mail is None:
            raise NotFound(f"captured mail {request.captured_mail_id} not found")
        sent = await recipient_reply.send(
            mail, request.text, out_of_office=request.out_of_office, settings=self.settings
        )
        return inbox_pb2.ReplyAsRecipientResponse(rfc822_message_id=sent)

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
        query = _captured_of(org_id, request).order_by(CapturedMail.id.desc()).limit(size)
        if request.before_id:
            query = query.where(CapturedMail.id < request.before_id)
        async with self.db.snapshot() as session:
            mail = (await session.scalars(query)).all()
            system = await _system_mail_ids(session, org_id, mail)
            reply = inbox_pb2.ListCapturedMailResponse(
                mail=[captured_to_proto(m, raw=False, system_mail=m.rfc822_message_id in system) for m in mail]
            )
            # Counted on the first page only: "Load more" keeps the total it was shown.
            if request.with_total and not request.before_id:
                ours = _captured_of(org_id, request).with_only_columns(CapturedMail.id)
                reply.total, reply.total_capped = await capped_count(session, ours)
        return reply

    async def GetCapturedMail(self, request, ctx):  # type: ignore[no-untyped-def]
        org_id = context.require_org()
        async with self.db.transaction() as session:
            mail = await session.scalar(_captured_of(org_id, request).where(CapturedMail.id == request.id))
            if mail is None:
                raise NotFound(f"captured mail {request.id} not found")
            system = mail.rfc822_message_id in await _system_mail_ids(session, org_id, [mail])
        return inbox_pb2.GetCapturedMailResponse(mail=captured_to_proto(mail, raw=True, system_mail=system))


async def _system_mail_ids(session: AsyncSession, org_id: uuid.UUID, mail: Sequence[CapturedMail]) -> set[str]:
    """The Message-IDs of the captured mail that is the org's system mail (an invitation), not outreach."""
    ids = [m.rfc822_message_id for m in mail if m.rfc822_message_id]
    if not ids:
        return set()
    ours = select(Message.rfc822_message_id).where(
        Message.org_id == org_id, Message.rfc822_message_id.in_(ids), Message.origin.in_(SYSTEM_ORIGINS)
    )
    return {found for found in await session.scalars(ours) if found}


def _captured_of(org_id: uuid.UUID, request: Any) -> Select[tuple[CapturedMail]]:
    """Captured mail of the org's own messages (the capture server knows no orgs, the Message-ID tells), system
    mail only for a caller that may read it."""
    ours = select(Message.rfc822_message_id).where(
        Message.org_id == org_id, Message.rfc822_message_id == CapturedMail.rfc822_message_id
    )
    return select(CapturedMail).where(ours.where(*_shown(request)).exists())
