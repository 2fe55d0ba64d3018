"""The leads schema's migrations over existing data: 0004 moves score explanations out and back.

Runs in a scratch database on the test stack's PostgreSQL, as the admin (the stack's leads role
and data are left alone).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable

import asyncpg

from devstack.postgres import ADMIN_USER

EXPLANATION = [{"rule": "title", "matched": True, "weight": 30, "detail": "matched 'vp sales'"}]


async def test_explanations_and_search_survive_0004_up_and_down(
    leads_database: str, migrate_leads: Callable[..., Awaitable[None]]
) -> None:
    assert ADMIN_USER in leads_database
    conn = await asyncpg.connect(leads_database)
    try:
        await migrate_leads("0003")
        org, scored, manual = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        insert = (
            "INSERT INTO leads.leads (id, org_id, email, first_name, last_name, company_name, score,"
            " score_explanation) VALUES ($1, $2, $3, 'Ada', 'Quorvath', 'Blix Oy', $4, $5::jsonb)"
        )
        await conn.execute(insert, scored, org, "ada.q@blix.example", 30, json.dumps(EXPLANATION))
        await conn.execute(insert, manual, org, "other@blix.example", 0, "[]")

        await migrate_leads("head")
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

        await migrate_leads("0003", down=True)
        back = dict(await conn.fetch("SELECT id, score_explanation FROM leads.leads"))
        assert json.loads(back[scored]) == EXPLANATION and json.loads(back[manual]) == []
    finally:
        await conn.close()
