"""The leads table's column choice and saved views, and the keyboard (#18), in Chromium: columns remembered
across a reload; a view saved in one browser applied in another, after a reload still the one shown,
renamed and deleted; "Skip to content" first on every page; `/` to the search box (not while typing); one
tab stop per table row, the arrow keys within and between rows."""

from __future__ import annotations

import re
import uuid
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e import test_web_client as web
from tests.e2e.helpers import until
from tests.e2e.test_inbound import _email_lead
from tests.e2e.test_leads_table_web import create_leads
from tests.e2e.test_web_client import sign_in

pytestmark = pytest.mark.browser
browser, page = web.browser, web.page
SLOW = 20_000  # ms: a first page on a machine running several suites at once


def headers(page: Page) -> list[str]:
    return [text.strip().rstrip("▲▼↕").strip() for text in page.locator("table thead th").all_text_contents()]


def query_of(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url.split("#", 1)[1]).query)


def test_the_columns_chosen_are_remembered(page: Page, client: httpx.Client) -> None:
    company = f"Cols {uuid.uuid4().hex[:8]}"
    create_leads(client, company, 2)
    sign_in(page)
    page.goto(f"/#/leads?q={company.split()[1]}&filtered=all")
    expect(page.get_by_test_id("lead-row")).to_have_count(2, timeout=SLOW)
    assert "Email" in headers(page) and "Phone" not in headers(page)
    page.get_by_test_id("columns-menu-toggle").click()
    expect(page.get_by_test_id("column-name")).to_be_disabled()  # the name links to the lead: always shown
    page.get_by_test_id("column-email").uncheck()
    page.get_by_test_id("column-phone").check()
    expect(page.locator("table thead th", has_text="Phone")).to_have_count(1)
    assert "Email" not in headers(page)
    page.reload()
    expect(page.get_by_test_id("lead-row")).to_have_count(2, timeout=SLOW)
    assert "Phone" in headers(page) and "Email" not in headers(page)
    # Put back for the other tests of this browser's user.
    page.get_by_test_id("columns-menu-toggle").click()
    page.get_by_test_id("column-email").check()
    page.get_by_test_id("column-phone").uncheck()
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("column-email")).to_be_hidden()


def test_a_saved_view_follows_the_user_to_another_browser(
    browser: Browser, base_url: str, client: httpx.Client
) -> None:
    company = f"Views {uuid.uuid4().hex[:8]}"
    create_leads(client, company, 3)
    word, name = company.split()[1], f"Hot {uuid.uuid4().hex[:6]}"

    first = browser.new_context(base_url=base_url).new_page()
    sign_in(first)
    first.goto(f"/#/leads?q={word}&filtered=all&sort=-score")
    expect(first.get_by_test_id("lead-row")).to_have_count(3, timeout=SLOW)
    first.get_by_test_id("columns-menu-toggle").click()
    first.get_by_test_id("column-title").uncheck()
    first.keyboard.press("Escape")
    first.get_by_test_id("views-save").click()
    # The name box takes the focus as the form opens: what the user types goes there, not to the search box.
    expect(first.get_by_test_id("views-name")).to_be_focused()
    first.keyboard.press("Escape")  # and Escape closes it, focus back on "Save view…"
    expect(first.get_by_test_id("views-form")).to_have_count(0)
    expect(first.get_by_test_id("views-save")).to_be_focused()
    first.keyboard.press("Enter")
    expect(first.get_by_test_id("views-name")).to_be_focused()
    first.get_by_test_id("views-form-submit").click()  # no name yet: said at the field, nothing sent
    expect(first.get_by_test_id("views-name")).to_be_focused()
    expect(first.get_by_test_id("views-name")).to_have_attribute("aria-invalid", "true")
    first.get_by_test_id("views-name").fill(name)
    first.get_by_test_id("views-form-submit").click()
    expect(first.get_by_test_id("views-said")).to_contain_text(name)
    expect(first.get_by_test_id("views-select").locator("option:checked")).to_have_text(name)
    first.context.close()

    # Another browser: nothing of the first one's but the server's copy.
    second = browser.new_context(base_url=base_url).new_page()
    sign_in(second)
    second.goto("/#/leads")
    expect(second.get_by_test_id("lead-row").first).to_be_visible(timeout=SLOW)
    assert "Title" in headers(second)
    second.get_by_test_id("views-select").select_option(label=name)
    expect(second.get_by_test_id("lead-row")).to_have_count(3, timeout=SLOW)
    assert query_of(second) == {"q": [word], "filtered": ["all"], "sort": ["-score"]}
    assert "Title" not in headers(second) and "Email" in headers(second)
    expect(second.get_by_test_id("leads-filter-q")).to_have_value(word)

    second.reload()  # the URL and the remembered columns still make the view: it is the one shown
    expect(second.get_by_test_id("lead-row")).to_have_count(3, timeout=SLOW)
    expect(second.get_by_test_id("views-select").locator("option:checked")).to_have_text(name)

    second.get_by_test_id("views-rename").click()
    expect(second.get_by_test_id("views-name")).to_have_value(name)
    expect(second.get_by_test_id("views-name")).to_be_focused()
    second.get_by_test_id("views-name").fill(f"{name} renamed")
    second.get_by_test_id("views-form-submit").click()
    expect(second.get_by_test_id("views-select").locator("option:checked")).to_have_text(f"{name} renamed")

    second.once("dialog", lambda dialog: dialog.accept())
    second.get_by_test_id("views-delete").click()
    expect(second.get_by_test_id("views-said")).to_contain_text("Deleted")
    expect(second.get_by_test_id("views-select").locator("option", has_text=name)).to_have_count(0)
    assert name not in str(client.get("/v1/views").json())
    # Columns back as they were, for the other tests of this user.
    second.get_by_test_id("columns-menu-toggle").click()
    second.get_by_test_id("column-title").check()
    second.context.close()


def test_skip_link_first_and_slash_to_search(page: Page, client: httpx.Client) -> None:
    create_leads(client, f"Skip {uuid.uuid4().hex[:8]}", 1)
    page.goto("/")
    expect(page.get_by_test_id("login-email")).to_be_focused()  # the sign-in page starts at its first field
    page.keyboard.press("Shift+Tab")
    expect(page.get_by_test_id("skip-link")).to_be_focused()  # and the skip link is before it, signed out too
    sign_in(page)
    page.goto("/#/leads")
    expect(page.get_by_test_id("lead-row").first).to_be_visible(timeout=SLOW)
    page.reload()  # focus starts from the page's top
    expect(page.get_by_test_id("lead-row").first).to_be_visible(timeout=SLOW)
    page.keyboard.press("Tab")
    skip = page.get_by_test_id("skip-link")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page.locator("main#content")).to_be_focused()
    assert "#/leads" in page.url  # the router's URL kept
    page.keyboard.press("Tab")  # from the page's start, not the menu's
    assert page.evaluate("document.activeElement.closest('main') !== null")

    page.keyboard.press("/")
    search = page.get_by_test_id("leads-filter-q")
    expect(search).to_be_focused()
    page.keyboard.type("a/b")  # typing a slash in a field is a slash
    expect(search).to_have_value("a/b")
    page.get_by_test_id("leads-filter-min-score").focus()
    page.keyboard.press("/")
    expect(page.get_by_test_id("leads-filter-min-score")).to_be_focused()
    expect(search).to_have_value("a/b")
    # A list box takes no typed text: `/` on one (a filter just chosen) goes on to the search box.
    page.get_by_test_id("leads-filter-status").focus()
    page.keyboard.press("/")
    expect(search).to_be_focused()
    expect(search).to_have_value("a/b")

    # On a phone the filters fold away: `/` opens them to the search box.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/#/leads")
    page.reload()  # a fresh page: the filters folded
    expect(search).to_be_hidden(timeout=SLOW)
    page.locator("main h1").click()
    page.keyboard.press("/")
    expect(search).to_be_focused()


def test_one_tab_stop_per_row(page: Page, client: httpx.Client) -> None:
    company = f"Tabs {uuid.uuid4().hex[:8]}"
    create_leads(client, company, 3)
    sign_in(page)
    page.goto(f"/#/leads?q={company.split()[1]}&filtered=all")
    rows = page.get_by_test_id("lead-row")
    expect(rows).to_have_count(3, timeout=SLOW)
    name_of = [rows.nth(i).get_by_role("link") for i in range(3)]
    name_of[0].focus()
    page.keyboard.press("Tab")
    expect(name_of[1]).to_be_focused()  # not row 1's other cells, nor row 2's box
    page.keyboard.press("Tab")
    expect(name_of[2]).to_be_focused()
    page.keyboard.press("Shift+Tab")
    expect(name_of[1]).to_be_focused()
    page.keyboard.press("ArrowLeft")  # within the row: its box
    box = rows.nth(1).get_by_test_id("lead-select")
    expect(box).to_be_focused()
    page.keyboard.press("Space")
    expect(page.get_by_test_id("leads-selected-count")).to_have_text("1 selected")
    page.keyboard.press("ArrowDown")  # to the next row's stop
    expect(name_of[2]).to_be_focused()
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowUp")
    expect(name_of[0]).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"#/leads/[0-9a-f-]{36}$"))


def test_opening_a_conversation_with_enter_puts_focus_in_it(page: Page, client: httpx.Client) -> None:
    """Enter on a conversation in the inbox's list: focus was dropped to the page (the next Tab started again at the
    inbox's tabs); it goes to the conversation's heading, so the next Tab is in the conversation."""
    subject = f"Keyboard {uuid.uuid4().hex[:6]}"
    sent, _, _ = _email_lead(client, subject)
    sign_in(page)
    page.goto("/#/inbox?tab=all")
    item = page.get_by_test_id("thread-item").filter(has_text=subject)
    expect(item).to_be_visible(timeout=SLOW)
    item.focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(f"#/inbox/{sent['threadId']}"))
    expect(page.get_by_test_id("thread-title")).to_have_text(subject)
    expect(page.get_by_test_id("thread-title")).to_be_focused()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('[data-testid=thread]') !== null"), "Tab left the conversation"


def test_the_company_size_column_says_a_range_in_words(page: Page, client: httpx.Client) -> None:
    """A provider's "1,001–5,000 employees" showed as "1001" in the table: the range, in words, as the lead's page."""
    company = f"Sized {uuid.uuid4().hex[:8]}"
    [lead_id] = create_leads(client, company, 1)  # enriched at once: the sandbox offers a size range
    offered = until(lambda: client.get(f"/v1/leads/{lead_id}").json()["providerValues"], what="the provider's values")
    assert any(v["field"] == "companySize" for v in offered)
    applied = client.post(f"/v1/leads/{lead_id}/apply-enrichment", json={"fields": ["companySize"]})
    assert applied.status_code == 200, applied.text
    lead = client.get(f"/v1/leads/{lead_id}").json()
    low, high = lead["companySize"], lead["companySizeMax"]
    assert low and high and high > low, lead  # a range
    sign_in(page)
    page.goto(f"/#/leads?q={company.split()[1]}&filtered=all")
    expect(page.get_by_test_id("lead-row")).to_have_count(1, timeout=SLOW)
    page.get_by_test_id("columns-menu-toggle").click()
    page.get_by_test_id("column-companySize").check()
    page.keyboard.press("Escape")
    cell = page.get_by_test_id("lead-row").locator("td").nth(headers(page).index("Company size"))
    expect(cell).to_have_text(f"{low:,}–{high:,} employees")
    page.get_by_test_id("columns-menu-toggle").click()  # put back for the other tests of this user
    page.get_by_test_id("column-companySize").uncheck()
