"""Score explanations, stored once per distinct content and shared by the leads scored alike."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood_platform.db import Database
from leads.models import ScoreExplanation

# Ids known to be committed, so a run's later pages (which repeat the first pages' explanations)
# skip the write. Bounded: past this many, the set starts afresh and rows are merely rewritten.
MAX_KNOWN = 100_000

_INSERT = text(
    "INSERT INTO score_explanations (org_id, id, rules) "
    "SELECT :org_id, e.id, e.rules::jsonb FROM unnest(CAST(:ids AS bigint[]), CAST(:rules AS text[])) AS e(id, rules) "
    "ON CONFLICT DO NOTHING"
)


class ExplanationStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._known: set[tuple[uuid.UUID, int]] = set()

    async def save(self, org_id: uuid.UUID, explanations: dict[int, str]) -> None:
        """Stores the explanations (id -> JSON) not stored yet, committed before any lead names them.

        In its own short transaction: two pages of a run share most explanations, and inserting
        them in each page's transaction would make the second page wait for the first to commit.
        """
        new = sorted(i for i in explanations if (org_id, i) not in self._known)
        if not new:
            return
        async with self.db.transaction() as session:
            await session.execute(_INSERT, {"org_id": org_id, "ids": new, "rules": [explanations[i] for i in new]})
        if len(self._known) + len(new) > MAX_KNOWN:
            self._known.clear()
        self._known.update((org_id, i) for i in new)


async def load(session: AsyncSession, org_id: uuid.UUID, explanation_id: int | None) -> list[dict[str, Any]]:
    """The explanation rows for a lead's explanation id; empty for a lead that was never scored."""
    if explanation_id is None:
        return []
    rules = await session.scalar(
        select(ScoreExplanation.rules).where(ScoreExplanation.org_id == org_id, ScoreExplanation.id == explanation_id)
    )
    return list(rules or [])
