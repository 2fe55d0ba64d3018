"""A lead run in words (#18): a lead's receipts say each status once ("simulated" was said twice for a dry run),
show times in the reader's own zone and locale (never ISO text) and fold ids under Details; the new-run form shows
SMS as not set up, with the way to the settings, when Twilio is not, as it does a calendar."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Page, Route, expect

from devstack.stack import Stack
from tests.e2e import test_web_client as web
from tests.e2e.helpers import OrgUser, org_user
from tests.e2e.test_icps import icp_body
from tests.e2e.test_lead_runs import all_receipts, finished, make_run
from tests.e2e.test_runs_web import sign_in_as

pytestmark = pytest.mark.browser
browser, page = web.browser, web.page
SLOW = 30_000  # ms
# The reader's zone: far from UTC, and off by half an hour, so a time shown in UTC cannot pass for it.
ZONE = "Asia/Kolkata"
ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.fixture
def user(stack: Stack, base_url: str) -> Iterator[OrgUser]:
    with org_user(stack, base_url, "receipts") as made:
        yield made


def test_a_dry_run_s_receipts_say_each_status_once_in_words_times_in_the_reader_s_zone(
    browser: Browser, base_url: str, user: OrgUser
) -> None:
    run = make_run(
        user.client, limit=2, dryRun=True, channels={"email": "send", "call": True},
        calendar={"enabled": True, "provider": "sandbox", "windowDays": 14},
    )  # fmt: skip
    user.client.post(f"/v1/lead-runs/{run['id']}/jobs").raise_for_status()
    assert finished(user.client, run["id"])["state"] == "completed"
    # A lead with an email: its receipts are a meeting chosen and an email, simulated, and a call task skipped (the
    # sandbox's leads have no phone to call).
    lead_id, receipts = next((lead, rs) for lead, rs in all_receipts(user.client, run["id"]).items()
                             if any(r["kind"] == "email" and r["status"] == "simulated" for r in rs))  # fmt: skip
    meeting = next(r for r in receipts if r["kind"] == "meeting")
    email = next(r for r in receipts if r["kind"] == "email")
    assert meeting["status"] == "simulated" and meeting["startsAt"] and meeting["endsAt"]
    assert not ISO.search(meeting["detail"] or "") and not ISO.search(meeting["target"] or "")

    context = browser.new_context(base_url=base_url, locale="en-GB", timezone_id=ZONE)
    try:
        opened = context.new_page()
        sign_in_as(opened, user)
        opened.goto(f"/#/runs/{run['id']}")
        row = _row_of(opened, user, run["id"], lead_id)
        row.get_by_test_id("run-lead-open").click()
        drawer = opened.get_by_test_id("receipts-drawer")
        cards = drawer.get_by_test_id("receipt")
        expect(cards).to_have_count(len(receipts), timeout=SLOW)

        # Each status once, in words: "simulated (dry run)", never "simulated simulated".
        for card in cards.all():
            if "Call task" in card.get_by_test_id("receipt-kind").inner_text():
                expect(card.get_by_test_id("receipt-status")).to_have_text("skipped (dry run)")
                expect(card.get_by_test_id("receipt-detail")).to_have_text("the lead has no phone number")
                continue
            expect(card.get_by_test_id("receipt-status")).to_have_text("simulated (dry run)")
            assert card.inner_text().lower().count("simulated") == 1, card.inner_text()
        # The meeting's time in the reader's zone and locale, not ISO text and not UTC.
        start = dt.datetime.fromisoformat(meeting["startsAt"].replace("Z", "+00:00")).astimezone(ZoneInfo(ZONE))
        end = dt.datetime.fromisoformat(meeting["endsAt"].replace("Z", "+00:00")).astimezone(ZoneInfo(ZONE))
        when = cards.filter(has_text="Meeting").get_by_test_id("receipt-when")
        expect(when).to_contain_text(f"{start:%H:%M}")
        expect(when).to_contain_text(f"{end:%H:%M}")
        expect(when).to_contain_text(f"{start.day} {start:%b}")  # en-GB: "8 Dec 2026, 15:30–16:00"
        # No ISO time and no id on show; the ids are folded under Details, the message's among them.
        shown = drawer.inner_text()
        assert not ISO.search(shown), shown
        assert not UUID.search(shown), shown
        email_card = cards.filter(has_text="Email")
        target = email_card.get_by_test_id("receipt-target")
        expect(target).to_be_hidden()
        email_card.get_by_test_id("receipt-ids").locator("summary").click()
        expect(target).to_have_text(email["target"])
    finally:
        context.close()


def _row_of(page: Page, user: OrgUser, run_id: str, lead_id: str):  # type: ignore[no-untyped-def]
    """The run page's row of that lead, found by its name as the run's leads list gives it."""
    lead = next(lead for lead in user.client.get(f"/v1/lead-runs/{run_id}/leads").json()["leads"]
                if lead["leadId"] == lead_id)  # fmt: skip
    return page.get_by_test_id("run-lead-row").filter(has_text=lead["name"] or lead["email"]).first


def _twilio_not_set_up(page: Page) -> None:
    """GET /v1/provider-keys as a stack without Twilio answers it (the test stack sets Twilio, against its fake)."""

    def answer(route: Route) -> None:
        reply = route.fetch()
        body = reply.json()
        for provider in body["providers"]:
            if provider["name"] == "twilio":
                provider["configured"] = False
        route.fulfill(response=reply, json=body)

    page.route("**/v1/provider-keys", answer)


def test_sms_is_offered_only_when_twilio_is_set_up(page: Page, user: OrgUser) -> None:
    user.client.post("/v1/icps", json=icp_body(minScore=0)).raise_for_status()
    sign_in_as(page, user)
    page.goto("/#/runs")
    sms = page.get_by_test_id("run-sms")
    expect(sms).to_be_enabled(timeout=SLOW)  # the test stack's Twilio is set up
    expect(page.get_by_test_id("run-sms-not-set-up")).to_have_count(0)

    _twilio_not_set_up(page)
    page.reload()  # a new page asks for the providers again
    expect(sms).to_be_disabled(timeout=SLOW)
    expect(sms).not_to_be_checked()
    label = page.locator("label", has=sms)
    expect(label).to_contain_text("SMS (not set up: SMS_PROVIDER=twilio, TWILIO_ACCOUNT_SID")
    expect(label).to_have_attribute("title", re.compile(r"^Not set up: texts go to the sandbox"))
    hint = page.get_by_test_id("run-sms-not-set-up")
    expect(hint.get_by_role("link")).to_have_attribute("href", "#/settings/access")
    # The rest of the form is as offered: a run starts, with no texts.
    page.get_by_test_id("run-limit").fill("1")
    page.get_by_test_id("run-dry-run").check()
    page.get_by_test_id("run-start").click()
    expect(page.get_by_test_id("run-row")).to_have_count(1, timeout=SLOW)
    [made] = user.client.get("/v1/lead-runs").json()["runs"]
    assert made["channels"]["sms"] is False and made["dryRun"] is True
