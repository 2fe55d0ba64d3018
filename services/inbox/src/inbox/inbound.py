"""Inbound email: kept raw first, then filed in the right thread as what it is (a reply, an auto-reply, a bounce,
a complaint), with the events a real reply, a bounce or a complaint call for.

Matching, in order: In-Reply-To, then References (last first), against the Message-IDs the inbox gave its
own messages (unique to one message, so to one org); then the sender and the subject against what was sent to
that sender from an address the inbound message was sent to (its To, Cc, Delivered-To or SMTP envelope
recipients; a text's: the number, or Messaging Service, it was sent to). A reply from someone other than the
thread's lead is kept in that thread and flagged, never filed under another lead. A copy of one of our own
messages (a BCC, a Sent-folder copy) is recognised by its Message-ID and filed nowhere.

Orgs can share a sender: the local default's one mailbox, an address two orgs both configured, the deployment's
one Twilio number. When what was found by sender belongs to more than one org (each wrote to the same person from
it, with the same subject for an email), the org it answers cannot be told: it is kept raw as AMBIGUOUS and filed
in none, suppresses in none and emits nothing, since a wrong guess shows one org's mail to another or stops its
sends. Twilio still enforces a STOP to a shared number for every org (their next text is refused with 21610,
which bounces it and suppresses the number in that org).

System mail (an invitation) is in no thread, and nothing that answers it opens one: a reply or an auto-reply to
it is kept raw only (SYSTEM_MAIL), since it would quote the invitation's link to whoever reads the inbox; a
bounce or a complaint about it still marks it bounced and suppresses the address, kept in no thread either.
"""

from __future__ import annotations

import hashlib
import logging
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from inbox import events, metrics, sms, threads
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
)  # fmt: skip
from leadflood.inbox.v1 import events_pb2
from leadflood_platform import phones
from leadflood_platform.convert import timestamp

log = logging.getLogger(__name__)
PENDING, PROCESSED, UNMATCHED, OWN_COPY = "pending", "processed", "unmatched", "own_copy"
# Found by sender in more than one org: kept raw, filed in none (see the module's docstring).
AMBIGUOUS = "ambiguous"
# Messages read to tell orgs apart by subject; past this many, the answer is AMBIGUOUS rather than a guess.
MAX_CANDIDATES = 500
# Outbound messages that never left: nothing that comes back can be about them.
NEVER_SENT = (SIMULATED, DRAFT, SUPPRESSED)
# A reply to system mail: kept raw (inbound_raw), filed nowhere, no event.
SYSTEM_MAIL = "system_mail"
_SUBJECT_PREFIX = re.compile(r"^\s*((re|fwd?|aw|wg|sv|vs|antw|rif|tr)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)


def dedup_key(raw: bytes, message_id: str | None) -> str:
    """The same message delivered twice has the same key: its Message-ID, else the hash of its bytes."""
    return f"id:{message_id}" if message_id else f"sha256:{hashlib.sha256(raw).hexdigest()}"


async def keep_raw(
    session: AsyncSession, raw: bytes, *, message_id: str | None, source: str, envelope_to: Sequence[str] = ()
) -> uuid.UUID | None:
    """Store the message as it arrived (with the SMTP envelope's recipients); None when it was stored before (a
    redelivery: nothing more to do)."""
    recipients = list(dict.fromkeys(address.lower() for address in envelope_to))
    kept = await session.execute(
        insert(InboundRaw)
        .values(
            id=uuid.uuid4(),
            source=source,
            dedup_key=dedup_key(raw, message_id),
            raw=raw,
            status=PENDING,
            envelope_to=recipients,
        )
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


class Ambiguous(Exception):
    """What an inbound message was found by (its sender, and the sender it was sent to) matches more than one org."""


async def file(session: AsyncSession, raw_id: uuid.UUID, found: Classification, visible_text: str) -> Filed:
    """File a kept message (once: a second call for the same raw message does nothing)."""
    raw = await session.get_one(InboundRaw, raw_id, with_for_update=True)
    if raw.status != PENDING:
        return Filed(raw.status)
    sent_to = (*found.addressed_to, *raw.envelope_to)
    try:
        filed = await _file(session, raw_id, found, visible_text, sent_to)
    except Ambiguous as exc:
        log.warning("inbound email filed in no org: %s", exc, extra={"raw_id": str(raw_id), "kind": found.kind})
        filed = Filed(AMBIGUOUS)
    raw.status, raw.message_id = filed.status, filed.message.id if filed.message else None
    return filed


async def _file(
    session: AsyncSession, raw_id: uuid.UUID, found: Classification, visible_text: str, sent_to: Sequence[str]
) -> Filed:
    if found.message_id and await _ours(session, [found.message_id], direction=OUT):
        return Filed(OWN_COPY)
    if found.kind in ("bounce", "complaint"):
        original = await _about(session, found, sent_to)
        if original is None:
            return Filed(UNMATCHED)
        message = await _store(session, raw_id, found, original, visible_text or found.diagnostic or found.reason)
        if original.thread_id is not None:  # news to see (not to answer): first in the list, unread
            await threads.noticed(session, original.thread_id)
        if found.kind == "bounce":
            await _bounced(session, original, found)
        else:
            await _complained(session, original, found)
        return Filed(PROCESSED, message)
    answered = await _answered(session, found, sent_to)
    if answered is None:
        return Filed(UNMATCHED)
    if answered.thread_id is None:
        return Filed(SYSTEM_MAIL)
    message = await _store(session, raw_id, found, answered, visible_text)
    thread = await threads.noticed(session, answered.thread_id)
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


async def _latest_to(
    session: AsyncSession, address: str, *, sent_from: Sequence[str], subject: str | None = None
) -> Message | None:
    """Our latest message to `address` that left, sent from one of `sent_from` (the addresses, or the number, the
    inbound message was sent to), with that base subject when given: what an answer, a bounce or a STOP found by
    its sender can be about. A dry run's, a draft and a suppressed one never reached them. Ambiguous when such
    messages of more than one org match."""
    senders = sorted({sender.lower() for sender in sent_from if sender})
    if not senders:
        return None
    scoped = (
        Message.direction == OUT, func.lower(Message.to_address) == address.lower(), Message.status.not_in(NEVER_SENT),
        func.lower(Message.from_address).in_(senders),
    )  # fmt: skip
    orgs = (await session.scalars(select(Message.org_id).where(*scoped).distinct().limit(2))).all()
    if len(orgs) == 1:
        latest = select(Message).where(*scoped).order_by(Message.created_at.desc()).limit(50)
        candidates = (await session.scalars(latest)).all()
        if subject is not None:
            candidates = [m for m in candidates if base_subject(m.subject) == base_subject(subject)]
        return candidates[0] if candidates else None
    if not orgs:
        return None
    if subject is None:
        raise Ambiguous(f"messages of {len(orgs)} or more orgs were sent to it from {', '.join(senders)}")
    # Each org wrote to them from that sender: the subject may still tell which one is answered.
    listed = select(Message.id, Message.org_id, Message.subject).where(*scoped).order_by(Message.created_at.desc())
    rows = (await session.execute(listed.limit(MAX_CANDIDATES + 1))).all()
    matching = [row for row in rows[:MAX_CANDIDATES] if base_subject(row.subject) == base_subject(subject)]
    if len({row.org_id for row in matching}) > 1 or (len(rows) > MAX_CANDIDATES and matching):
        raise Ambiguous(f"messages of more than one org with this subject were sent to it from {', '.join(senders)}")
    return await session.get(Message, matching[0].id) if matching else None


async def _answered(session: AsyncSession, found: Classification, sent_to: Sequence[str]) -> Message | None:
    """The outbound message a reply answers: by its threading headers, else by its sender and subject."""
    by_headers = await _ours(session, [m for m in (found.in_reply_to, *reversed(found.references)) if m], direction=OUT)
    if by_headers is not None:
        return by_headers
    if found.from_address and found.subject:
        return await _latest_to(session, found.from_address, sent_from=sent_to, subject=found.subject)
    return None


async def _about(session: AsyncSession, found: Classification, sent_to: Sequence[str]) -> Message | None:
    """The outbound message a bounce or a complaint is about: by the Message-ID it quotes, else by the address it
    names, among what was sent from an address it was sent to (a bounce goes back to our envelope sender)."""
    if found.original_message_id:
        original = await _ours(session, [found.original_message_id], direction=OUT)
        if original is not None:
            return original
    for address in (*found.failed_recipients, *([found.complained_address] if found.complained_address else [])):
        original = await _latest_to(session, address, sent_from=sent_to)
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
    lifts only a suppression a STOP made; anything else is a reply in the thread of our latest text to it from the
    number (or Messaging Service) it was sent to. AMBIGUOUS, filed in none, when more than one org texted them
    from it (see the module's docstring)."""
    raw_id = await session.scalar(
        insert(InboundRaw)
        .values(id=uuid.uuid4(), source="sms-webhook", dedup_key=f"sms:{text.message_sid}", raw=raw, status=PENDING)
        .on_conflict_do_nothing(index_elements=["dedup_key"])
        .returning(InboundRaw.id)
    )
    if raw_id is None:
        return False, "redelivered"
    number = phones.normalised(text.from_number, field="From")
    raw_row = await session.get_one(InboundRaw, raw_id)
    try:
        answered = await _latest_to(session, number, sent_from=text.sent_to)
    except Ambiguous as exc:
        log.warning("inbound text filed in no org: %s", exc, extra={"raw_id": str(raw_id)})
        raw_row.status = AMBIGUOUS
        return True, AMBIGUOUS
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
    thread = await threads.noticed(session, answered.thread_id)
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
