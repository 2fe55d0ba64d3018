"""Issue #18's inbox findings in the web client, in headless Chromium, as a new user of an org of its own: a lead
run's dry run is no conversation in the Inbox (nor in its tabs' counts), and a dry run aimed at a real conversation
leaves it as it was; a phone number is suppressed by hand in Settings, found as it is written, refused at its box
when it lacks its country code, and removed."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from devstack.stack import Stack
from tests.e2e import test_web_client as web
from tests.e2e.helpers import OrgUser, org_user, unique_email, until
from tests.e2e.test_dry_runs_stay_out_of_the_inbox import dry_run_emails
from tests.e2e.test_mail_room import _captured, _send
from tests.e2e.test_runs_web import sign_in_as
from tests.e2e.test_sms import _number

pytestmark = pytest.mark.browser
# The browser tests' own fixtures: one Chromium for the module, a fresh page per test that fails on a page error.
browser, page = web.browser, web.page
SLOW = 30_000  # ms


@pytest.fixture
def user(stack: Stack, base_url: str) -> Iterator[OrgUser]:
    """A new user in an org of its own: its inbox holds only what this test puts there."""
    with org_user(stack, base_url, "inbox-web") as made:
        yield made


def test_the_inbox_lists_the_real_conversation_and_never_a_dry_run(page: Page, user: OrgUser) -> None:
    client = user.client
    dry_leads = [client.get(f"/v1/leads/{lead_id}").json()["email"] for lead_id in dry_run_emails(client)]
    to = unique_email("real-talk")
    lead = client.post("/v1/leads", json={"email": to, "firstName": "Ada", "lastName": "L"}).json()
    first = _send(client, uuid.uuid4().hex, to=to, leadId=lead["leadId"], subject="Tuesday?", text="Free?").json()
    [mail] = until(lambda: _captured(client, first["rfc822MessageId"]), what="the real email")
    assert client.post(f"/v1/captured-mail/{mail['id']}/reply", json={"text": "Yes, Tuesday."}).status_code == 202
    until(lambda: client.get(f"/v1/inbox/threads/{first['threadId']}").json()["needsReply"], what="the lead's reply")
    aimed = _send(
        client, uuid.uuid4().hex, to=to, leadId=lead["leadId"], threadId=first["threadId"], subject="Re: Tuesday?",
        text="Dry run: see you then", dryRun=True,
    ).json()  # fmt: skip
    assert aimed["outcome"] == "simulated"

    sign_in_as(page, user)
    page.goto("/#/inbox?tab=all")
    expect(page.get_by_test_id("inbox-total")).to_have_text("1 conversation", timeout=SLOW)
    items = page.get_by_test_id("thread-item")
    expect(items).to_have_count(1)
    expect(items.first).to_contain_text(to)
    for address in dry_leads:
        expect(page.get_by_test_id("thread-list")).not_to_contain_text(address)
    # The conversation still waits for an answer: the dry run answered nobody.
    expect(page.get_by_test_id("inbox-count-needs_reply")).to_have_text("1")
    items.first.click()
    messages = page.get_by_test_id("thread-message")
    expect(messages).to_have_count(2)
    expect(page.get_by_test_id("thread-messages")).not_to_contain_text("Dry run: see you then")

    page.get_by_test_id("inbox-tab-needs_reply").click()
    expect(page.get_by_test_id("thread-item")).to_have_count(1)


def test_a_phone_number_is_suppressed_found_refused_without_its_country_code_and_removed(
    page: Page, user: OrgUser
) -> None:
    number = _number()
    written = f"+1 ({number[2:5]}) {number[5:8]}-{number[8:]}"
    sign_in_as(page, user)
    page.goto("/#/settings")
    box = page.get_by_test_id("suppression-address")

    box.fill(f"{number[2:5]} {number[5:8]} {number[8:]}")  # no country code
    page.get_by_test_id("suppression-add").click()
    said = page.get_by_test_id("suppression-address-error")
    expect(said).to_contain_text("international form")
    expect(box).to_have_attribute("aria-invalid", "true")
    expect(box).to_be_focused()
    expect(page.get_by_test_id("suppression-error")).to_have_count(0)  # said once, at its box

    box.fill(written)
    page.get_by_test_id("suppression-add").click()
    row = page.get_by_test_id("suppression-row").filter(has_text=number)
    expect(row.get_by_test_id("suppression-reason")).to_have_text("Added by hand", timeout=SLOW)
    expect(said).to_have_count(0)
    expect(box).to_have_value("")
    listed = user.client.get("/v1/suppressions").json()["suppressions"]
    assert [(s["address"], s["reason"]) for s in listed] == [(number, "by-hand")]

    page.get_by_test_id("suppression-search").fill(f"({number[2:5]}) {number[5:8]}")  # as it is written
    expect(page.get_by_test_id("suppressions-total")).to_have_text("1 suppressed address matches")
    expect(page.get_by_test_id("suppression-row")).to_have_count(1)

    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Remove").click()
    expect(row).to_have_count(0)
    until(lambda: user.client.get("/v1/suppressions").json()["suppressions"] == [], what="the number removed")
