"""Messages are found by their recipient's address in any case (a reply or a bounce found by its sender, an
unsubscribe naming the address in lower case): the index on the address becomes one on its lower-case form.
An address keeps its local part as the sender wrote it (John.Doe@...); a comparison of it as written missed it.

Revision ID: 0009
"""

from alembic import op

revision = "0009"
down_revision = "0008"
SCHEMA = "inbox"


def upgrade() -> None:
    op.execute(f"CREATE INDEX IF NOT EXISTS ix_messages_to_address_lower ON {SCHEMA}.messages (lower(to_address))")
    op.execute(f"DROP INDEX IF EXISTS {SCHEMA}.ix_messages_to_address")


def downgrade() -> None:
    op.execute(f"CREATE INDEX IF NOT EXISTS ix_messages_to_address ON {SCHEMA}.messages (to_address)")
    op.execute(f"DROP INDEX IF EXISTS {SCHEMA}.ix_messages_to_address_lower")
