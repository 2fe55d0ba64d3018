"""Between the inbox's models and its protobuf messages."""

from __future__ import annotations

import datetime as dt
import uuid

from inbox.delivery import Outcome, SendRequest
from inbox.events import CHANNEL
from inbox.mailboxes import Counted
from inbox.models import CapturedMail, DeliveryAttempt, Message, Suppression
from inbox.threads import Summary
from leadflood.inbox.v1 import delivery_pb2, inbox_pb2
from leadflood_platform.convert import parse_id, timestamp

CHANNEL_NAME = {value: name for name, value in CHANNEL.items()}
STATUS = {
    "queued": delivery_pb2.MESSAGE_STATUS_QUEUED,
    "sending": delivery_pb2.MESSAGE_STATUS_SENDING,
    "sent": delivery_pb2.MESSAGE_STATUS_SENT,
    "failed": delivery_pb2.MESSAGE_STATUS_FAILED,
    "bounced": delivery_pb2.MESSAGE_STATUS_BOUNCED,
    "suppressed": delivery_pb2.MESSAGE_STATUS_SUPPRESSED,
    "simulated": delivery_pb2.MESSAGE_STATUS_SIMULATED,
    "received": delivery_pb2.MESSAGE_STATUS_RECEIVED,
    "draft": delivery_pb2.MESSAGE_STATUS_DRAFT,
}
OUTCOME = {
    "queued": delivery_pb2.SEND_OUTCOME_QUEUED,
    "deferred": delivery_pb2.SEND_OUTCOME_DEFERRED,
    "suppressed": delivery_pb2.SEND_OUTCOME_SUPPRESSED,
    "simulated": delivery_pb2.SEND_OUTCOME_SIMULATED,
    "drafted": delivery_pb2.SEND_OUTCOME_DRAFTED,
}


def _optional_id(value: str, name: str) -> uuid.UUID | None:
    return parse_id(value, name) if value else None


def send_request(request: delivery_pb2.SendMessageRequest) -> SendRequest:
    return SendRequest(
        idempotency_key=request.idempotency_key,
        channel=CHANNEL_NAME.get(request.channel, "email" if not request.channel else "unknown"),
        mailbox_id=_optional_id(request.mailbox_id, "mailbox"),
        lead_id=_optional_id(request.to.lead_id, "lead"),
        to_address=request.to.phone if request.channel == delivery_pb2.CHANNEL_SMS else request.to.email,
        to_name=request.to.name,
        subject=request.subject,
        text_body=request.text_body,
        html_body=request.html_body,
        thread_id=_optional_id(request.thread_id, "thread"),
        continue_lead_thread=request.continue_lead_thread,
        not_after=request.not_after.ToDatetime(tzinfo=dt.UTC) if request.HasField("not_after") else None,
        dry_run=request.dry_run,
        origin=request.origin,
        draft=request.draft,
    )


def send_response(outcome: Outcome) -> delivery_pb2.SendMessageResponse:
    reply = delivery_pb2.SendMessageResponse(
        outcome=OUTCOME[outcome.kind], reason=outcome.reason, existing=outcome.existing
    )
    if outcome.retry_at is not None:
        reply.retry_at.CopyFrom(timestamp(outcome.retry_at))
    if outcome.message is not None:
        message = outcome.message
        reply.message_id, reply.thread_id = str(message.id), str(message.thread_id or "")
        reply.rfc822_message_id, reply.status = message.rfc822_message_id or "", STATUS[message.status]
    if outcome.send_at is not None:
        reply.send_at.CopyFrom(timestamp(outcome.send_at))
    return reply


def message_to_proto(message: Message, attempts: list[DeliveryAttempt]) -> delivery_pb2.Message:
    return delivery_pb2.Message(
        id=str(message.id),
        thread_id=str(message.thread_id or ""),
        lead_id=str(message.lead_id or ""),
        channel=CHANNEL[message.channel],
        status=STATUS[message.status],
        mailbox_id=str(message.mailbox_id or ""),
        from_address=message.from_address,
        to_address=message.to_address,
        subject=message.subject,
        text_body=message.text_body,
        rfc822_message_id=message.rfc822_message_id or "",
        idempotency_key=message.idempotency_key or "",
        origin=message.origin,
        attempts=[
            delivery_pb2.DeliveryAttempt(number=a.number, at=timestamp(a.at), result=a.result, detail=a.detail)
            for a in attempts
        ],
        error=message.error or "",
        created_at=timestamp(message.created_at),
        sent_at=timestamp(message.sent_at),
    )


def captured_to_proto(mail: CapturedMail, *, raw: bool, system_mail: bool) -> inbox_pb2.CapturedMail:
    return inbox_pb2.CapturedMail(
        id=mail.id,
        received_at=timestamp(mail.received_at),
        mail_from=mail.mail_from,
        rcpt_to=list(mail.rcpt_to),
        rfc822_message_id=mail.rfc822_message_id or "",
        subject=mail.subject,
        raw=mail.raw if raw else b"",
        system_mail=system_mail,
    )


def thread_to_proto(summary: Summary) -> inbox_pb2.Thread:
    thread = summary.thread
    return inbox_pb2.Thread(
        id=str(thread.id),
        lead_id=str(thread.lead_id or ""),
        channel=thread.channel,
        subject=thread.subject,
        needs_reply=thread.needs_reply,
        unread=thread.unread,
        archived=thread.archived,
        last_message_at=timestamp(thread.last_message_at),
        message_count=summary.message_count,
        snippet=summary.snippet,
        last_from=summary.last_from,
        last_kind=summary.last_kind,
        lead_address=summary.lead_address,
    )


def thread_message_to_proto(message: Message, attempts: int) -> inbox_pb2.ThreadMessage:
    return inbox_pb2.ThreadMessage(
        id=str(message.id),
        direction=message.direction,
        status=message.status,
        kind=message.kind or "",
        from_address=message.from_address,
        to_address=message.to_address,
        subject=message.subject,
        text=message.text_body,
        rfc822_message_id=message.rfc822_message_id or "",
        unknown_sender=message.unknown_sender,
        error=message.error or "",
        origin=message.origin,
        created_at=timestamp(message.created_at),
        sent_at=timestamp(message.sent_at),
        attempts=attempts,
    )


def mailbox_to_proto(counted: Counted) -> inbox_pb2.Mailbox:
    m = counted.mailbox
    return inbox_pb2.Mailbox(
        id=str(m.id), from_address=m.from_address, from_name=m.from_name, smtp_host=m.smtp_host,
        smtp_port=m.smtp_port, smtp_starttls=m.smtp_starttls, smtp_username=m.smtp_username,
        smtp_password_ref=m.smtp_password_ref, daily_cap=m.daily_cap, min_spacing_s=m.min_spacing_s,
        time_zone=m.time_zone, is_default=m.is_default, sent_today=counted.sent_today,
    )  # fmt: skip


def suppression_to_proto(row: Suppression) -> inbox_pb2.Suppression:
    return inbox_pb2.Suppression(address=row.address, reason=row.reason, created_at=timestamp(row.created_at))
