"""Inbound email: kept raw first, then filed in the right thread as what it is (a reply, an auto-reply, a bounce,
a complaint), with the events a real reply, a bounce or a complaint call for.

Matching, in order: In-Reply-To, then References (last first), against the Message-IDs the inbox gave its
own messages; then the sender and the subject against what was sent to that sender. A reply from someone
other than the thread's lead is kept in that thread and flagged, never filed under another lead. A copy of
one of our own messages (a BCC, a Sent-folder copy) is recognised by its Message-ID and filed nowhere.

System mail (an invitation) is in no thread, and nothing that answers it opens one: a reply or an auto-reply to
it is kept raw only (SYSTEM_MAIL), since it would quote the invitation's link to whoever reads the inbox; a
bounce or a complaint about it still marks it bounced and suppresses the address, kept in no thread either.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from inbox import events, metrics, sms
from inbox.classify import Classification
from inbox.models import (
    BOUNCED,
    DRAFT,
    IN,
    OUT,
    RECEIVED,
    SENT,
    SIMULATED,
    SMS,
    SUPPRESSED,
    InboundRaw,
    LedgerEntry,
    Message,
    Suppression,
    Thread,
)  # fmt: skip
from leadflood.inbox.v1 import events_pb2
from leadflood_platform.convert import timestamp

PENDING, PROCESSED, UNMATCHED, OWN_COPY = "pending", "processed", "unmatched", "own_copy"
# Outbound messages that never left: nothing that comes back can be about them.
NEVER_SENT = (SIMULATED, DRAFT, SUPPRESSED)
# A reply to system mail: kept raw (inbound_raw), filed nowhere, no event.
SYSTEM_MAIL = "system_mail"
_SUBJECT_PREFIX = re.compile(r"^\s*((re|fwd?|aw|wg|sv|vs|antw|rif|tr)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)


def dedup_key(raw: bytes, message_id: str | None) -> str:
    """The same message delivered twice has the same key: its Message-ID, else the hash of its bytes."""
    return f"id:{message_id}" if message_id else f"sha256:{hashlib.sha256(raw).hexdigest()}"


async def keep_raw(session: AsyncSession, raw: bytes, *, message_id: str | None, source: str) -> uuid.UUID | None:
    """Store the message as it arrived; None when it was stored before (a redelivery: nothing more to do)."""
    kept = await session.execute(
        insert(InboundRaw)
        .values(id=uuid.uuid4(), source=source, dedup_key=dedup_key(raw, message_id), raw=raw, status=PENDING)
        .on_conflict_do_nothing(index_elements=["dedup_key"])
        .returning(InboundRaw.id)
    )
    return kept.scalar_one_or_none()


def base_subject(subject: str) -> str:
    """The subject without its Re:/Fwd:/AW: prefixes, for matching a reply to what it answers."""
    return _SUBJECT_PREFIX.sub("", subject).strip().lower()


@dataclass(frozen=True)
class Filed:
    status: str
    message: Message | None = None


async def file(session: AsyncSession, raw_id: uuid.UUID, found: Classification, visible_text: str) -> Filed:
    """File a kept message (once: a second call for the same raw message does nothing)."""
    raw = await session.get_one(InboundRaw, raw_id, with_for_update=True)
    if raw.status != PENDING:
        return Filed(raw.status)
    filed = await _file(session, raw_id, found, visible_text)
    raw.status, raw.message_id = filed.status, filed.message.id if filed.message else None
    return filed


async def _file(session: AsyncSession, raw_id: uuid.UUID, found: Classification, visible_text: str) -> Filed:
    if found.message_id and await _ours(session, [found.message_id], direction=OUT):
        return Filed(OWN_COPY)
    if found.kind in ("bounce", "complaint"):
        original = await _about(session, found)
        if original is None:
            return Filed(UNMATCHED)
        message = await _store(session, raw_id, found, original, visible_text or found.diagnostic or found.reason)
        if found.kind == "bounce":
            await _bounced(session, original, found)
        else:
            await _complained(session, original, found)
        return Filed(PROCESSED, message)
    answered = await _answered(session, found)
    if answered is None:
        return Filed(UNMATCHED)
    if answered.thread_id is None:
        return Filed(SYSTEM_MAIL)
    message = await _store(session, raw_id, found, answered, visible_text)
    thread = await session.get_one(Thread, answered.thread_id, with_for_update=True)
    thread.last_message_at, thread.unread = func.now(), True
    if found.counts_as_reply:
        thread.needs_reply = True
        await session.flush()
        await session.refresh(message)
        event = events_pb2.MessageReceived(
            org_id=str(message.org_id), message_id=str(message.id), thread_id=str(message.thread_id),
            lead_id=str(message.lead_id or ""), channel=events.CHANNEL[message.channel],
            in_reply_to=events.ref(answered), received_at=timestamp(message.created_at),
        )  # fmt: skip
        await events.publish(session, "inbox.message.received", event)
    return Filed(PROCESSED, message)


async def _ours(session: AsyncSession, message_ids: list[str], *, direction: str) -> Message | None:
    """The first of `message_ids` (in that order) that is one of our messages in that direction."""
    if not message_ids:
        return None
    rows = (
        await session.scalars(
            select(Message).where(Message.rfc822_message_id.in_(message_ids), Message.direction == direction)
        )
    ).all()
    by_id = {row.rfc822_message_id: row for row in rows}
    return next((by_id[m] for m in message_ids if m in by_id), None)


async def _latest_to(session: AsyncSession, address: str, *, subject: str | None = None) -> Message | None:
    """Our latest message to `address` that left (with that base subject, when given): what an answer, a bounce or a
    STOP found by its sender can be about. A dry run's, a draft and a suppressed one never reached them."""
    query = select(Message).where(
        Message.direction == OUT, Message.to_address == address.lower(), Message.status.not_in(NEVER_SENT)
    )
    candidates = (await session.scalars(query.order_by(Message.created_at.desc()).limit(50))).all()
    if subject is not None:
        candidates = [m for m in candidates if base_subject(m.subject) == base_subject(subject)]
    return candidates[0] if candidates else None


async def _answered(session: AsyncSession, found: Classification) -> Message | None:
    """The outbound message a reply answers: by its threading headers, else by its sender and subject."""
    by_headers = await _ours(session, [m for m in (found.in_reply_to, *reversed(found.references)) if m], direction=OUT)
    if by_headers is not None:
        return by_headers
    if found.from_address and found.subject:
        return await _latest_to(session, found.from_address, subject=found.subject)
    return None


async def _about(session: AsyncSession, found: Classification) -> Message | None:
    """The outbound message a bounce or a complaint is about."""
    if found.original_message_id:
        original = await _ours(session, [found.original_message_id], direction=OUT)
        if original is not None:
            return original
    for address in (*found.failed_recipients, *([found.complained_address] if found.complained_address else [])):
        original = await _latest_to(session, address)
        if original is not None:
            return original
    return None


async def _store(
    session: AsyncSession, raw_id: uuid.UUID, found: Classification, answered: Message, text: str
) -> Message:
    """The inbound message, in the thread of the message it answers (or reports on; none for system mail)."""
    unknown = bool(found.kind == "reply" or found.kind == "auto_reply") and (
        (found.from_address or "").lower() != answered.to_address.lower()
    )
    message = Message(
        id=uuid.uuid4(), org_id=answered.org_id, thread_id=answered.thread_id, lead_id=answered.lead_id,
        channel=answered.channel, direction=IN, status=RECEIVED, mailbox_id=answered.mailbox_id,
        from_address=found.from_address or "", to_address=(found.to_addresses or ("",))[0], subject=found.subject,
        text_body=text, html_body="", rfc822_message_id=found.message_id, in_reply_to=found.in_reply_to,
        references=list(found.references), origin="inbound", kind=found.kind, unknown_sender=unknown, raw_id=raw_id,
    )  # fmt: skip
    session.add(message)
    await session.flush()
    return message


async def _bounced(session: AsyncSession, original: Message, found: Classification) -> None:
    """A hard bounce marks the message bounced (its charge released) and suppresses the address; a soft
    one (a delay, a full mailbox) is filed and labelled only: the message may yet arrive."""
    if found.bounce_type != "hard" or found.retrying or original.status == BOUNCED:
        return
    was_sent = original.status == SENT
    await session.execute(
        update(Message).where(Message.id == original.id).values(status=BOUNCED, error=found.diagnostic or found.reason)
    )
    if not was_sent:  # never accepted anywhere: it counts against no cap
        await session.execute(update(LedgerEntry).where(LedgerEntry.message_id == original.id).values(released=True))
    metrics.BOUNCED.labels("reported").inc()
    await _suppress(session, original, "hard-bounced")
    event = events_pb2.MessageBounced(
        org_id=str(original.org_id), message=events.ref(original), status_code=found.status or "",
        diagnostic=found.diagnostic or found.reason,
    )  # fmt: skip
    await events.publish(session, "inbox.message.bounced", event)


async def _complained(session: AsyncSession, original: Message, found: Classification) -> None:
    if await _suppress(session, original, "complained"):
        event = events_pb2.RecipientUnsubscribed(
            org_id=str(original.org_id), lead_id=str(original.lead_id or ""), email=original.to_address,
            reason="complained", thread_id=str(original.thread_id or ""),
        )  # fmt: skip
        await events.publish(session, "inbox.recipient.unsubscribed", event)


async def _suppress(session: AsyncSession, message: Message, reason: str) -> bool:
    added = await session.execute(
        insert(Suppression)
        .values(org_id=message.org_id, address=message.to_address.lower(), reason=reason)
        .on_conflict_do_nothing()
        .returning(Suppression.address)
    )
    if new := added.scalar_one_or_none() is not None:
        metrics.SUPPRESSED.labels(reason).inc()
    return new


async def file_sms(session: AsyncSession, text: sms.InboundSms, raw: bytes) -> tuple[bool, str]:
    """Keep and file an inbound text once: (new, what it was filed as). A STOP suppresses the number; START
    lifts only a suppression a STOP made; anything else is a reply in the thread of our latest text to it."""
    raw_id = await session.scalar(
        insert(InboundRaw)
        .values(id=uuid.uuid4(), source="sms-webhook", dedup_key=f"sms:{text.message_sid}", raw=raw, status=PENDING)
        .on_conflict_do_nothing(index_elements=["dedup_key"])
        .returning(InboundRaw.id)
    )
    if raw_id is None:
        return False, "redelivered"
    number = sms.normalize_phone(text.from_number, field="From")
    answered = await _latest_to(session, number)
    raw_row = await session.get_one(InboundRaw, raw_id)
    if answered is None or answered.channel != SMS or answered.thread_id is None:  # none: a system text
        raw_row.status = UNMATCHED
        return True, UNMATCHED
    kind = {sms.OPT_OUT: "opt_out", sms.OPT_IN: "opt_in", sms.HELP: "help"}.get(text.keyword, "reply")
    message = Message(
        id=uuid.uuid4(), org_id=answered.org_id, thread_id=answered.thread_id, lead_id=answered.lead_id, channel=SMS,
        direction=IN, status=RECEIVED, from_address=number, to_address=text.to_number, subject="", text_body=text.body,
        html_body="", origin="inbound", kind=kind, raw_id=raw_id, references=[],
    )  # fmt: skip
    session.add(message)
    raw_row.status, raw_row.message_id = PROCESSED, message.id
    thread = await session.get_one(Thread, answered.thread_id, with_for_update=True)
    thread.last_message_at, thread.unread = func.now(), True
    if text.opts_out:
        if await _suppress(session, answered, "unsubscribed"):
            event = events_pb2.RecipientUnsubscribed(
                org_id=str(answered.org_id),
                lead_id=str(answered.lead_id or ""),
                phone=number,
                reason="unsubscribed",
                thread_id=str(answered.thread_id),
            )
            await events.publish(session, "inbox.recipient.unsubscribed", event)
        return True, kind
    if text.opts_in:
        await session.execute(
            delete(Suppression).where(
                Suppression.org_id == answered.org_id,
                Suppression.address == number,
                Suppression.reason == "unsubscribed",
            )
        )
    thread.needs_reply = True
    await session.flush()
    await session.refresh(message)
    event = events_pb2.MessageReceived(
        org_id=str(message.org_id), message_id=str(message.id), thread_id=str(message.thread_id),
        lead_id=str(message.lead_id or ""), channel=events.CHANNEL[SMS], in_reply_to=events.ref(answered),
        received_at=timestamp(message.created_at),
    )  # fmt: skip
    await events.publish(session, "inbox.message.received", event)
    return True, kind
