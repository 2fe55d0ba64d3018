"""The inbox service's tables, in its own `inbox` schema: mailboxes, threads, messages, the send ledger,
suppressions, delivery attempts, and the local default's captured mail."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Text,
    and_,
    or_,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.elements import ColumnElement

from leadflood_platform.db import CreatedAt, UpdatedAt, declarative_base
from leadflood_platform.tables import PlatformTables

Base = declarative_base("inbox")
platform_tables = PlatformTables(Base.metadata, version=2)

OUT, IN = "out", "in"
EMAIL, SMS = "email", "sms"
# A message's status (delivery.proto's MessageStatus, in words).
QUEUED, SENDING, SENT, FAILED, BOUNCED, SUPPRESSED, SIMULATED, RECEIVED, DRAFT = (
    "queued", "sending", "sent", "failed", "bounced", "suppressed", "simulated", "received", "draft",
)  # fmt: skip
# System mail: what the product sends about itself (an invitation to join an org, whose link lets its holder in),
# not outreach. Sent, charged to the cap and tracked like any email, but never a conversation: stored without a
# thread (delivery.py), so no inbox list, figure, search or thread shows it, nor what comes back about it.
SYSTEM_ORIGINS = frozenset({"invitation"})


class Mailbox(Base):
    """A sender identity of an org, with its SMTP settings and its limits."""

    __tablename__ = "mailboxes"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    org_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    from_address: Mapped[str] = mapped_column(Text)
    from_name: Mapped[str] = mapped_column(Text, default="")
    smtp_host: Mapped[str] = mapped_column(Text)
    smtp_port: Mapped[int] = mapped_column(Integer)
    smtp_starttls: Mapped[bool] = mapped_column(Boolean, default=False)
    smtp_username: Mapped[str] = mapped_column(Text, default="")
    # The name of the setting that holds the password (never the password itself).
    smtp_password_ref: Mapped[str] = mapped_column(Text, default="")
    daily_cap: Mapped[int] = mapped_column(Integer)
    min_spacing_s: Mapped[int] = mapped_column(Integer, default=0)
    # The cap counts the sends of this mailbox's local day.
    time_zone: Mapped[str] = mapped_column(Text, default="UTC")
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[UpdatedAt]

    __table_args__ = (
        Index(None, "org_id", "from_address", unique=True),
        Index("uq_mailboxes_org_default", "org_id", unique=True, postgresql_where=text("is_default")),
    )


class Thread(Base):
    """One conversation with a lead on one channel."""

    __tablename__ = "threads"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    org_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    lead_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    channel: Mapped[str] = mapped_column(Text)
    subject: Mapped[str] = mapped_column(Text, default="")
    last_message_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"))
    needs_reply: Mapped[bool] = mapped_column(Boolean, default=False)
    unread: Mapped[bool] = mapped_column(Boolean, default=False)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[CreatedAt]

    __table_args__ = (Index(None, "org_id", "lead_id"), Index(None, "org_id", "last_message_at"))


class Message(Base):
    """Every message in and out. An outbound one is stored, with its Message-ID, before it is sent."""

    __tablename__ = "messages"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    org_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    # None: system mail (SYSTEM_ORIGINS), and a bounce or complaint about it: in no conversation.
    thread_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey(Thread.id, ondelete="CASCADE"))
    lead_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    channel: Mapped[str] = mapped_column(Text)
    direction: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    mailbox_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey(Mailbox.id))
    from_address: Mapped[str] = mapped_column(Text, default="")
    to_address: Mapped[str] = mapped_column(Text, default="")
    to_name: Mapped[str] = mapped_column(Text, default="")
    subject: Mapped[str] = mapped_column(Text, default="")
    text_body: Mapped[str] = mapped_column(Text, default="")
    html_body: Mapped[str] = mapped_column(Text, default="")
    rfc822_message_id: Mapped[str | None] = mapped_column(Text)
    in_reply_to: Mapped[str | None] = mapped_column(Text)
    references: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    idempotency_key: Mapped[str | None] = mapped_column(Text)
    origin: Mapped[str] = mapped_column(Text, default="")
    not_after: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # Inbound: what it turned out to be (reply, auto_reply, bounce, complaint), and the raw message it came from.
    kind: Mapped[str | None] = mapped_column(Text)
    # Inbound: a reply to a known thread from someone other than the thread's lead (kept there, flagged).
    unknown_sender: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    raw_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[UpdatedAt]

    __table_args__ = (
        # Found by the recipient's address in any case (inbound matching, unsubscribes): migration 0009.
        Index("ix_messages_to_address_lower", text("lower(to_address)")),
        Index(None, "org_id", "idempotency_key", unique=True, postgresql_where=text("idempotency_key IS NOT NULL")),
        Index(None, "rfc822_message_id", unique=True, postgresql_where=text("rfc822_message_id IS NOT NULL")),
        Index(None, "thread_id", "created_at"),
    )


def in_inbox() -> ColumnElement[bool]:
    """A message the inbox shows: a thread's. The stats apply it, so system mail, what came back about it and a dry
    run's messages (stored in no thread either: delivery.in_no_thread) are never outreach in a figure."""
    return Message.thread_id.is_not(None)


def not_system_mail() -> ColumnElement[bool]:
    """A message everyone in the org may read by its id (GetMessage, the captured mail): a thread's, or our own in no
    thread that is not system mail, which is a dry run's (its receipts name it for review). System mail, and a reply
    or bounce about it (inbound, in no thread), stay out: an invitation's link lets its reader join the org."""
    return or_(Message.thread_id.is_not(None), and_(Message.direction == OUT, Message.origin.not_in(SYSTEM_ORIGINS)))


class LedgerEntry(Base):
    """A send charged to its mailbox's local day; released (not counted) when it was never sent."""

    __tablename__ = "send_ledger"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    org_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    mailbox_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(Mailbox.id, ondelete="CASCADE"))
    message_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(Message.id, ondelete="CASCADE"), unique=True)
    local_day: Mapped[dt.date] = mapped_column(Date)
    charged_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"))
    released: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (Index(None, "mailbox_id", "local_day"),)


class SendCounter(Base):
    """The charges of a mailbox's local day not released, checked against its cap in one statement (the
    ledger keeps each charge; a trigger keeps this in step with its releases, migration 0005)."""

    __tablename__ = "send_counters"

    mailbox_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(Mailbox.id, ondelete="CASCADE"), primary_key=True)
    local_day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    sent: Mapped[int] = mapped_column(Integer)
    last_charged_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class Suppression(Base):
    """An address (or number) of an org that is never sent to: unsubscribed, bounced, complained, by hand."""

    __tablename__ = "suppressions"

    org_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    address: Mapped[str] = mapped_column(Text, primary_key=True)
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[CreatedAt]


class DeliveryAttempt(Base):
    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    message_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(Message.id, ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"))
    result: Mapped[str] = mapped_column(Text)
    detail: Mapped[str] = mapped_column(Text, default="")


class InboundRaw(Base):
    """An inbound message exactly as it arrived, kept before it is parsed: one that fails to parse is
    never lost and can be processed again; a message delivered twice is kept (and processed) once."""

    __tablename__ = "inbound_raw"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"))
    # "smtp" or "webhook".
    source: Mapped[str] = mapped_column(Text)
    # The SMTP envelope's recipients (RCPT TO), lower-cased: which of our addresses it was delivered to (none by
    # webhook, whose message says it in its headers alone).
    envelope_to: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list, server_default=text("'{}'"))
    # Its Message-ID, else a hash of its bytes: a redelivery of the same message has the same key.
    dedup_key: Mapped[str] = mapped_column(Text, unique=True)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    # pending, then what filing made of it: processed, unmatched, ambiguous, own_copy, system_mail; or failed.
    status: Mapped[str] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))


class CapturedMail(Base):
    """What the local default's SMTP server received: exactly what a lead would have been sent."""

    __tablename__ = "captured_mail"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"))
    mail_from: Mapped[str] = mapped_column(Text)
    rcpt_to: Mapped[list[str]] = mapped_column(ARRAY(Text))
    rfc822_message_id: Mapped[str | None] = mapped_column(Text, index=True)
    subject: Mapped[str] = mapped_column(Text, default="")
    raw: Mapped[bytes] = mapped_column(LargeBinary)
