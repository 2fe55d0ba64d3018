"""Scoring stored leads: linking leads to an ICP, or scoring them again by their ICP's current rules.

Sourcing scores people as a page arrives (sourcing.py); a lead added by hand or imported has no ICP
until a user links it, and a lead whose fields change (an edit, an applied enrichment) is scored again
here with the same scorer. The ICP's rules come from the icp service; the caller asks for them before
its transaction (rules_of) and passes them in. An ICP's new minimum score is applied here too: which of
its leads are filtered follows the ICP's minimum as it is now, not as it was when they were scored.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.icp.v1 import icp_pb2
from leadflood_platform.errors import InvalidArgument
from leads import events, listing
from leads.models import Lead, ScoreExplanation
from leads.scoring import Verdict, scorer_for

# The lead's fields the scorer reads: a change to one of them changes the score.
SCORED_FIELDS = frozenset({"title", "seniority", "industry", "company_size", "location", "company_name"})
MAX_LEADS = listing.MAX_LEAD_IDS  # a selection of leads, as a list or a bulk action names them


def lead_ids(raw: Sequence[str]) -> list[uuid.UUID]:
    """The ids asked for, each once, in order; InvalidArgument naming the first malformed one."""
    if not raw:
        raise InvalidArgument.on("lead_ids", "name at least one lead")
    if len(raw) > MAX_LEADS:
        raise InvalidArgument.on("lead_ids", f"name at most {MAX_LEADS} leads at once")
    ids = []
    for i, value in enumerate(raw):
        try:
            ids.append(uuid.UUID(value))
        except ValueError:
            raise InvalidArgument.on(f"lead_ids[{i}]", "is not a lead id") from None
    return list(dict.fromkeys(ids))


async def score(session: AsyncSession, lead: Lead, rules: icp_pb2.IcpRules) -> Verdict:
    """Scores the lead by the rules in place (its explanation stored once, shared with leads scored alike)."""
    verdict = scorer_for(rules).verdict(
        lead.title, lead.seniority, lead.industry, lead.company_size, lead.location, lead.company_name,
        lead.company_size_max,
    )  # fmt: skip
    await session.execute(
        insert(ScoreExplanation)
        .values(org_id=lead.org_id, id=verdict.explanation_id, rules=list(verdict.explanation))
        .on_conflict_do_nothing()
    )
    lead.score, lead.score_explanation_id, lead.filtered = verdict.score, verdict.explanation_id, verdict.filtered
    # Set, not left to the column's onupdate: a server default would expire it, and reading it back (to
    # answer the call) would be I/O outside the session's await.
    lead.updated_at = dt.datetime.now(dt.UTC)
    return verdict


@dataclass
class Scored:
    leads: list[Lead] = field(default_factory=list)  # scored, in the order asked for
    filtered: int = 0
    not_found: int = 0
    not_linked: int = 0
    icp_deleted: int = 0


async def own_icps(*, session: AsyncSession, org_id: uuid.UUID, ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """The ICPs the leads are linked to now: whose rules a rescore by their own ICP needs."""
    found = await session.scalars(
        select(Lead.icp_id).where(Lead.org_id == org_id, Lead.id.in_(ids), Lead.icp_id.is_not(None)).distinct()
    )
    return {icp_id for icp_id in found if icp_id is not None}


async def score_leads(
    *,
    session: AsyncSession,
    org_id: uuid.UUID,
    ids: Sequence[uuid.UUID],
    rules: dict[uuid.UUID, icp_pb2.IcpRules | None],
    link_to: uuid.UUID | None = None,
) -> Scored:
    """Links the leads to `link_to` (when given) and scores each by its ICP's rules in `rules` (None: the
    ICP was deleted). Leads of another org are not found; one event names every lead scored."""
    leads = (
        await session.scalars(
            select(Lead).where(Lead.org_id == org_id, Lead.id.in_(ids)).order_by(Lead.id).with_for_update()
        )
    ).all()
    by_id = {lead.id: lead for lead in leads}
    outcome = Scored(not_found=len(ids) - len(leads))
    for lead_id in ids:
        lead = by_id.get(lead_id)
        if lead is None:
            continue
        icp_id = link_to or lead.icp_id
        if icp_id is None:
            outcome.not_linked += 1
            continue
        # An ICP missing from `rules` was linked after the caller asked which ones the leads had: rare,
        # and said as the ICP being gone rather than scored by rules never fetched.
        icp_rules = rules.get(icp_id)
        if icp_rules is None:
            outcome.icp_deleted += 1
            continue
        lead.icp_id = icp_id
        outcome.filtered += (await score(session, lead, icp_rules)).filtered
        outcome.leads.append(lead)
    await session.flush()
    await events.leads_updated(session, org_id, outcome.leads)
    return outcome


@dataclass(frozen=True)
class MinScoreApplied:
    hidden: int  # under the new minimum, and were not
    shown: int  # at or over it, and were under the old one


async def apply_min_score(
    *, session: AsyncSession, org_id: uuid.UUID, icp_id: uuid.UUID, min_score: int
) -> MinScoreApplied:
    """The ICP's leads filtered by its new minimum against the scores they hold, in one statement (the score
    does not depend on the minimum, so nothing is rescored); events name the leads that changed."""
    if not 0 <= min_score <= 100:
        raise InvalidArgument.on("min_score", "must be between 0 and 100")
    below = Lead.score < min_score
    changed = (
        await session.execute(
            update(Lead)
            .where(Lead.org_id == org_id, Lead.icp_id == icp_id, Lead.filtered.is_distinct_from(below))
            .values(filtered=below, updated_at=func.now())
            .returning(Lead.id, Lead.email, Lead.filtered)
            .execution_options(synchronize_session=False)
        )
    ).all()
    await events.refs_updated(session, org_id, [(row.id, row.email) for row in changed], icp_id=str(icp_id))
    hidden = sum(1 for row in changed if row.filtered)
    return MinScoreApplied(hidden=hidden, shown=len(changed) - hidden)
