"""Live pages and the home dashboard in headless Chromium, each as a user of an org of its own: a lead's reply
appears in the inbox list from its live event, without a reload (and long before the fallback poll would have
read it); another org's events never reach the page; the dashboard's figures, charts and links agree with the
lists behind them (a screenshot of it is saved by the run)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from devstack.stack import ROOT, Stack
from tests.e2e import test_web_client as web
from tests.e2e.helpers import OrgUser, org_user, until
from tests.e2e.test_dashboard import dashboard, email_lead, populate
from tests.e2e.test_runs_web import sign_in_as

pytestmark = pytest.mark.browser
browser, page = web.browser, web.page
LIVE_MS = 10_000  # well inside the 15 s fallback poll: an update this fast came from the stream
SCREENSHOTS = ROOT / ".local" / "screenshots"


@pytest.fixture
def user(stack: Stack, base_url: str) -> Iterator[OrgUser]:
    with org_user(stack, base_url, "live-web") as made:
        yield made


@pytest.fixture
def stranger(stack: Stack, base_url: str) -> Iterator[OrgUser]:
    with org_user(stack, base_url, "live-stranger") as made:
        yield made


def hear_events(page: Page) -> None:
    """Record every live event the page's own stream delivers (the same module instance the app uses)."""
    page.evaluate(
        """async () => {
          const live = await import('/src/live.js');
          window.__heard = [];
          live.listen((e) => window.__heard.push({ type: e.type, data: e.data }));
        }"""
    )


def heard_threads(page: Page) -> set[str]:
    return set(page.evaluate("() => window.__heard.map((e) => e.data.threadId || e.data.message?.threadId)"))


def test_a_reply_appears_in_the_inbox_live_and_another_org_s_never_arrives(
    page: Page, user: OrgUser, stranger: OrgUser
) -> None:
    mine, mine_mail = email_lead(user.client, "Live inbox")
    theirs, theirs_mail = email_lead(stranger.client, "Not yours")
    sign_in_as(page, user)
    page.goto("/#/inbox?tab=all")
    expect(page.get_by_test_id("live-state")).to_have_attribute("data-state", "live", timeout=LIVE_MS)
    hear_events(page)
    item = page.get_by_test_id("thread-item").filter(has_text="Live inbox")
    expect(item).to_contain_text("· 1")  # one message so far
    expect(page.get_by_test_id("inbox-count-needs_reply")).to_have_text("0")

    # The other org's lead replies first, then ours: had the other org's event been sent to this page,
    # it would have come before ours.
    assert stranger.client.post(f"/v1/captured-mail/{theirs_mail['id']}/reply", json={"text": "No."}).is_success
    until(lambda: stranger.client.get(f"/v1/inbox/threads/{theirs['threadId']}").json()["messageCount"] == 2)
    assert user.client.post(f"/v1/captured-mail/{mine_mail['id']}/reply", json={"text": "Yes!"}).is_success

    expect(item).to_contain_text("· 2", timeout=LIVE_MS)  # no reload, no poll: the stream said so
    expect(page.get_by_test_id("inbox-count-needs_reply")).to_have_text("1")
    heard = heard_threads(page)
    assert mine["threadId"] in heard and theirs["threadId"] not in heard
    assert page.evaluate("() => performance.getEntriesByType('navigation').length") == 1  # never reloaded


def test_the_dashboard_agrees_with_the_lists_it_links_to(page: Page, user: OrgUser) -> None:
    populate(user.client)
    board = until(lambda: (b := dashboard(user.client)) and b["totals"]["replied"] == 1 and b, 30, "the reply counted")
    sign_in_as(page, user)  # home is the dashboard
    expect(page.get_by_test_id("dashboard")).to_be_visible()
    expect(page.get_by_test_id("live-state")).to_have_attribute("data-state", "live", timeout=LIVE_MS)
    expect(page.get_by_test_id("figure-sent")).to_have_text("3")
    expect(page.get_by_test_id("figure-replied")).to_have_text("1")
    expect(page.get_by_test_id("figure-replied-sub")).to_have_text("reply rate 33% (replies ÷ emails sent)")
    expect(page.get_by_test_id("figure-bounced")).to_have_text("0")
    expect(page.get_by_test_id("figure-leads")).to_have_text("3")
    expect(page.get_by_test_id("attention-calm")).to_be_visible()
    today = board["days"][-1]["day"]  # the browser's zone may differ from the fixture's: read it from the page
    bars = page.locator("[data-testid^='bar-sent-']")
    assert sum(int(v) for v in bars.evaluate_all("(bars) => bars.map((b) => b.dataset.value)")) == 3
    shot = SCREENSHOTS / "dashboard.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1440, "height": 900})
    page.screenshot(path=str(shot), full_page=True)
    if os.environ.get("README_SCREENSHOTS") == "1":  # refresh the README's picture from this run
        page.screenshot(path=str(Path(ROOT) / "docs" / "images" / "dashboard.png"), full_page=True)

    # A new email moves the figure live, without a reload.
    email_lead(user.client, "One more")
    expect(page.get_by_test_id("figure-sent")).to_have_text("4", timeout=LIVE_MS)

    # Each figure opens the list it counts, with the same number.
    page.get_by_test_id("figure-sent-link").click()
    expect(page).to_have_url(re.compile(r"#/inbox/messages\?category=sent&days=14$"))
    expect(page.get_by_test_id("messages-total")).to_have_text("4")
    expect(page.get_by_test_id("message-row")).to_have_count(4)
    page.get_by_test_id("messages-tab-replied").click()
    expect(page.get_by_test_id("messages-total")).to_have_text("1")
    expect(page.get_by_test_id("message-row")).to_contain_text("Re: Figures")
    page.get_by_test_id("messages-back").click()
    # A day's bar opens that day's list.
    day_bar = page.locator("[data-testid^='bar-sent-']").filter(has=page.locator("rect")).last
    value = day_bar.get_attribute("data-value")
    day = day_bar.get_attribute("data-testid").removeprefix("bar-sent-")
    day_bar.click()
    expect(page).to_have_url(re.compile(rf"day={day}"))
    expect(page.get_by_test_id("messages-total")).to_have_text(value or "0")
    assert today  # the window ends today
    page.get_by_test_id("messages-back").click()
    page.get_by_test_id("figure-leads-link").click()
    expect(page).to_have_url(re.compile(r"#/leads\?filtered=all"))
    expect(page.get_by_test_id("lead-row")).to_have_count(4)
