"""Linking leads to an ICP and scoring them again, and applying an enrichment's values to a lead's own fields
(never over a hand edit): the rules without a database, then real transactions on a scratch leads database."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from types import SimpleNamespace
from typing import Any

import pytest

from leadflood.icp.v1 import icp_pb2
from leadflood_platform.db import Database
from leadflood_platform.errors import FailedPrecondition, InvalidArgument
from leads import explanations, ingest, provider_values, rescoring, service
from leads.models import Lead
from leads.scoring import Scorer
from leads.workers import EnrichLead

RULES = icp_pb2.IcpRules(
    titles=["vp sales"],
    seniorities=["vp"],
    industries=["Software"],
    company_size_min=50,
    company_size_max=500,
    locations=["Berlin"],
    min_score=50,
    weights=icp_pb2.ScoringWeights(title=30, seniority=20, industry=15, company_size=15, location=10, keyword=10),
)
SANDBOX = {"industry": "Software", "companySize": "51-200", "location": "Berlin, DE", "seniority": "vp",
           "companyDomain": "acme.io", "linkedinUrl": "https://www.linkedin.com/in/ada", "emailScore": 91}  # fmt: skip


def lead_like(**values: Any) -> SimpleNamespace:
    base = {"company_name": "", "title": "", "seniority": "", "industry": "", "company_size": None,
            "company_size_max": None, "company_domain": "", "location": "", "linkedin_url": "", "edited_fields": [],
            "enrichment": SANDBOX}  # fmt: skip
    return SimpleNamespace(**(base | values))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("51-200", (51, 200)), ("1001 – 5000", (1001, 5000)), ("250", (250, None)), (120, (120, None)),
     ("10-10", (10, None)), ("200-51", None), ("0", None), ("lots", None), (True, None), ("", None)],
)  # fmt: skip
def test_a_providers_company_size_is_read_as_a_range_or_a_headcount(raw: Any, expected: Any) -> None:
    assert provider_values.size_range(raw) == expected


def test_each_provider_value_says_which_value_holds() -> None:
    lead = lead_like(industry="software", company_size=120, location="London, GB", seniority="head",
                     edited_fields=["seniority"])  # fmt: skip
    states = {v.field: (v.value, v.state) for v in provider_values.compare(lead)}
    assert states == {
        "industry": ("Software", "same"),  # case aside, the same
        "company_size": ("51-200", "same"),  # 120 lies inside the provider's 51-200
        "location": ("Berlin, DE", "offered"),
        "seniority": ("vp", "edited"),  # the hand edit holds
        "company_domain": ("acme.io", "offered"),
        "linkedin_url": ("https://www.linkedin.com/in/ada", "offered"),
    }  # emailScore is the provider's own figure, not a field of the lead's


def test_applying_everything_keeps_hand_edits_and_naming_one_is_refused() -> None:
    lead = lead_like(seniority="head", edited_fields=["seniority"])
    applying = provider_values.to_apply(lead, [])
    assert applying.kept == ["seniority"]
    assert applying.applied == ["industry", "company_size", "company_domain", "location", "linkedin_url"]
    assert applying.values["company_size"] == 51 and applying.values["company_size_max"] == 200
    assert "seniority" not in applying.values
    with pytest.raises(FailedPrecondition, match="edited by hand"):
        provider_values.to_apply(lead, ["seniority"])
    assert provider_values.to_apply(lead, ["location"]).values == {"location": "Berlin, DE"}


def test_applying_refuses_what_cannot_be_applied() -> None:
    with pytest.raises(InvalidArgument) as caught:
        provider_values.to_apply(lead_like(), ["email", "industry"])
    assert caught.value.violations[0].field == "fields"
    with pytest.raises(FailedPrecondition, match="not been enriched"):
        provider_values.to_apply(lead_like(enrichment=None), [])
    with pytest.raises(FailedPrecondition, match="no title"):
        provider_values.to_apply(lead_like(), ["title"])


@pytest.mark.parametrize(
    ("size", "size_max", "matched", "detail"),
    [(51, 200, True, "within 50-500 employees"), (40, 200, False, "partly outside 50-500 employees"),
     (600, 900, False, "outside 50-500 employees"), (120, None, True, "within 50-500 employees")],
)  # fmt: skip
def test_a_size_range_matches_when_all_of_it_lies_within_the_icps(
    size: int, size_max: int | None, matched: bool, detail: str
) -> None:
    verdict = Scorer.from_rules(RULES).verdict("VP Sales", "vp", "Software", size, "Berlin", "Acme", size_max)
    (row,) = [r for r in verdict.explanation if r["rule"] == "company_size"]
    assert (row["matched"], row["detail"]) == (matched, detail)


def test_lead_ids_are_checked_before_anything_is_read() -> None:
    for raw, field in (([], "lead_ids"), (["nope"], "lead_ids[0]"), ([str(uuid.uuid4())] * 501, "lead_ids")):
        with pytest.raises(InvalidArgument) as caught:
            rescoring.lead_ids(raw)
        assert caught.value.violations[0].field == field
    same = str(uuid.uuid4())
    assert rescoring.lead_ids([same, same]) == [uuid.UUID(same)]


async def test_linking_scoring_applying_and_editing_on_the_database(
    leads_database: str, migrate_leads: Callable[..., Awaitable[None]]
) -> None:
    await migrate_leads()
    db = Database(leads_database, pool_size=3)
    org, icp_id = uuid.uuid4(), uuid.uuid4()

    async def added(email: str, title: str) -> Lead:
        async with db.transaction() as session:
            new = service.NewLead(email, "Ada", "Lovelace", company_name="Acme", title=title)
            lead, _ = await service.create(session=session, org_id=org, new=new, enrich_kind=EnrichLead, max_attempts=3)
            return lead

    try:
        fit, unfit = await added("ada@acme.io", "VP Sales"), await added("bob@acme.io", "Intern")
        async with db.transaction() as session:  # the sandbox's answer for the first, as the worker records it
            await service.record_enrichment(session=session, org_id=org, lead_id=fit.id, run_id=None, data=SANDBOX)
        missing = uuid.uuid4()

        async with db.transaction() as session:
            scored = await rescoring.score_leads(
                session=session, org_id=org, ids=[fit.id, unfit.id, missing], rules={icp_id: RULES}, link_to=icp_id
            )
        assert [lead.id for lead in scored.leads] == [fit.id, unfit.id]
        assert scored.not_found == 1
        # Both under the minimum of 50: the intern matches no rule of its own, the VP only its title (its
        # enrichment's values are not its own until applied).
        assert scored.filtered == 2 and [lead.score for lead in scored.leads] == [40, 10]  # keyword: any
        assert all(lead.icp_id == icp_id for lead in scored.leads)

        async with db.transaction() as session:  # the enrichment's values applied, then scored again
            lead, applying = await service.apply_enrichment(session=session, org_id=org, lead_id=fit.id, fields=[])
            await rescoring.score(session, lead, RULES)
        assert applying.applied == ["seniority", "industry", "company_size", "company_domain", "location",
                                    "linkedin_url"]  # fmt: skip
        assert (lead.company_size, lead.company_size_max, lead.score, lead.filtered) == (51, 200, 100, False)
        async with db.transaction() as session:
            rows = await explanations.load(session, org, lead.score_explanation_id)
        assert all(row["matched"] for row in rows if row["rule"] != "keyword")

        async with db.transaction() as session:  # a hand edit holds against the provider's value
            lead = await service.update(
                session=session, org_id=org, lead_id=fit.id, changes={"location": "Paris", "company_size": 40}
            )
            assert lead.company_size_max is None  # a headcount typed by hand replaces the range
            with pytest.raises(FailedPrecondition):
                await service.apply_enrichment(session=session, org_id=org, lead_id=fit.id, fields=["location"])
        async with db.transaction() as session:
            lead, applying = await service.apply_enrichment(session=session, org_id=org, lead_id=fit.id, fields=[])
        assert applying.kept == ["company_size", "location"] and lead.location == "Paris"

        async with db.transaction() as session:  # rescored by their own ICP; one with none, one with a deleted one
            scored = await rescoring.score_leads(session=session, org_id=org, ids=[fit.id], rules={icp_id: None})
            assert (scored.icp_deleted, scored.leads) == (1, [])
            other = await added("cy@acme.io", "CTO")
            scored = await rescoring.score_leads(session=session, org_id=org, ids=[other.id], rules={})
            assert scored.not_linked == 1
            scored = await rescoring.score_leads(session=session, org_id=uuid.uuid4(), ids=[fit.id], rules={})
            assert scored.not_found == 1  # another org's lead is not found
    finally:
        await db.close()


async def test_a_search_keeps_a_hand_set_size_and_replaces_a_providers_range(
    leads_database: str, migrate_leads: Callable[..., Awaitable[None]]
) -> None:
    await migrate_leads()
    db = Database(leads_database, pool_size=2)
    org = uuid.uuid4()
    try:
        async with db.transaction() as session:
            kept = await service.create(session=session, org_id=org, new=service.NewLead("a@x.io", "A", "B"),
                                        enrich_kind=EnrichLead, max_attempts=3)  # fmt: skip
            ranged = await service.create(session=session, org_id=org, new=service.NewLead("b@x.io", "B", "C"),
                                          enrich_kind=EnrichLead, max_attempts=3)  # fmt: skip
            await service.update(session=session, org_id=org, lead_id=kept[0].id, changes={"company_size": 40})
            ranged[0].company_size, ranged[0].company_size_max = 51, 200
        async with db.driver(transaction=True) as connection:
            rows = [ingest.Row("A", "B", "a@x.io", company_size=900), ingest.Row("B", "C", "b@x.io", company_size=75)]
            run = {"icp_id": uuid.uuid4(), "run_id": uuid.uuid4()}
            await ingest.upsert(connection, rows, org_id=org, source="sandbox", **run)
        async with db.transaction() as session:
            first = await service.get(session=session, org_id=org, lead_id=kept[0].id)
            second = await service.get(session=session, org_id=org, lead_id=ranged[0].id)
        assert (first.company_size, first.company_size_max) == (40, None)
        assert (second.company_size, second.company_size_max) == (75, None)
    finally:
        await db.close()
