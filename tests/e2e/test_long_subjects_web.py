"""A long subject with no space in it, in headless Chromium, as a new user of an org of its own: an email whose
subject is "o@fd.io" 71 times (497 characters) made the inbox 4,200 px wide, its open conversation 6,800 px, the
captured mail 4,700 px, and cut the messages list's subject column off; a run whose rendered subject is too long
(its leads failed, with long outcome chips) squeezed each lead's name cell to nothing on a phone. Now the subject
wraps in headings and bodies, is cut with an ellipsis on one line in lists, and no page scrolls sideways, at
1,440 px or at 390 px."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from devstack.stack import Stack
from tests.e2e import test_web_client as web
from tests.e2e.helpers import OrgUser, org_user, until
from tests.e2e.test_lead_runs import FINISHED, make_run
from tests.e2e.test_runs_web import sign_in_as

pytestmark = pytest.mark.browser
browser, page = web.browser, web.page
SLOW = 20_000  # ms
SUBJECT = "o@fd.io" * 71  # 497 characters, not one space
WIDTHS = (1440, 390)


@pytest.fixture
def user(stack: Stack, base_url: str) -> Iterator[OrgUser]:
    """A new user in an org of its own: its inbox, mail and runs are this test's alone."""
    with org_user(stack, base_url, "long-subject") as made:
        yield made
        for run in made.client.get("/v1/lead-runs", params={"limit": 200}).json()["runs"]:
            if run["state"] not in FINISHED:
                made.client.post(f"/v1/lead-runs/{run['id']}/cancel")


def _sideways(page: Page) -> int:
    """How far the page scrolls sideways, in px (0: it fits the screen)."""
    width, shown = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    return max(0, width - shown)


def test_a_long_unbroken_subject_keeps_every_mail_page_to_the_screen(
    browser: Browser, base_url: str, user: OrgUser
) -> None:
    address = f"long-{uuid.uuid4().hex[:8]}-{'x' * 60}@example.com"  # a long address too, unbroken
    lead = user.client.post("/v1/leads", json={"email": address, "firstName": "Lou", "lastName": "Long"})
    assert lead.status_code in (200, 201, 202), lead.text
    sent = user.client.post(
        "/v1/messages",
        json={"to": address, "leadId": lead.json()["leadId"], "subject": SUBJECT, "text": "Hello " + "w" * 400},
        headers={"idempotency-key": uuid.uuid4().hex},
    )
    assert sent.status_code in (200, 201, 202), sent.text
    thread_id = sent.json()["threadId"]

    def captured() -> dict | None:
        mail = user.client.get("/v1/captured-mail", params={"limit": 200}).json()["mail"]
        return next((m for m in mail if m["messageId"] == sent.json()["rfc822MessageId"]), None)

    mail = until(captured, what="the captured email")
    pages = {
        "/inbox?tab=all": "thread-item",
        f"/inbox/{thread_id}?tab=all": "thread-title",
        "/mail": "mail-item",
        f"/mail/{mail['id']}": "mail-detail",
        "/inbox/messages?category=sent": "message-row",
    }
    wide: dict[str, int] = {}
    for width in WIDTHS:
        context = browser.new_context(base_url=base_url, viewport={"width": width, "height": 900})
        try:
            opened = context.new_page()
            sign_in_as(opened, user)
            for path, testid in pages.items():
                opened.goto(f"/#{path}")
                expect(opened.get_by_test_id(testid).first).to_be_visible(timeout=SLOW)
                expect(opened.locator("main .spinner")).to_have_count(0, timeout=SLOW)
                if over := _sideways(opened):
                    wide[f"{path} at {width} px"] = over
                if path.startswith("/inbox?"):  # in the list, the subject is one line, cut with an ellipsis
                    row = opened.get_by_test_id("thread-item").first.bounding_box()
                    assert row and row["height"] < 200, f"the conversation's row is {row} at {width} px"
            opened.goto(f"/#/inbox/{thread_id}?tab=all")
            title = opened.get_by_test_id("thread-title")
            expect(title).to_have_text(SUBJECT, timeout=SLOW)  # the heading shows it all, wrapped
            box = title.bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= width, f"the heading is {box} at {width} px"
        finally:
            context.close()
    assert wide == {}, f"pages wider than the screen, by px: {wide}"


def test_a_run_s_lead_names_stay_in_view_on_a_phone(browser: Browser, base_url: str, user: OrgUser) -> None:
    # Each of the 71 variables is the lead's whole address: too long once rendered, so every email is refused and
    # each lead failed, with its outcome chips, its reason and a "Try again" beside its status.
    run = make_run(user.client, limit=4, dryRun=True, email={"subject": "{{lead.email}}" * 71})
    user.client.post(f"/v1/lead-runs/{run['id']}/jobs").raise_for_status()
    until(
        lambda: user.client.get(f"/v1/lead-runs/{run['id']}").json()["state"] in FINISHED,
        timeout_s=90,
        what="the run to end",
    )
    context = browser.new_context(base_url=base_url, viewport={"width": 390, "height": 844})
    try:
        phone = context.new_page()
        sign_in_as(phone, user)
        phone.goto(f"/#/runs/{run['id']}")
        rows = phone.get_by_test_id("run-lead-row")
        expect(rows.first).to_be_visible(timeout=SLOW)
        expect(phone.get_by_test_id("run-lead-outcome").first).to_be_visible(timeout=SLOW)
        assert _sideways(phone) == 0, f"the run page is {_sideways(phone)} px wider than a 390 px screen"
        for i in range(rows.count()):
            row = rows.nth(i)
            cell = row.locator("td").first.bounding_box()
            name = row.get_by_test_id("run-lead-open")
            named = name.bounding_box()
            assert cell and cell["width"] > 40, f"lead {i}'s name cell is {cell}"
            assert named and named["width"] > 0 and named["x"] >= 0 and named["x"] + named["width"] <= 390, (
                f"lead {i}'s name is at {named}"
            )
            assert named["x"] + named["width"] <= cell["x"] + cell["width"] + 1, (
                f"lead {i}'s name spills: {named} {cell}"
            )
            # The status comes before the outcomes, not below them.
            if row.get_by_test_id("run-lead-outcome").count():
                status = row.get_by_test_id("run-lead-status").bounding_box()
                outcome = row.get_by_test_id("run-lead-outcome").first.bounding_box()
                assert status and outcome and status["y"] < outcome["y"], (
                    f"lead {i}: status {status}, outcome {outcome}"
                )
    finally:
        context.close()
