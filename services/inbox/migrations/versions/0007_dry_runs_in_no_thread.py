"""A dry run's messages are in no thread: a dry run sends nothing, so it is never a conversation in the inbox.

The simulated messages stored in threads before are taken out of them and kept (a run's receipts name them). A
thread left empty goes; one that still holds real messages gets back the time of its latest one, which the dry run
had moved. (Whether it needed a reply, which the dry run cleared, cannot be told any more: it is left as it is.)

Revision ID: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
SCHEMA = "inbox"


def upgrade() -> None:
    bind = op.get_bind()
    # Statements of their own: a data-modifying CTE's changes are not seen by the rest of its statement.
    dry = f"SELECT DISTINCT thread_id FROM {SCHEMA}.messages WHERE status = 'simulated' AND thread_id IS NOT NULL"
    touched = list(bind.execute(sa.text(dry)).scalars())
    if not touched:
        return
    ids = {"ids": touched}
    bind.execute(
        sa.text(f"UPDATE {SCHEMA}.messages SET thread_id = NULL WHERE status = 'simulated' AND thread_id = ANY(:ids)"),
        ids,
    )
    bind.execute(
        sa.text(
            f"DELETE FROM {SCHEMA}.threads AS t WHERE t.id = ANY(:ids) "
            f"AND NOT EXISTS (SELECT 1 FROM {SCHEMA}.messages AS m WHERE m.thread_id = t.id)"
        ),
        ids,
    )
    # A draft never moved its thread's time (delivery._store): the latest of the others is what the list showed.
    bind.execute(
        sa.text(
            f"""
            UPDATE {SCHEMA}.threads AS t SET last_message_at = latest.at
            FROM (SELECT thread_id, max(created_at) AS at FROM {SCHEMA}.messages
                  WHERE thread_id = ANY(:ids) AND status <> 'draft' GROUP BY thread_id) AS latest
            WHERE t.id = latest.thread_id
            """
        ),
        ids,
    )


def downgrade() -> None:
    # Nothing to put back: which thread a dry run was in is not kept, and a message in no thread is what 0006 allows
    # (its own downgrade gives every message without one a thread of its own again).
    pass
