"""A sequence's results: per step and per A/B variant, what was sent and how the leads answered.

Counted by one SQL statement, so every number comes from the same snapshot and they add up: an
enrollment that stopped (replied, bounced, unsubscribed, booked a meeting) counts once, at the last
step that reached its lead (the step's row in step_sends that was queued, simulated or suppressed) on
the channel of the message that stopped it when there was one (a text that could not be delivered
counts at the text step, not at an email sent after it); one that stopped before any step reached it
counts in `before_first_step`.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from sequences.models import (
    BOUNCED,
    ENROLLMENT_STATES,
    MEETING_BOOKED,
    QUEUED,
    REPLIED,
    SIMULATED,
    SKIPPED,
    TASK_CREATED,
    UNSUBSCRIBED,
    Sequence,
    Step,
)

STOP_STATES = (REPLIED, BOUNCED, UNSUBSCRIBED, MEETING_BOOKED)
SENT_OUTCOMES = (QUEUED, SIMULATED)

# Rows of (step_id, variant_id, kind, what, n): kind 'send' counts step_sends by outcome; kind
# 'state' counts enrollments by state at the last step that reached them (step NULL: none did).
STATS_SQL = """
WITH last_reached AS (
  SELECT e.state, r.step_id, r.variant_id
  FROM sequences.enrollments e
  LEFT JOIN LATERAL (
    SELECT s.step_id, s.variant_id FROM sequences.step_sends s
    WHERE s.enrollment_id = e.id AND s.outcome IN ('queued', 'simulated', 'suppressed')
    ORDER BY s.channel = e.stop_channel DESC, s.created_at DESC, s.id DESC
    LIMIT 1
  ) r ON true
  WHERE e.sequence_id = :sequence_id AND e.org_id = :org_id
)
SELECT s.step_id, s.variant_id, 'send' AS kind, s.outcome AS what, count(*) AS n
FROM sequences.step_sends s JOIN sequences.enrollments e ON e.id = s.enrollment_id
WHERE e.sequence_id = :sequence_id AND e.org_id = :org_id
GROUP BY 1, 2, 4
UNION ALL
SELECT step_id, variant_id, 'state', state, count(*) FROM last_reached GROUP BY 1, 2, 4
"""


@dataclass
class Counts:
    sent: int = 0
    replied: int = 0
    bounced: int = 0
    unsubscribed: int = 0
    meeting_booked: int = 0
    skipped: int = 0
    tasks: int = 0

    def add(self, kind: str, what: str, n: int) -> None:
        if kind == "send":
            if what in SENT_OUTCOMES:
                self.sent += n
            elif what == SKIPPED:
                self.skipped += n
            elif what == TASK_CREATED:
                self.tasks += n
        elif what in STOP_STATES:
            setattr(self, what, getattr(self, what) + n)


@dataclass
class VariantStats:
    variant_id: str
    name: str
    weight: int
    counts: Counts = field(default_factory=Counts)


@dataclass
class StepStats:
    step: Step
    ordinal: int  # 0: removed
    counts: Counts = field(default_factory=Counts)
    variants: list[VariantStats] = field(default_factory=list)


@dataclass
class SequenceStats:
    sequence_id: uuid.UUID
    enrollments: dict[str, int]
    steps: list[StepStats]
    before_first_step: Counts


async def of_sequence(*, session: AsyncSession, sequence: Sequence) -> SequenceStats:
    """The sequence's counts (`sequence` loaded with its steps, removed ones included)."""
    rows = await session.execute(text(STATS_SQL), {"sequence_id": sequence.id, "org_id": sequence.org_id})
    by_step: dict[uuid.UUID, StepStats] = {}
    live = sequence.live_steps
    for number, step in enumerate(live, start=1):
        by_step[step.id] = _step_stats(step, number)
    for step in sequence.steps:
        if step.removed:
            by_step[step.id] = _step_stats(step, 0)
    enrollments: dict[str, int] = defaultdict(int)
    before_first = Counts()
    for step_id, variant_id, kind, what, n in rows:
        if kind == "state":
            enrollments[what] += n
        stats = by_step.get(step_id) if step_id else None
        if stats is None:
            if kind == "state":
                before_first.add(kind, what, n)
            continue
        stats.counts.add(kind, what, n)
        if not variant_id:
            continue
        variant = next((v for v in stats.variants if v.variant_id == variant_id), None)
        if variant is None:  # taken out of the step by an edit after it was sent: its results stay
            variant = VariantStats(variant_id, "(removed variant)", 0)
            stats.variants.append(variant)
        variant.counts.add(kind, what, n)
    counts = {state: enrollments.get(state, 0) for state in ENROLLMENT_STATES}
    shown = [by_step[step.id] for step in live] + [s for s in by_step.values() if s.ordinal == 0 and _any(s.counts)]
    return SequenceStats(sequence.id, counts, shown, before_first)


def _step_stats(step: Step, ordinal: int) -> StepStats:
    variants = [VariantStats(str(v["id"]), str(v["name"]), int(v["weight"])) for v in step.variants]
    return StepStats(step=step, ordinal=ordinal, variants=variants)


def _any(counts: Counts) -> bool:
    return any(vars(counts).values())
