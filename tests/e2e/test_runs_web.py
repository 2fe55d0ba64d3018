"""Lead runs and operations in the web client, in headless Chromium, as a new user of an org of its own: three
runs start from the Runs page and the fourth is refused saying why; a cancelled run frees its slot; a run's
progress reaches completion and a lead's receipts are read; two failed runs raise an alert on the Operations
page that escalates and is acknowledged there; the pages fit a phone."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from devstack.stack import Stack
from tests.e2e import test_web_client as web
from tests.e2e.helpers import OrgUser, org_user, until
from tests.e2e.test_icps import icp_body
from tests.e2e.test_lead_runs import FINISHED, make_run
from tests.fakes.google_calendar import FakeGoogleCalendar

pytestmark = pytest.mark.browser
# The browser tests' own fixtures: one Chromium for the module, a fresh page per test that fails on a page error.
browser, page = web.browser, web.page
SLOW = 30_000  # ms: runs, escalations and polls happen in the background


@pytest.fixture
def user(stack: Stack, base_url: str) -> Iterator[OrgUser]:
    """A new user in an org of its own, so its quotas and alerts are this test's alone; and its API client."""
    with org_user(stack, base_url, "runs-web") as made:
        yield made
        for run in made.client.get("/v1/lead-runs", params={"limit": 200}).json()["runs"]:  # leave the org quiet
            if run["state"] not in FINISHED:
                made.client.post(f"/v1/lead-runs/{run['id']}/cancel")


def sign_in_as(page: Page, user: OrgUser) -> None:
    page.goto("/")
    page.get_by_test_id("login-email").fill(user.email)
    page.get_by_test_id("login-password").fill(user.password)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("signed-in-email")).to_have_text(user.email)


def test_three_runs_start_the_fourth_is_refused_and_a_finished_run_s_receipts_are_read(
    page: Page, user: OrgUser, fake_calendar: FakeGoogleCalendar
) -> None:
    icp = user.client.post("/v1/icps", json=icp_body(minScore=0)).json()
    sign_in_as(page, user)
    page.get_by_test_id("nav-runs").click()
    expect(page.get_by_test_id("quota-active")).to_have_text("0 / 3")
    expect(page.get_by_test_id("run-icp")).to_have_value(icp["id"])
    page.get_by_test_id("run-limit").fill("3")
    page.get_by_test_id("run-calendar").check()
    page.get_by_test_id("run-provider").select_option("google")
    page.get_by_test_id("run-window").fill("14")
    default_subject = "A quick idea for {{ lead.companyName | default('your team') }}"
    expect(page.get_by_test_id("run-subject")).to_have_attribute("placeholder", default_subject)
    # No emails: four runs of one ICP work the same leads, and a lead a run has emailed is left out of the next
    # (test_runs_leave_leads_in_touch.py); here every run books each of its three leads.
    page.get_by_test_id("run-email").select_option("off")

    rows, states = page.get_by_test_id("run-row"), page.get_by_test_id("run-row-state")
    # The calendar holds every booking until released: the three runs stay active while the fourth is tried.
    fake_calendar.hold_inserts()
    try:
        for n in range(1, 4):
            page.get_by_test_id("run-start").click()
            expect(rows).to_have_count(n)
            expect(states.nth(0)).to_have_text("running")
        expect(page.get_by_test_id("quota-active")).to_have_text("3 / 3")
        expect(page.get_by_test_id("quota-active-runs").get_by_role("link")).to_have_count(3)

        page.get_by_test_id("run-start").click()
        refused = page.get_by_test_id("run-refused-detail")
        expect(refused).to_contain_text("3 of 3 runs are active")
        expect(refused).to_contain_text("a slot frees when one of them finishes")
        expect(rows).to_have_count(4)
        expect(states.nth(0)).to_have_text("created")  # saved, not started

        # Cancel the oldest from the list: its slot frees, and the refused run starts from its row.
        page.once("dialog", lambda d: d.accept())
        rows.nth(3).get_by_test_id("run-cancel").click()
        expect(states.nth(3)).to_have_text("cancelled")
        expect(page.get_by_test_id("quota-active")).to_have_text("2 / 3")
        rows.nth(0).get_by_test_id("run-row-start").click()
        expect(states.nth(0)).to_have_text("running")
        expect(page.get_by_test_id("quota-active")).to_have_text("3 / 3")
    finally:
        fake_calendar.release_inserts()

    # Progress comes in without a reload until every run has finished.
    for n in range(3):
        expect(states.nth(n)).to_have_text("completed", timeout=SLOW)
    bar = rows.nth(0).get_by_test_id("run-row-progress")
    expect(bar).to_have_attribute("aria-valuenow", "3")
    expect(bar).to_have_attribute("aria-valuemax", "3")
    expect(page.get_by_test_id("quota-active")).to_have_text("0 / 3")
    expect(page.get_by_test_id("quota-runs")).to_have_text("4 / 30")

    rows.nth(0).get_by_role("link").first.click()
    expect(page.get_by_test_id("run-state")).to_have_text("completed")
    expect(page.get_by_test_id("diag-run-sourced")).to_have_text("3")
    expect(page.get_by_test_id("diag-run-booked")).to_have_text("3")
    expect(page.get_by_test_id("run-progress")).to_have_attribute("aria-valuenow", "3")
    expect(page.get_by_test_id("run-lead-row")).to_have_count(3)
    expect(page.get_by_test_id("run-lead-row").nth(0).get_by_test_id("run-lead-outcome").first).to_be_visible()
    page.get_by_test_id("run-lead-open").first.click()
    drawer = page.get_by_test_id("receipts-drawer")
    meeting = drawer.get_by_test_id("receipt").filter(has_text="meeting")
    expect(meeting.get_by_test_id("receipt-status")).to_have_text("booked")
    expect(meeting.get_by_test_id("receipt-link")).to_have_attribute("href", re.compile(r"^https://"))
    expect(meeting.get_by_test_id("receipt-attempt")).to_have_text("1")
    page.get_by_test_id("drawer-close").click()
    expect(drawer).to_have_count(0)


def test_two_failed_runs_raise_an_alert_that_escalates_and_is_acknowledged_on_operations(
    page: Page, user: OrgUser
) -> None:
    failing = []
    for _ in range(2):  # LEAD_RUN_FAILURE_ALERT_THRESHOLD
        icp = user.client.post("/v1/icps", json=icp_body(minScore=0)).json()
        run = user.client.post("/v1/lead-runs", json={"icpId": icp["id"], "limit": 3}).json()
        assert user.client.delete(f"/v1/icps/{icp['id']}").status_code == 204  # its sourcing cannot find it
        failing.append(run["id"])

    sign_in_as(page, user)
    page.get_by_test_id("nav-runs").click()
    rows = page.get_by_test_id("run-row")
    expect(rows).to_have_count(2)
    for n in range(2):
        rows.nth(n).get_by_test_id("run-row-start").click()
    for n in range(2):
        expect(rows.nth(n).get_by_test_id("run-row-state")).to_have_text("failed", timeout=SLOW)
    rows.nth(0).get_by_role("link").first.click()
    expect(page.get_by_test_id("run-error")).to_contain_text("ICP")

    page.get_by_test_id("nav-operations").click()
    alert = page.get_by_test_id("alert-row")
    expect(alert).to_have_count(1, timeout=SLOW)
    expect(alert.get_by_test_id("alert-kind")).to_have_text("Run failures")
    expect(alert.get_by_test_id("alert-state")).to_have_text("open")
    expect(alert.get_by_test_id("alert-run")).to_have_count(2)
    # The test stack escalates an alert left open for 3 s, to the Slack fake.
    expect(alert.get_by_test_id("alert-escalated")).to_be_visible(timeout=SLOW)
    expect(alert.get_by_test_id("alert-escalation")).to_contain_text("sent to 127.0.0.1")
    alert.get_by_test_id("alert-acknowledge").click()
    expect(alert.get_by_test_id("alert-state")).to_have_text("acknowledged")
    expect(alert.get_by_test_id("alert-acknowledge")).to_have_count(0)
    assert until(
        lambda: user.client.get("/v1/lead-runs/alerts").json()["alerts"][0]["state"] == "acknowledged",
        what="the acknowledgement at the API",
    )
    expect(page.get_by_test_id("queue-breached")).to_be_visible()

    alert.get_by_test_id("alert-run").first.click()  # from the alert to the run it names
    expect(page.get_by_test_id("run-state")).to_have_text("failed")


def test_a_run_of_more_leads_than_a_page_shows_them_all_on_asking(page: Page, user: OrgUser) -> None:
    # A dry run: its 250 leads are sourced and worked with nothing leaving the system.
    run = make_run(user.client, limit=250, dryRun=True)
    assert user.client.post(f"/v1/lead-runs/{run['id']}/jobs").status_code == 202
    until(lambda: user.client.get(f"/v1/lead-runs/{run['id']}").json()["progress"]["total"] == 250,
          what="the run's 250 leads sourced", timeout_s=120)  # fmt: skip
    sign_in_as(page, user)
    page.goto(f"/#/runs/{run['id']}")
    rows = page.get_by_test_id("run-lead-row")
    expect(rows).to_have_count(200, timeout=SLOW)  # a page: the API's largest
    expect(page.get_by_test_id("run-leads-shown")).to_have_text("200 shown")
    page.get_by_test_id("run-leads-more").click()
    expect(rows).to_have_count(250, timeout=SLOW)
    expect(page.get_by_test_id("run-leads-more")).to_have_count(0)  # nothing further to read: each lead once


def test_the_runs_and_operations_pages_fit_a_phone(browser: Browser, base_url: str, user: OrgUser) -> None:
    icp = user.client.post("/v1/icps", json=icp_body(minScore=0)).json()
    run = user.client.post("/v1/lead-runs", json={"icpId": icp["id"], "limit": 2}).json()
    user.client.post(f"/v1/lead-runs/{run['id']}/jobs").raise_for_status()
    until(lambda: user.client.get(f"/v1/lead-runs/{run['id']}").json()["state"] in FINISHED, what="the run to end")
    context = browser.new_context(base_url=base_url, viewport={"width": 390, "height": 844})
    try:
        phone = context.new_page()
        sign_in_as(phone, user)
        for path in ("#/runs", f"#/runs/{run['id']}", "#/operations"):
            phone.goto(f"/{path}")
            expect(phone.locator("main h1")).to_be_visible()
            phone.wait_for_load_state("networkidle")
            width = phone.evaluate("document.scrollingElement.scrollWidth")
            assert width <= 390, f"{path} is {width} px wide on a 390 px screen"
        phone.goto(f"/#/runs/{run['id']}")
        phone.get_by_test_id("run-lead-open").first.click()
        expect(phone.get_by_test_id("receipt").first).to_be_visible()
        drawer_width = phone.get_by_test_id("receipts-drawer").evaluate("d => d.scrollWidth")
        assert drawer_width <= 390, f"the receipts drawer is {drawer_width} px wide on a 390 px screen"
    finally:
        context.close()
