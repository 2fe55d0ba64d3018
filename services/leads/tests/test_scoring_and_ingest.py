"""Scoring a person against an ICP (with its explanation), and the fast email normalisation of sourcing."""

from __future__ import annotations

import json
from typing import Any

import pytest

from leadflood.icp.v1 import icp_pb2
from leads.ingest import normalise_email
from leads.scoring import Scorer, Verdict, explanation_id, scorer_for

WEIGHTS = icp_pb2.ScoringWeights(title=30, seniority=20, industry=15, company_size=15, location=10, keyword=10)


def scorer(**rules: object) -> Scorer:
    base = {"titles": ["VP Sales"], "min_score": 60, "weights": WEIGHTS}
    return Scorer.from_rules(icp_pb2.IcpRules(**(base | rules)))


def verdict_of(s: Scorer, person: dict[str, Any]) -> Verdict:
    return s.verdict(
        person["title"], person["seniority"], person["industry"], person["company_size"], person["location"],
        person["company_name"],
    )  # fmt: skip


def person(**fields: object) -> dict[str, object]:
    return {"title": "VP Sales EMEA", "seniority": "vp", "industry": "Software", "company_size": 200,
            "location": "Berlin, Germany", "company_name": "Acme SaaS"} | fields  # fmt: skip


def test_a_person_matching_every_rule_scores_100() -> None:
    s = scorer(seniorities=["vp"], industries=["software"], company_size_min=50, company_size_max=500,
               locations=["berlin"], keywords=["saas"])  # fmt: skip
    verdict = verdict_of(s, person())
    assert verdict.score == 100 and not verdict.filtered
    rows = verdict.explanation
    assert [r["rule"] for r in rows] == ["title", "seniority", "industry", "company_size", "location", "keyword"]
    assert rows[0]["detail"] == "matched 'vp sales'"
    assert rows[3]["detail"] == "within 50-500 employees"


def test_misses_lower_the_score_and_say_why() -> None:
    s = scorer(seniorities=["vp"], industries=["fintech"], company_size_min=1000, locations=["paris"], min_score=70)
    verdict = verdict_of(s, person())
    by_rule = {r["rule"]: r for r in verdict.explanation}
    assert not by_rule["industry"]["matched"] and by_rule["industry"]["detail"] == "no industry match"
    assert by_rule["company_size"]["detail"] == "outside 1000-∞ employees"
    assert by_rule["keyword"]["matched"]  # the ICP names no keywords: any person passes that rule
    # title, seniority and the free keyword rule (the ICP names none): under the minimum of 70
    assert verdict.score == 30 + 20 + 10 and verdict.filtered


def test_unknown_company_size_does_not_match_a_size_rule() -> None:
    rows = verdict_of(scorer(company_size_max=100), person(company_size=None)).explanation
    assert rows[3] == {"rule": "company_size", "matched": False, "weight": 15, "detail": "company size unknown"}


def test_people_scored_alike_share_one_explanation_and_different_ones_do_not() -> None:
    s = scorer(seniorities=["vp"], locations=["berlin"])
    first = verdict_of(s, person())
    again = verdict_of(s, person(title="vp sales", company_name="Other GmbH", linkedin_url="x"))  # same outcomes
    elsewhere = verdict_of(s, person(location="Paris, France"))
    assert again.explanation_id == first.explanation_id and again.explanation_json == first.explanation_json
    assert elsewhere.explanation_id != first.explanation_id
    assert explanation_id(first.explanation_json) == first.explanation_id
    assert json.loads(first.explanation_json) == list(first.explanation)


def test_scorers_are_kept_per_rule_set_so_a_runs_pages_share_memos() -> None:
    rules = icp_pb2.IcpRules(titles=["VP Sales"], weights=WEIGHTS)
    assert scorer_for(rules) is scorer_for(icp_pb2.IcpRules(titles=["VP Sales"], weights=WEIGHTS))
    assert scorer_for(rules) is not scorer_for(icp_pb2.IcpRules(titles=["CTO"], weights=WEIGHTS))


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [(" Ada@Example.COM ", "ada@example.com"), ("ada+leads@example.com", "ada+leads@example.com"),
     ("\tA@B.io", "a@b.io"), ("", None), ("no-at.example.com", None), ("a@b", None), ("a b@example.com", None),
     (None, None)],
)  # fmt: skip
def test_sourced_emails_are_normalised_or_dropped(raw: str | None, normalised: str | None) -> None:
    assert normalise_email(raw) == normalised
