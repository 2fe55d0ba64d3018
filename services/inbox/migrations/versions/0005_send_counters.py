"""A counter per mailbox and local day: the daily cap is checked against one row, not a count of the ledger.

The ledger stays the history of charges; a trigger keeps the counter in step when a charge is released
(a send that failed, bounced or was suppressed at send time) or charged again (a replayed dead letter).

Revision ID: 0005
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0005"
down_revision = "0004"
SCHEMA = "inbox"


def upgrade() -> None:
    op.create_table(
        "send_counters",
        sa.Column(
            "mailbox_id", UUID(as_uuid=True), sa.ForeignKey(f"{SCHEMA}.mailboxes.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("local_day", sa.Date, primary_key=True),
        sa.Column("sent", sa.Integer, nullable=False),
        sa.Column("last_charged_at", sa.DateTime(timezone=True)),
        schema=SCHEMA,
    )  # fmt: skip
    op.execute(
        f"""
        INSERT INTO {SCHEMA}.send_counters (mailbox_id, local_day, sent, last_charged_at)
        SELECT mailbox_id, local_day, count(*), max(charged_at)
        FROM {SCHEMA}.send_ledger WHERE NOT released GROUP BY mailbox_id, local_day
        """
    )
    # A charge is counted by the send that makes it (delivery.py); its release and re-charge here.
    op.execute(
        f"""
        CREATE FUNCTION {SCHEMA}.send_ledger_count() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'DELETE' THEN
                IF NOT OLD.released THEN
                    UPDATE {SCHEMA}.send_counters SET sent = sent - 1
                    WHERE mailbox_id = OLD.mailbox_id AND local_day = OLD.local_day;
                END IF;
                RETURN OLD;
            END IF;
            IF NEW.released IS DISTINCT FROM OLD.released THEN
                UPDATE {SCHEMA}.send_counters SET sent = sent + CASE WHEN NEW.released THEN -1 ELSE 1 END
                WHERE mailbox_id = NEW.mailbox_id AND local_day = NEW.local_day;
            END IF;
            RETURN NEW;
        END $$
        """
    )
    op.execute(
        f"""
        CREATE TRIGGER send_ledger_count AFTER UPDATE OF released OR DELETE ON {SCHEMA}.send_ledger
        FOR EACH ROW EXECUTE FUNCTION {SCHEMA}.send_ledger_count()
        """
    )


def downgrade() -> None:
    op.execute(f"DROP TRIGGER send_ledger_count ON {SCHEMA}.send_ledger")
    op.execute(f"DROP FUNCTION {SCHEMA}.send_ledger_count()")
    op.drop_table("send_counters", schema=SCHEMA)
