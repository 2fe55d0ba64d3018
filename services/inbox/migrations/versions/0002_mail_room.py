"""The mail room: mailboxes, threads, messages, the send ledger, suppressions, attempts, captured mail.

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0002"
down_revision = "0001"
SCHEMA = "inbox"
NOW = sa.text("now()")


def _ref(table: str) -> sa.ForeignKey:
    return sa.ForeignKey(f"{SCHEMA}.{table}.id", ondelete="CASCADE")


def _timestamps() -> list[sa.Column]:
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
    ]


def upgrade() -> None:
    op.create_table(
        "mailboxes",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("org_id", UUID(as_uuid=True), nullable=False),
        sa.Column("from_address", sa.Text, nullable=False),
        sa.Column("from_name", sa.Text, nullable=False),
        sa.Column("smtp_host", sa.Text, nullable=False),
        sa.Column("smtp_port", sa.Integer, nullable=False),
        sa.Column("smtp_starttls", sa.Boolean, nullable=False),
        sa.Column("smtp_username", sa.Text, nullable=False),
        sa.Column("smtp_password_ref", sa.Text, nullable=False),
        sa.Column("daily_cap", sa.Integer, nullable=False),
        sa.Column("min_spacing_s", sa.Integer, nullable=False),
        sa.Column("time_zone", sa.Text, nullable=False),
        sa.Column("is_default", sa.Boolean, nullable=False),
        *_timestamps(),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_mailboxes_org_id_from_address", "mailboxes", ["org_id", "from_address"], unique=True, schema=SCHEMA
    )
    op.create_index(
        "uq_mailboxes_org_default",
        "mailboxes",
        ["org_id"],
        unique=True,
        schema=SCHEMA,
        postgresql_where=sa.text("is_default"),
    )
    op.create_table(
        "threads",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("org_id", UUID(as_uuid=True), nullable=False),
        sa.Column("lead_id", UUID(as_uuid=True)),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("last_message_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.Column("needs_reply", sa.Boolean, nullable=False),
        sa.Column("unread", sa.Boolean, nullable=False),
        sa.Column("archived", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        schema=SCHEMA,
    )
    op.create_index("ix_threads_org_id_lead_id", "threads", ["org_id", "lead_id"], schema=SCHEMA)
    op.create_index("ix_threads_org_id_last_message_at", "threads", ["org_id", "last_message_at"], schema=SCHEMA)
    op.create_table(
        "messages",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("org_id", UUID(as_uuid=True), nullable=False),
        sa.Column(
            "thread_id", UUID(as_uuid=True), sa.ForeignKey(f"{SCHEMA}.threads.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("lead_id", UUID(as_uuid=True)),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("direction", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("mailbox_id", UUID(as_uuid=True), sa.ForeignKey(f"{SCHEMA}.mailboxes.id")),
        sa.Column("from_address", sa.Text, nullable=False),
        sa.Column("to_address", sa.Text, nullable=False),
        sa.Column("to_name", sa.Text, nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("text_body", sa.Text, nullable=False),
        sa.Column("html_body", sa.Text, nullable=False),
        sa.Column("rfc822_message_id", sa.Text),
        sa.Column("in_reply_to", sa.Text),
        sa.Column("references", sa.ARRAY(sa.Text), nullable=False),
        sa.Column("idempotency_key", sa.Text),
        sa.Column("origin", sa.Text, nullable=False),
        sa.Column("not_after", sa.DateTime(timezone=True)),
        sa.Column("error", sa.Text),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
        *_timestamps(),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_messages_org_id_idempotency_key", "messages", ["org_id", "idempotency_key"], unique=True, schema=SCHEMA,
        postgresql_where=sa.text("idempotency_key IS NOT NULL"),
    )  # fmt: skip
    op.create_index(
        "ix_messages_rfc822_message_id", "messages", ["rfc822_message_id"], unique=True, schema=SCHEMA,
        postgresql_where=sa.text("rfc822_message_id IS NOT NULL"),
    )  # fmt: skip
    op.create_index("ix_messages_thread_id_created_at", "messages", ["thread_id", "created_at"], schema=SCHEMA)
    op.create_table(
        "send_ledger",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("org_id", UUID(as_uuid=True), nullable=False),
        sa.Column("mailbox_id", UUID(as_uuid=True), _ref("mailboxes"), nullable=False),
        sa.Column("message_id", UUID(as_uuid=True), _ref("messages"), nullable=False, unique=True),
        sa.Column("local_day", sa.Date, nullable=False),
        sa.Column("charged_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.Column("released", sa.Boolean, nullable=False),
        schema=SCHEMA,
    )  # fmt: skip
    op.create_index("ix_send_ledger_mailbox_id_local_day", "send_ledger", ["mailbox_id", "local_day"], schema=SCHEMA)
    op.create_table(
        "suppressions",
        sa.Column("org_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("address", sa.Text, primary_key=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        schema=SCHEMA,
    )
    op.create_table(
        "delivery_attempts",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("message_id", UUID(as_uuid=True), _ref("messages"), nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.Column("result", sa.Text, nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        schema=SCHEMA,
    )  # fmt: skip
    op.create_index("ix_delivery_attempts_message_id", "delivery_attempts", ["message_id"], schema=SCHEMA)
    op.create_table(
        "captured_mail",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.Column("mail_from", sa.Text, nullable=False),
        sa.Column("rcpt_to", sa.ARRAY(sa.Text), nullable=False),
        sa.Column("rfc822_message_id", sa.Text),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("raw", sa.LargeBinary, nullable=False),
        schema=SCHEMA,
    )
    op.create_index("ix_captured_mail_rfc822_message_id", "captured_mail", ["rfc822_message_id"], schema=SCHEMA)


def downgrade() -> None:
    for table in (
        "captured_mail",
        "delivery_attempts",
        "suppressions",
        "send_ledger",
        "messages",
        "threads",
        "mailboxes",
    ):
        op.drop_table(table, schema=SCHEMA)
