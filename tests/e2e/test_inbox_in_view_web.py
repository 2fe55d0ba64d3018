"""Opening a conversation brings it into view (#18's phone review): at 390 px the inbox's list comes first and the
conversation below it, so a tap on the list, or a link from the lead's page, must scroll to the conversation, not
leave the page at its top with the conversation thousands of pixels down. On a wide screen too, from far down the
list. Headless Chromium, a user of an org of its own."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from devstack.stack import Stack
from tests.e2e import test_web_client as web
from tests.e2e.helpers import OrgUser, org_user, unique_email
from tests.e2e.test_mail_room import _send
from tests.e2e.test_runs_web import sign_in_as

pytestmark = pytest.mark.browser
browser, page = web.browser, web.page
SLOW = 30_000  # ms
PHONE, DESKTOP = {"width": 390, "height": 844}, {"width": 1280, "height": 800}
CONVERSATIONS = 16  # a list far taller than a phone's screen


@pytest.fixture(scope="module")
def user(stack: Stack, base_url: str) -> Iterator[tuple[OrgUser, list[tuple[str, str]]]]:
    """A user whose org has CONVERSATIONS email conversations, one lead each: (lead id, thread id), newest last."""
    with org_user(stack, base_url, "inbox-view") as made:
        made_threads = []
        for n in range(CONVERSATIONS):
            to = unique_email(f"view{n}")
            lead = made.client.post("/v1/leads", json={"email": to, "firstName": "Vi", "lastName": f"Ew{n}"}).json()
            sent = _send(made.client, uuid.uuid4().hex, to=to, leadId=lead["leadId"], subject=f"Idea {n}", text="Hi")
            assert sent.status_code == 202, sent.text
            made_threads.append((lead["leadId"], sent.json()["threadId"]))
        yield made, made_threads


def _open_inbox(page: Page, user: OrgUser) -> None:
    sign_in_as(page, user)
    page.goto("/#/inbox?tab=all")
    expect(page.get_by_test_id("inbox-total")).to_have_text(f"{CONVERSATIONS} conversations", timeout=SLOW)


def test_a_tap_on_a_phone_scrolls_to_the_conversation(page: Page, user: tuple[OrgUser, list]) -> None:
    page.set_viewport_size(PHONE)
    _open_inbox(page, user[0])
    assert page.evaluate("window.scrollY") == 0
    page.get_by_test_id("thread-item").nth(2).click()
    title = page.get_by_test_id("thread-title")
    expect(title).to_have_text("Idea 13", timeout=SLOW)  # newest first: the third is the fourteenth sent
    expect(title).to_be_focused()
    expect(title).to_be_in_viewport()
    assert page.evaluate("window.scrollY") > 844  # it was below the list, a screen and more down
    # The list was not drawn again from nothing: the item tapped is still there, marked as the one open.
    expect(page.locator(".mail-list li.selected")).to_have_count(1)
    expect(page.get_by_test_id("thread-item")).to_have_count(CONVERSATIONS)


def test_a_click_far_down_the_list_on_a_wide_screen_shows_the_conversation(
    page: Page, user: tuple[OrgUser, list]
) -> None:
    page.set_viewport_size(DESKTOP)
    _open_inbox(page, user[0])
    last = page.get_by_test_id("thread-item").last
    last.scroll_into_view_if_needed()
    assert page.evaluate("window.scrollY") > 0
    last.click()
    title = page.get_by_test_id("thread-title")
    expect(title).to_have_text("Idea 0", timeout=SLOW)
    expect(title).to_be_in_viewport()
    # Another one from the list: the same page, its conversation replaced and in view.
    page.get_by_test_id("thread-item").nth(1).click()
    expect(title).to_have_text("Idea 14", timeout=SLOW)
    expect(title).to_be_in_viewport()


def test_a_conversation_opened_from_its_lead_s_page_on_a_phone_is_in_view(
    page: Page, user: tuple[OrgUser, list]
) -> None:
    """The conversation loads before the list above it: the list then pushed it down, out of sight."""
    page.set_viewport_size(PHONE)
    made, threads = user
    lead_id, thread_id = threads[4]
    sign_in_as(page, made)
    page.goto(f"/#/leads/{lead_id}")
    link = page.get_by_test_id("lead-thread")
    expect(link).to_have_attribute("href", f"#/inbox/{thread_id}?tab=all", timeout=SLOW)
    link.click()
    title = page.get_by_test_id("thread-title")
    expect(title).to_have_text("Idea 4", timeout=SLOW)
    expect(page.get_by_test_id("thread-item")).to_have_count(CONVERSATIONS)
    expect(title).to_be_in_viewport()
    assert page.evaluate("window.scrollY") > 844
