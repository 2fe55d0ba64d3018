"""The inbox schema migrates up from nothing and back down, as its own role would run it."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import asyncpg

from inbox.models import Base
from inbox.server import spec
from leadflood_platform import migrations
from leadflood_platform.db import Database

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"
DOMAIN_TABLES = {
    "captured_mail", "delivery_attempts", "inbound_raw", "mailboxes", "messages", "send_counters", "send_ledger",
    "suppressions", "threads",
}  # fmt: skip


async def _tables(dsn: str) -> set[str]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'inbox'")
        return {row["tablename"] for row in rows}
    finally:
        await conn.close()


async def test_migrates_up_and_down(scratch_dsn: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DATABASE_URL", scratch_dsn)
    location = spec().migrations
    conn = await asyncpg.connect(scratch_dsn)
    await conn.execute("CREATE SCHEMA inbox")
    await conn.close()
    run = dict(url=scratch_dsn, schema="inbox", script_location=location, target_metadata=Base.metadata)
    await asyncio.to_thread(migrations.upgrade, **run)
    assert {"outbox", "job_executions"} <= await _tables(scratch_dsn)
    await asyncio.to_thread(migrations.downgrade, **run, revision="base")
    assert not {"outbox", "job_executions"} & await _tables(scratch_dsn)


async def test_the_migrations_build_what_the_models_declare(inbox_db: Database, scratch_dsn: str) -> None:
    found = await migrations.differences(url=scratch_dsn, schema="inbox", metadata=Base.metadata, tables=DOMAIN_TABLES)
    assert found == [], "\n".join(map(str, found))


async def test_invitations_filed_in_threads_before_0006_are_taken_out_of_them(inbox_db, scratch_dsn: str) -> None:  # type: ignore[no-untyped-def]
    """The threads invitations were filed in go; their messages (the invitation, a reply quoting it) stay, in no
    thread, with their charges; an outreach thread is left as it was. Back down, each gets a thread again."""
    run = dict(url=scratch_dsn, schema="inbox", script_location=MIGRATIONS, target_metadata=Base.metadata)
    await asyncio.to_thread(migrations.downgrade, **run, revision="0005")
    org, mailbox, invited, outreach = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    conn = await asyncpg.connect(scratch_dsn)
    try:
        await conn.execute(
            "INSERT INTO inbox.mailboxes (id, org_id, from_address, from_name, smtp_host, smtp_port, smtp_starttls, "
            "smtp_username, smtp_password_ref, daily_cap, min_spacing_s, time_zone, is_default) "
            "VALUES ($1, $2, 'outreach@leadflood.local', '', '127.0.0.1', 2525, false, '', '', 100, 0, 'UTC', true)",
            mailbox, org,
        )  # fmt: skip
        for thread in (invited, outreach):
            await conn.execute(
                "INSERT INTO inbox.threads (id, org_id, channel, subject, needs_reply, unread, archived) "
                "VALUES ($1, $2, 'email', 'Hi', false, false, false)",
                thread,
                org,
            )
        message = (
            "INSERT INTO inbox.messages (id, org_id, thread_id, channel, direction, status, from_address, to_address, "
            "to_name, subject, text_body, html_body, \"references\", origin) VALUES ($1, $2, $3, 'email', $4, 'sent', "
            "'a@example.com', 'b@example.com', '', 'Hi', 'Join: #/join/secret', '', '{}', $5) RETURNING id"
        )
        invitation = await conn.fetchval(message, uuid.uuid4(), org, invited, "out", "invitation")
        await conn.fetchval(message, uuid.uuid4(), org, invited, "in", "inbound")
        await conn.fetchval(message, uuid.uuid4(), org, outreach, "out", "sequences")
        await conn.execute(
            "INSERT INTO inbox.send_ledger (org_id, mailbox_id, message_id, local_day, released) "
            "VALUES ($1, $2, $3, current_date, false)",
            org, mailbox, invitation,
        )  # fmt: skip
        await asyncio.to_thread(migrations.upgrade, **run)
        threads = await conn.fetch("SELECT id FROM inbox.threads WHERE org_id = $1", org)
        assert [row["id"] for row in threads] == [outreach]
        kept = await conn.fetch("SELECT origin, thread_id FROM inbox.messages WHERE org_id = $1 ORDER BY origin", org)
        assert [(r["origin"], r["thread_id"]) for r in kept] == [
            ("inbound", None), ("invitation", None), ("sequences", outreach),
        ]  # fmt: skip
        assert await conn.fetchval("SELECT count(*) FROM inbox.send_ledger WHERE message_id = $1", invitation) == 1
        await asyncio.to_thread(migrations.downgrade, **run, revision="0005")
        assert await conn.fetchval("SELECT count(*) FROM inbox.messages WHERE thread_id IS NULL") == 0
        assert await conn.fetchval("SELECT count(*) FROM inbox.threads WHERE org_id = $1", org) == 3
    finally:
        await conn.close()
