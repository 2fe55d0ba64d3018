"""In Chromium (#18): a lead's page says, field by field, whether the lead's value or the provider's holds, in words
("VP", not "vp"); the user links the lead to an ICP, applies the provider's values one field or all at once (a hand
edit always holding) and watches the score change; the leads table links a selection to an ICP and scores it."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e import test_web_client as web
from tests.e2e.helpers import unique_email
from tests.e2e.test_lead_scoring import enriched_lead, new_icp
from tests.e2e.test_web_client import sign_in

pytestmark = pytest.mark.browser
# The browser tests' own fixtures: one Chromium for the module, a fresh page per test that fails on a page error.
browser, page = web.browser, web.page


def _score(page: Page) -> int:
    return int(page.get_by_test_id("lead-score").inner_text())


def test_a_lead_page_links_an_icp_applies_the_providers_values_and_keeps_a_hand_edit(
    page: Page, client: httpx.Client
) -> None:
    icp = new_icp(client)
    lead = enriched_lead(client, title="VP Sales")
    sign_in(page)
    page.goto(f"/#/leads/{lead['id']}")

    found = page.get_by_test_id("lead-enrichment")
    seniority = found.locator('[data-field="seniority"]')
    expect(seniority.get_by_test_id("provider-value-theirs")).to_have_text("VP")  # words, not the code "vp"
    expect(seniority.get_by_test_id("provider-value-own")).to_have_text("none")
    expect(seniority.get_by_test_id("provider-value-holds")).to_have_text("The lead’s own")
    expect(found.locator('[data-field="companySize"]').get_by_test_id("provider-value-theirs")).to_contain_text(
        "employees"
    )
    expect(found).not_to_contain_text("c_suite")
    expect(page.get_by_test_id("lead-score")).to_have_text("0")

    # Not linked: the user links it to the ICP and it is scored by the ICP's rules.
    page.get_by_test_id("lead-icp-select").select_option(icp["id"])
    page.get_by_test_id("lead-score-submit").click()
    expect(page.get_by_test_id("lead-score-result")).to_contain_text(f"Linked to {icp['name']} and scored")
    expect(page.get_by_test_id("lead-score")).not_to_have_text("0")
    linked = _score(page)

    # One field: the provider's seniority becomes the lead's own, and the score moves by the rule's weight.
    seniority.get_by_test_id("provider-apply").click()
    result = page.get_by_test_id("provider-apply-result")
    after = linked + icp["weights"]["seniority"]
    expect(result).to_have_text(f"Applied seniority. Score {linked} → {after}.")
    expect(page.get_by_test_id("lead-score")).to_have_text(str(after))
    expect(seniority.get_by_test_id("provider-value-holds")).to_have_text("Same")
    expect(seniority.get_by_test_id("provider-apply")).to_have_count(0)
    expect(page.get_by_test_id("lead-edit")).to_be_visible()

    # A hand edit holds: the location typed by the user is not applied over.
    page.get_by_test_id("lead-edit").click()
    page.get_by_test_id("lead-edit-location").fill("Paris, FR")
    page.get_by_test_id("lead-edit-save").click()
    location = found.locator('[data-field="location"]')
    expect(location.get_by_test_id("provider-value-holds")).to_have_text("Your edit")
    expect(location.get_by_test_id("provider-apply")).to_have_count(0)

    page.get_by_test_id("provider-apply-all").click()
    expect(result).to_contain_text("Kept your edit of location.")
    expect(location.get_by_test_id("provider-value-own")).to_have_text("Paris, FR")
    expect(page.get_by_test_id("provider-apply-all")).to_have_count(0)  # nothing left to apply
    for row in found.get_by_test_id("provider-value").all():
        expect(row.get_by_test_id("provider-value-holds")).to_have_text(re.compile("^(Same|Your edit)$"))
    stored = client.get(f"/v1/leads/{lead['id']}").json()
    expect(page.get_by_test_id("lead-score")).to_have_text(str(stored["score"]))
    assert stored["location"] == "Paris, FR" and stored["seniority"] == "vp" and "location" in stored["editedFields"]


def test_the_leads_table_links_a_selection_to_an_icp_and_scores_it(page: Page, client: httpx.Client) -> None:
    icp = new_icp(client, minScore=10)
    company = f"Linked {uuid.uuid4().hex[:8]}"
    ids = []
    for i in range(3):
        body = {"email": unique_email("link"), "firstName": f"Link{i}", "lastName": "Lead", "companyName": company,
                "title": "VP Sales"}  # fmt: skip
        ids.append(client.post("/v1/leads", json=body).json()["leadId"])
    sign_in(page)
    page.goto(f"/#/leads?q={company.split()[1]}&filtered=all")
    rows = page.get_by_test_id("lead-row")
    expect(rows).to_have_count(3, timeout=20_000)
    for row in rows.all():
        expect(row.get_by_test_id("lead-row-score")).to_have_text("0")
    page.get_by_test_id("leads-select-all").check()
    page.get_by_test_id("leads-link-icp").click()
    panel = page.get_by_test_id("link-icp-panel")
    expect(panel).to_contain_text("Link 3 leads to an ICP")
    panel.get_by_test_id("link-icp-select").select_option(icp["id"])
    panel.get_by_test_id("link-icp-submit").click()
    expect(page.get_by_test_id("leads-bulk-result")).to_have_text(f"3 leads linked to {icp['name']} and scored")
    expect(panel).to_have_count(0)
    scores = [client.get(f"/v1/leads/{i}").json() for i in ids]
    assert all(lead["icpId"] == icp["id"] and lead["score"] > 0 for lead in scores)
    for row in rows.all():  # the table shows the new scores once read again
        expect(row.get_by_test_id("lead-row-score")).not_to_have_text("0")

    # Scored again by their own ICP once its rules change.
    rules = {k: v for k, v in icp.items() if k not in ("id", "createdAt", "updatedAt")}
    assert client.put(f"/v1/icps/{icp['id']}", json={**rules, "minScore": 95}).status_code == 200
    page.get_by_test_id("leads-select-all").check()
    page.get_by_test_id("leads-link-icp").click()
    panel.get_by_test_id("link-icp-select").select_option("")
    expect(panel.get_by_test_id("link-icp-submit")).to_have_text("Score again")
    panel.get_by_test_id("link-icp-submit").click()
    expect(page.get_by_test_id("leads-bulk-result")).to_have_text(
        "3 leads scored again, 3 under the ICP’s minimum score (shown with filtered leads)"
    )
