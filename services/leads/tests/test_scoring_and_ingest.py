"""Scoring a person against an ICP (with its explanation), and the fast email normalisation of sourcing."""

from __future__ import annotations

import pytest

from leadflood.icp.v1 import icp_pb2
from leads.ingest import normalise_email
from leads.scoring import Scorer

WEIGHTS = icp_pb2.ScoringWeights(title=30, seniority=20, industry=15, company_size=15, location=10, keyword=10)


def scorer(**rules: object) -> Scorer:
    base = {"titles": ["VP Sales"], "min_score": 60, "weights": WEIGHTS}
    return Scorer.from_rules(icp_pb2.IcpRules(**(base | rules)))


def person(**fields: object) -> dict[str, object]:
    return {"title": "VP Sales EMEA", "seniority": "vp", "industry": "Software", "company_size": 200,
            "location": "Berlin, Germany", "company_name": "Acme SaaS"} | fields  # fmt: skip


def test_a_person_matching_every_rule_scores_100() -> None:
    s = scorer(seniorities=["vp"], industries=["software"], company_size_min=50, company_size_max=500,
               locations=["berlin"], keywords=["saas"])  # fmt: skip
    score, rows, filtered = s.score(person())
    assert score == 100 and not filtered
    assert [r["rule"] for r in rows] == ["title", "seniority", "industry", "company_size", "location", "keyword"]
    assert rows[0]["detail"] == "matched 'vp sales'"


def test_misses_lower_the_score_and_say_why() -> None:
    s = scorer(seniorities=["vp"], industries=["fintech"], company_size_min=1000, locations=["paris"], min_score=70)
    score, rows, filtered = s.score(person())
    by_rule = {r["rule"]: r for r in rows}
    assert not by_rule["industry"]["matched"] and by_rule["industry"]["detail"] == "no industry match"
    assert by_rule["company_size"]["detail"] == "200 employees vs 1000-∞"
    assert by_rule["keyword"]["matched"]  # the ICP names no keywords: any person passes that rule
    # title, seniority and the free keyword rule (the ICP names none): under the minimum of 70
    assert score == 30 + 20 + 10 and filtered


def test_unknown_company_size_does_not_match_a_size_rule() -> None:
    _, rows, _ = scorer(company_size_max=100).score(person(company_size=None))
    assert rows[3] == {"rule": "company_size", "matched": False, "weight": 15, "detail": "company size unknown"}


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [(" Ada@Example.COM ", "ada@example.com"), ("ada+leads@example.com", "ada+leads@example.com"),
     ("\tA@B.io", "a@b.io"), ("", None), ("no-at.example.com", None), ("a@b", None), ("a b@example.com", None),
     (None, None)],
)  # fmt: skip
def test_sourced_emails_are_normalised_or_dropped(raw: str | None, normalised: str | None) -> None:
    assert normalise_email(raw) == normalised
