"""System mail has no thread: an invitation (its join link in its body) is never a conversation in the inbox.

`messages.thread_id` may be NULL. The threads invitations were filed in before are taken apart: their messages
(the invitation, a reply quoting it, a bounce about it) stay, sent and charged as they were, in no thread, and
the emptied threads go (deleting them would take their messages, and the ledger's charges, with them).

Revision ID: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
SCHEMA = "inbox"


def upgrade() -> None:
    op.alter_column("messages", "thread_id", nullable=True, schema=SCHEMA)
    # The threads go once nothing refers to them (their cascade would take the messages): statements of their own.
    bind = op.get_bind()
    invitations = (
        f"SELECT DISTINCT thread_id FROM {SCHEMA}.messages WHERE origin = 'invitation' AND thread_id IS NOT NULL"
    )
    threads = list(bind.execute(sa.text(invitations)).scalars())
    if threads:
        ids = {"ids": threads}
        bind.execute(sa.text(f"UPDATE {SCHEMA}.messages SET thread_id = NULL WHERE thread_id = ANY(:ids)"), ids)
        bind.execute(sa.text(f"DELETE FROM {SCHEMA}.threads WHERE id = ANY(:ids)"), ids)


def downgrade() -> None:
    # Each message without a thread gets one of its own again, as a send made it before this revision.
    op.execute(
        f"""
        WITH orphans AS (
            SELECT id, gen_random_uuid() AS thread_id, org_id, lead_id, channel, subject, created_at
            FROM {SCHEMA}.messages WHERE thread_id IS NULL
        ), threads AS (
            INSERT INTO {SCHEMA}.threads (id, org_id, lead_id, channel, subject, last_message_at, needs_reply,
                unread, archived, created_at)
            SELECT thread_id, org_id, lead_id, channel, subject, created_at, false, false, false, created_at
            FROM orphans
        )
        UPDATE {SCHEMA}.messages AS m SET thread_id = o.thread_id FROM orphans AS o WHERE m.id = o.id
        """
    )
    op.alter_column("messages", "thread_id", nullable=False, schema=SCHEMA)
