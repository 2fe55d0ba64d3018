"""Score explanations, stored once per distinct content and shared by the leads scored alike."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from leads.models import ScoreExplanation

# Ids known to be committed, so a run's later pages (which repeat the first pages' explanations)
# skip the write. Bounded: past this many, the set starts afresh and rows are merely rewritten.
MAX_KNOWN = 100_000

_INSERT = (
    "INSERT INTO score_explanations (org_id, id, rules) "
    "SELECT $1, e.id, e.rules::jsonb FROM unnest($2::bigint[], $3::text[]) AS e(id, rules) "
    "ON CONFLICT DO NOTHING"
)


class ExplanationStore:
    """Which explanations this process knows to be stored, and the statement that stores the rest."""

    def __init__(self) -> None:
        self._known: set[tuple[uuid.UUID, int]] = set()

    def unsaved(self, org_id: uuid.UUID, explanations: dict[int, str]) -> dict[int, str]:
        """The explanations (id -> JSON) not known to be stored yet."""
        return {i: rules for i, rules in explanations.items() if (org_id, i) not in self._known}

    async def save(self, connection: asyncpg.Connection, org_id: uuid.UUID, explanations: dict[int, str]) -> None:
        """Stores the explanations, committed before any lead names them.

        `connection` is a Database.driver(transaction=False)'s: the one statement commits alone. In
        the page's own transaction, a run's second page (which shares most explanations with the first)
        would wait for the first page to commit.
        """
        ids = sorted(explanations)
        await connection.execute(_INSERT, org_id, ids, [explanations[i] for i in ids])
        if len(self._known) + len(ids) > MAX_KNOWN:
            self._known.clear()
        self._known.update((org_id, i) for i in ids)


async def load(session: AsyncSession, org_id: uuid.UUID, explanation_id: int | None) -> list[dict[str, Any]]:
    """The explanation rows for a lead's explanation id; empty for a lead that was never scored."""
    if explanation_id is None:
        return []
    rules = await session.scalar(
        select(ScoreExplanation.rules).where(ScoreExplanation.org_id == org_id, ScoreExplanation.id == explanation_id)
    )
    return list(rules or [])
