"""A scratch database migrated like the inbox service's, and settings as the local default's."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from inbox.config import InboxSettings
from inbox.models import Base
from leadflood_platform import migrations
from leadflood_platform.db import Database

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"
# The deployment's one number every org's texts go out from (and texts back come in to).
TWILIO_FROM = "+15005550006"


@pytest.fixture
async def inbox_db(scratch_dsn: str) -> AsyncIterator[Database]:
    """The scratch database with the inbox schema at head, first on the search path (as for the service's role)."""
    conn = await asyncpg.connect(scratch_dsn)
    try:
        await conn.execute("CREATE SCHEMA inbox")
        await conn.execute(f'ALTER DATABASE "{scratch_dsn.rsplit("/", 1)[1]}" SET search_path = inbox')
    finally:
        await conn.close()
    await asyncio.to_thread(
        migrations.upgrade, url=scratch_dsn, schema="inbox", script_location=MIGRATIONS, target_metadata=Base.metadata
    )
    db = Database(scratch_dsn, pool_size=12)
    try:
        yield db
    finally:
        await db.close()


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch) -> InboxSettings:
    monkeypatch.setenv("DATABASE_URL", "postgresql://inbox_svc@127.0.0.1:1/leadflood")
    return InboxSettings(
        service_secret="s" * 32, smtp_capture_port=2525, public_base_url="https://app.example", twilio_from=TWILIO_FROM
    )
