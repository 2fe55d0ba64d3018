"""An ICP's rules as a new user met them (#18's review): every mistake in a form said in one round, in the form's
words ("Max employees", not "company_size_max"); a new minimum score applied at once to the leads the ICP already
has (leads scored 40-59 stayed in the list when the minimum went from 40 to 60), said after saving; and a viewer
offered no tag to remove. Through the REST API and in headless Chromium, each in an org of its own."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from devstack.stack import Stack
from tests.e2e import test_web_client as web
from tests.e2e.helpers import OrgUser, access_token, assert_problem, create_user, org_user, unique_email
from tests.e2e.test_icps import icp_body
from tests.e2e.test_runs_web import sign_in_as
from tests.e2e.test_search_runs import all_leads, wait_run

pytestmark = pytest.mark.browser
browser, page = web.browser, web.page
SLOW = 30_000  # ms
WHY = re.compile("Viewers can look but not change anything")


@pytest.fixture
def user(stack: Stack, base_url: str) -> Iterator[OrgUser]:
    """A user in an org of its own: its ICP's leads are the test's alone."""
    with org_user(stack, base_url, "icp-rules") as made:
        yield made


def searched(client: httpx.Client, **rules: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """An ICP (these rules) whose sandbox search has run: the ICP, and every one of its leads."""
    icp = client.post("/v1/icps", json=icp_body(**rules)).json()
    run = client.post(f"/v1/icps/{icp['id']}/search", json={"source": "sandbox", "limit": 200}).json()
    assert wait_run(client, icp["id"], run["runId"])["status"] == "completed"
    return icp, all_leads(client, icpId=icp["id"], filtered="all")


def test_every_mistake_is_said_at_once_in_the_form_s_words(user: OrgUser) -> None:
    bad = {"name": " ", "titles": [], "companySizeMin": 500, "companySizeMax": 50}
    problem = assert_problem(user.client.post("/v1/icps", json=bad), 422)
    said = {e["field"]: e["message"] for e in problem["errors"]}
    assert said == {
        "name": "is required",
        "titles": "must list at least one job title",
        "companySizeMin": "must not be more than max employees (50)",
    }


def test_a_new_minimum_score_hides_and_shows_the_icp_s_leads_at_once(user: OrgUser) -> None:
    api = user.client
    icp, leads = searched(api, minScore=40)
    assert all(lead["filtered"] == (lead["score"] < 40) for lead in leads)
    between = [lead for lead in leads if 40 <= lead["score"] < 60]
    assert between and any(lead["score"] >= 60 for lead in leads), sorted(lead["score"] for lead in leads)
    body = icp_body(name=icp["name"], minScore=60)

    raised = api.put(f"/v1/icps/{icp['id']}", json=body)
    assert raised.status_code == 200, raised.text
    assert (raised.json()["minScore"], raised.json()["leadsHidden"], raised.json()["leadsShown"]) == (
        60, len(between), 0,
    )  # fmt: skip
    shown = all_leads(api, icpId=icp["id"])  # the default list: hidden ones left out
    assert shown and min(lead["score"] for lead in shown) >= 60
    assert len(shown) == len([lead for lead in leads if lead["score"] >= 60])

    lowered = api.put(f"/v1/icps/{icp['id']}", json=body | {"minScore": 40}).json()
    assert (lowered["leadsHidden"], lowered["leadsShown"]) == (0, len(between))
    assert len(all_leads(api, icpId=icp["id"])) == len(leads) - len([lead for lead in leads if lead["score"] < 40])
    renamed = api.put(f"/v1/icps/{icp['id']}", json=body | {"minScore": 40, "name": f"{icp['name']} 2"}).json()
    assert (renamed["leadsHidden"], renamed["leadsShown"]) == (0, 0)  # the same minimum: nothing to apply


def test_the_form_says_every_mistake_at_once_and_what_a_new_minimum_did(page: Page, user: OrgUser) -> None:
    sign_in_as(page, user)
    page.goto("/#/icps/new")
    page.get_by_test_id("icp-size-min").fill("500")
    page.get_by_test_id("icp-size-max").fill("50")
    page.get_by_test_id("icp-save").click()
    expect(page.locator(".field-error")).to_have_text(
        ["is required", "must list at least one job title", "must not be more than max employees (50)"]
    )
    expect(page.get_by_test_id("icp-name")).to_be_focused()  # the first field at fault

    name = f"Min score {uuid.uuid4().hex[:6]}"
    page.get_by_test_id("icp-name").fill(name)
    page.get_by_test_id("icp-titles").fill("VP Sales")
    page.get_by_test_id("icp-titles").press("Enter")
    page.get_by_test_id("icp-size-max").fill("1000")
    page.get_by_test_id("icp-min-score").fill("40")
    page.get_by_test_id("icp-save").click()
    expect(page).to_have_url(re.compile(r"#/icps/[0-9a-f-]{36}$"), timeout=SLOW)
    expect(page.locator(".field-error")).to_have_count(0)
    icp_id = page.url.rsplit("/", 1)[1]
    run = user.client.post(f"/v1/icps/{icp_id}/search", json={"source": "sandbox", "limit": 200}).json()
    assert wait_run(user.client, icp_id, run["runId"])["status"] == "completed"
    leads = all_leads(user.client, icpId=icp_id, filtered="all")
    newly = len([lead for lead in leads if 40 <= lead["score"] < 60])
    assert newly > 0

    page.get_by_test_id("icp-min-score").fill("60")
    page.get_by_test_id("icp-save").click()
    expect(page.get_by_test_id("icp-saved-effects")).to_have_text(
        f"Minimum score 40 → 60: this ICP’s leads scoring under 60 are hidden from the leads list "
        f"({newly} {'lead' if newly == 1 else 'leads'} hidden).",
        timeout=SLOW,
    )
    # A change to the rules the scores are made of: the page says the scores wait to be scored again.
    page.get_by_test_id("icp-weight-title").fill("40")
    page.get_by_test_id("icp-weight-keyword").fill("0")
    page.get_by_test_id("icp-save").click()
    expect(page.get_by_test_id("icp-saved-effects")).to_contain_text("keep the scores they have", timeout=SLOW)

    page.get_by_role("link", name="Leads for this ICP").click()
    expect(page.get_by_test_id("lead-row").first).to_be_visible(timeout=SLOW)
    scores = [int(s) for s in page.get_by_test_id("lead-row-score").all_inner_texts()]
    assert scores and min(scores) >= 60, scores


def test_a_viewer_is_offered_no_tag_to_remove(page: Page, stack: Stack, base_url: str, user: OrgUser) -> None:
    icp = user.client.post("/v1/icps", json=icp_body()).json()
    email, password = unique_email("icp-viewer"), uuid.uuid4().hex
    create_user(stack, email, password, org=f"icp-rules {user.email}", role="viewer")  # org_user's org name
    viewer = OrgUser(email, password, httpx.Client(base_url=base_url, timeout=30))
    viewer.client.headers["authorization"] = f"Bearer {access_token(base_url, email, password)}"
    with viewer.client:
        assert viewer.client.get("/v1/me").json()["role"] == "viewer"
        sign_in_as(page, viewer)
        page.goto(f"/#/icps/{icp['id']}")
        removes = page.get_by_test_id("tag-remove")
        # Every tag of every list: 2 titles, 1 industry, 2 locations, 1 keyword.
        expect(removes).to_have_count(6, timeout=SLOW)
        for remove in removes.all():
            expect(remove).to_be_disabled()
            expect(remove).to_have_attribute("title", WHY)
        expect(page.get_by_test_id("icp-titles")).to_be_disabled()
        expect(page.get_by_test_id("icp-titles")).to_have_attribute("title", WHY)
        expect(page.get_by_test_id("icp-save")).to_be_disabled()
