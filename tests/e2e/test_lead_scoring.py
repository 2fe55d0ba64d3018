"""Leads added by hand or imported are linked to an ICP and scored by its rules, one at a time or a selection at a
time; an enrichment's values are applied to a lead (all, or field by field, never over a hand edit) and the lead
is scored again. Over HTTP, bad input included (#18). The browser walk is in test_lead_scoring_web.py."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.e2e.helpers import assert_problem, unique_email, wait_for_lead
from tests.e2e.test_icps import icp_body


def new_icp(client: httpx.Client, **overrides: object) -> dict[str, Any]:
    created = client.post("/v1/icps", json=icp_body(**overrides))
    assert created.status_code == 201, created.text
    return created.json()


def enriched_lead(client: httpx.Client, title: str = "VP Sales") -> dict[str, Any]:
    body = {"email": unique_email("scored"), "firstName": "Ada", "lastName": "Lovelace", "companyName": "Acme",
            "title": title}  # fmt: skip
    created = client.post("/v1/leads", json=body)
    assert created.status_code == 201, created.text
    lead = wait_for_lead(client, created.json()["leadId"])
    assert lead["status"] == "enriched", lead
    return lead


def points(lead: dict[str, Any]) -> int:
    """What the lead's explanation adds up to: the score must agree with it."""
    return sum(rule["weight"] for rule in lead["scoreExplanation"] if rule["matched"])


def test_a_lead_added_by_hand_is_linked_to_an_icp_and_takes_its_enrichment_field_by_field(
    client: httpx.Client,
) -> None:
    icp = new_icp(client)
    lead = enriched_lead(client)
    assert (lead["icpId"], lead["score"]) == (None, 0)
    offered = {v["field"]: v for v in lead["providerValues"]}
    assert offered["seniority"] == {"field": "seniority", "value": "vp", "state": "offered"}  # the sandbox's code
    assert {"industry", "companySize", "location", "companyDomain", "linkedinUrl"} <= set(offered)

    # Nothing to score it against yet: said, not guessed.
    assert "not linked to an ICP" in assert_problem(client.post(f"/v1/leads/{lead['id']}/score"), 409)["detail"]

    linked = client.post(f"/v1/leads/{lead['id']}/score", json={"icpId": icp["id"]})
    assert linked.status_code == 200, linked.text
    linked = linked.json()
    assert linked["icpId"] == icp["id"] and linked["score"] == points(linked) > 0
    assert linked["enrichmentHistory"]  # the lead's whole page, as GET gives it
    seniority_rule = next(r for r in linked["scoreExplanation"] if r["rule"] == "seniority")
    assert not seniority_rule["matched"]  # the provider's "vp" is not the lead's own until applied

    applied = client.post(f"/v1/leads/{lead['id']}/apply-enrichment", json={"fields": ["seniority"]})
    assert applied.status_code == 200, applied.text
    applied = applied.json()
    assert (applied["applied"], applied["kept"], applied["rescored"]) == (["seniority"], [], True)
    after = applied["lead"]
    assert after["seniority"] == "vp" and after["score"] == linked["score"] + icp["weights"]["seniority"]
    assert after["score"] == points(after)
    states = {v["field"]: v["state"] for v in after["providerValues"]}
    assert states["seniority"] == "same" and states["location"] == "offered"

    # A hand edit always holds: applying everything keeps it, naming it is refused.
    edited = client.patch(f"/v1/leads/{lead['id']}", json={"location": "Paris, FR"})
    assert edited.status_code == 200, edited.text
    assert edited.json()["score"] == points(edited.json())  # an edit to a scored field rescores the lead
    refused = assert_problem(
        client.post(f"/v1/leads/{lead['id']}/apply-enrichment", json={"fields": ["location"]}), 409
    )
    assert "edited by hand" in refused["detail"]
    every = client.post(f"/v1/leads/{lead['id']}/apply-enrichment").json()
    assert every["kept"] == ["location"] and "location" not in every["applied"]
    final = every["lead"]
    assert final["location"] == "Paris, FR" and final["industry"] == offered["industry"]["value"]
    assert final["score"] == points(final)
    assert {v["field"]: v["state"] for v in final["providerValues"]}["location"] == "edited"


def test_a_selection_is_linked_and_rescored_and_what_was_not_is_counted(client: httpx.Client) -> None:
    icp = new_icp(client, minScore=90)
    tag = uuid.uuid4().hex[:8]
    csv = "email,firstName,lastName,title\n" + "".join(
        f"imp{i}-{tag}@example.com,Imp{i},Orted,VP Sales\n" for i in range(3)
    )
    imported = client.post("/v1/leads/import", content=csv, headers={"content-type": "text/csv"})
    assert imported.json()["created"] == 3, imported.text
    rows = client.get("/v1/leads", params={"q": tag, "filtered": "all"}).json()["items"]
    ids = [row["id"] for row in rows]
    assert len(ids) == 3 and all(row["score"] == 0 and row["icpId"] is None for row in rows)

    unlinked = client.post("/v1/leads/bulk-score", json={"leadIds": ids})
    assert unlinked.json() == {"scored": 0, "filtered": 0, "notFound": 0, "notLinked": 3, "icpDeleted": 0}

    missing = str(uuid.uuid4())
    scored = client.post("/v1/leads/bulk-score", json={"leadIds": [*ids, missing], "icpId": icp["id"]})
    assert scored.status_code == 200, scored.text
    # Imported leads match by title alone: under a minimum of 90, kept but filtered.
    assert scored.json() == {"scored": 3, "filtered": 3, "notFound": 1, "notLinked": 0, "icpDeleted": 0}
    for lead_id in ids:
        lead = client.get(f"/v1/leads/{lead_id}").json()
        assert lead["icpId"] == icp["id"] and lead["score"] == points(lead) > 0 and lead["filtered"]
    assert client.get("/v1/leads", params={"q": tag}).json()["total"] == 0  # hidden by default, as sourced ones
    assert client.get("/v1/leads", params={"q": tag, "icpId": icp["id"], "filtered": "only"}).json()["total"] == 3

    # Rescored by their own ICP's rules once those change.
    rules = {k: v for k, v in icp.items() if k not in ("id", "createdAt", "updatedAt")}
    assert client.put(f"/v1/icps/{icp['id']}", json={**rules, "minScore": 10}).status_code == 200
    again = client.post("/v1/leads/bulk-score", json={"leadIds": ids}).json()
    assert (again["scored"], again["filtered"]) == (3, 0)
    assert client.get("/v1/leads", params={"q": tag}).json()["total"] == 3

    assert client.delete(f"/v1/icps/{icp['id']}").status_code == 204
    gone = client.post("/v1/leads/bulk-score", json={"leadIds": ids}).json()
    assert (gone["scored"], gone["icpDeleted"]) == (0, 3)
    assert "has been deleted" in assert_problem(client.post(f"/v1/leads/{ids[0]}/score"), 409)["detail"]


def test_scoring_and_applying_refuse_bad_input_with_problems(client: httpx.Client) -> None:
    icp = new_icp(client)
    lead_id = enriched_lead(client)["id"]
    for body in ({"leadIds": ["not-an-id"]}, {"leadIds": []}, {"leadIds": [lead_id], "icpId": "nope"},
                 {"leadIds": [str(uuid.uuid4())] * 501}, {"leadIds": [lead_id], "extra": 1}, {}):  # fmt: skip
        assert_problem(client.post("/v1/leads/bulk-score", json=body), 422)
    assert_problem(client.post("/v1/leads/bulk-score", json={"leadIds": [lead_id], "icpId": str(uuid.uuid4())}), 404)
    assert_problem(client.post(f"/v1/leads/{lead_id}/score", json={"icpId": str(uuid.uuid4())}), 404)
    assert_problem(client.post(f"/v1/leads/{uuid.uuid4()}/score", json={"icpId": icp["id"]}), 404)
    for bad in ("not-a-uuid", "x" * 300):
        assert_problem(client.post(f"/v1/leads/{bad}/score", json={"icpId": icp["id"]}), 404)
        assert_problem(client.post(f"/v1/leads/{bad}/apply-enrichment"), 404)
    assert_problem(client.post(f"/v1/leads/{uuid.uuid4()}/apply-enrichment"), 404)
    for body in ({"fields": ["email"]}, {"fields": "industry"}, {"fields": ["industry"] * 9}):
        assert_problem(client.post(f"/v1/leads/{lead_id}/apply-enrichment", json=body), 422)
    # The sandbox gives no title (`position`): nothing to apply for it.
    assert (
        "no title"
        in assert_problem(client.post(f"/v1/leads/{lead_id}/apply-enrichment", json={"fields": ["title"]}), 409)[
            "detail"
        ]
    )
    csv = f"email,firstName,lastName\n{unique_email('raw')},Not,Enriched\n"
    assert client.post("/v1/leads/import", content=csv, headers={"content-type": "text/csv"}).json()["created"] == 1
    raw = client.get("/v1/leads", params={"q": "Not Enriched", "filtered": "all", "sort": "-createdAt"}).json()
    not_enriched = raw["items"][0]["id"]
    assert (
        "not been enriched" in assert_problem(client.post(f"/v1/leads/{not_enriched}/apply-enrichment"), 409)["detail"]
    )
    assert_problem(client.patch(f"/v1/leads/{lead_id}", json={"companySize": -1}), 422)
    assert client.patch(f"/v1/leads/{lead_id}", json={"companySize": 120}).json()["companySizeMax"] is None
