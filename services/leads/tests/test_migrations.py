"""The leads schema's migrations over existing data: 0004 moves score explanations out and back.

Runs in a scratch database on the test stack's PostgreSQL, as the admin (the stack's leads role
and data are left alone).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import asyncpg

from devstack.postgres import ADMIN_USER
from leadflood_platform import migrations
from leads.models import Base

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"
EXPLANATION = [{"rule": "title", "matched": True, "weight": 30, "detail": "matched 'vp sales'"}]


async def _migrate(url: str, revision: str, *, down: bool = False) -> None:
    step = migrations.downgrade if down else migrations.upgrade
    await asyncio.to_thread(
        step, url=url, schema="leads", script_location=MIGRATIONS, target_metadata=Base.metadata, revision=revision
    )


async def test_explanations_and_search_survive_0004_up_and_down(scratch_dsn: str) -> None:
    conn = await asyncpg.connect(scratch_dsn)
    try:
        await conn.execute("CREATE SCHEMA extensions; CREATE EXTENSION pg_trgm SCHEMA extensions; CREATE SCHEMA leads")
        url = scratch_dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
        assert ADMIN_USER in url
        await _migrate(url, "0003")
        org, scored, manual = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        insert = (
            "INSERT INTO leads.leads (id, org_id, email, first_name, last_name, company_name, score,"
            " score_explanation) VALUES ($1, $2, $3, 'Ada', 'Quorvath', 'Blix Oy', $4, $5::jsonb)"
        )
        await conn.execute(insert, scored, org, "ada.q@blix.example", 30, json.dumps(EXPLANATION))
        await conn.execute(insert, manual, org, "other@blix.example", 0, "[]")

        await _migrate(url, "head")
        rows = await conn.fetch(
            "SELECT l.id, e.rules FROM leads.leads l LEFT JOIN leads.score_explanations e"
            " ON e.org_id = l.org_id AND e.id = l.score_explanation_id"
        )
        moved = {row["id"]: row["rules"] for row in rows}
        assert json.loads(moved[scored]) == EXPLANATION and moved[manual] is None
        found = await conn.fetchval(
            "SELECT count(*) FROM leads.leads WHERE search_document @@ to_tsquery('simple', 'quorv:* & blix:*')"
        )
        assert found == 2

        await _migrate(url, "0003", down=True)
        back = dict(await conn.fetch("SELECT id, score_explanation FROM leads.leads"))
        assert json.loads(back[scored]) == EXPLANATION and json.loads(back[manual]) == []
    finally:
        await conn.close()
