# ruff: noqa: F811 - the browser and page fixtures come from test_web_client and are named as parameters
"""Roles in the web client (#18): a viewer who cannot edit, an invited member joining by the link."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from devstack.stack import Stack
from tests.e2e.helpers import create_user, unique_email, until
from tests.e2e.test_accessibility_web import data, routes, shown  # noqa: F401 - `data`: a fixture shared
from tests.e2e.test_web_client import browser, page, sign_in  # noqa: F401 - fixtures shared with this module

pytestmark = pytest.mark.browser


def sign_in_as(page: Page, email: str, password: str) -> None:
    page.goto("/")
    page.get_by_test_id("login-email").fill(email)
    page.get_by_test_id("login-password").fill(password)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("signed-in-email")).to_have_text(email)


# Controls that create, change or delete, by their words: none is offered to a viewer, or each is disabled saying why.
CHANGES = re.compile(
    r"^(New|Create|Add|Save changes|Delete|Remove|Edit|Enrich|Import|Invite|Send|Start|Run search|Cancel search|"
    r"Archive|Replay|Acknowledge|Resolve|Link|Enroll|Use the provider|Apply|Try again|Make default|Withdraw|Done)\b"
)
OFFERED = """(changes) => [...document.querySelectorAll('main button, main a.btn, .topbar a')]
  .filter((el) => el.getClientRects().length && !el.disabled && new RegExp(changes).test(el.textContent.trim()))
  .map((el) => el.textContent.trim().replace(/\\s+/g, ' '))"""
# A sequence's pages and the call tasks are their own (pages/sequences): checked there.
NOT_HERE = ("/login", "/join/:token", "/sequences", "/sequences/new", "/sequences/:id", "/tasks")


def test_a_viewer_is_offered_nothing_that_changes_anything(
    stack: Stack, page: Page, client: httpx.Client, data: dict[str, str]
) -> None:
    """A viewer saw "New ICP", "New lead" and every edit, and was refused only on submitting: now what would be
    refused is not offered (a link to a form of creation) or is disabled with a title saying why."""
    email, password = unique_email("viewer"), uuid.uuid4().hex
    create_user(stack, email, password, org="Demo org", role="viewer")
    lead = client.post("/v1/leads", json={"email": unique_email("seen"), "firstName": "Seen", "lastName": "Only"})
    lead_id = lead.json()["leadId"]
    until(lambda: client.get(f"/v1/leads/{lead_id}").json()["status"] in ("enriched", "failed"), what="enriched")
    sign_in_as(page, email, password)
    # Every page but those, with things on it to change: the lead's page shows what enrichment found (Apply).
    paths = {route: data.get(route, route) for route in routes() if route not in NOT_HERE}
    offered: dict[str, list[str]] = {}
    for route, path in (paths | {"/leads/:id": f"/leads/{lead_id}"}).items():
        page.goto(f"/#{path}")
        shown(page)
        if found := page.evaluate(OFFERED, CHANGES.pattern):
            offered[route] = found
    assert offered == {}, f"offered to a viewer: {offered}"

    page.goto("/#/settings/team")
    expect(page.get_by_test_id("your-role")).to_contain_text("viewer")
    expect(page.get_by_test_id("member-row").first).to_be_visible()
    expect(page.get_by_test_id("invite-form")).to_have_count(0)  # nothing offered that would be refused
    expect(page.get_by_test_id("member-role")).to_have_count(0)
    expect(page.get_by_test_id("audit-log")).to_have_count(0)

    # A lead's page: read, every change disabled with its reason.
    page.goto(f"/#/leads/{lead_id}")
    for testid in ("lead-edit", "lead-delete", "lead-enrich", "lead-score-submit"):
        expect(page.get_by_test_id(testid)).to_be_disabled()
        expect(page.get_by_test_id(testid)).to_have_attribute("title", re.compile("Viewers can look but not change"))
    expect(page.get_by_test_id("email-form")).to_have_count(0)
    expect(page.get_by_test_id("create-another")).to_have_count(0)

    # The table: a viewer still picks rows to export them; changing them is disabled.
    page.goto("/#/leads?filtered=all")
    expect(page.get_by_test_id("lead-row").first).to_be_visible(timeout=20_000)
    expect(page.get_by_test_id("leads-import-file")).to_have_count(0)
    expect(page.get_by_test_id("nav-new-lead")).to_have_count(0)
    page.get_by_test_id("lead-select").first.check()
    for testid in ("leads-enroll", "leads-link-icp", "leads-bulk-enrich", "leads-bulk-delete"):
        expect(page.get_by_test_id(testid)).to_be_disabled()
    expect(page.get_by_test_id("leads-bulk-export")).to_be_enabled()

    # The new-lead form, reached by its address: said at once, before anything is typed.
    page.goto("/#/leads/new")
    expect(page.get_by_test_id("lead-form-read-only")).to_contain_text("Viewers can look but not change anything")
    expect(page.get_by_test_id("lead-email")).to_be_disabled()
    expect(page.get_by_test_id("lead-submit")).to_be_disabled()


def test_an_invited_member_joins_by_the_link(browser: Browser, page: Page, base_url: str) -> None:
    sign_in(page)
    page.get_by_test_id("nav-settings").click()
    page.get_by_test_id("settings-team").click()
    expect(page.get_by_test_id("your-role")).to_contain_text("owner")
    email = unique_email("joiner")
    page.get_by_test_id("invite-email").fill(email)
    page.get_by_test_id("invite-role").select_option("member")
    page.get_by_test_id("invite-submit").click()
    link = page.get_by_test_id("invite-link")
    expect(link).to_be_visible()
    url = link.input_value()
    assert "#/join/" in url

    # The invitation is in the audit log at once, counted (it said "0 entries" until a reload).
    expect(page.get_by_test_id("audit-log")).to_contain_text(f"invited {email}")
    expect(page.get_by_test_id("audit-total")).not_to_have_text("0 entries")

    joiner = browser.new_context(base_url=base_url).new_page()
    joiner.goto("/#/join/" + url.split("#/join/")[1])
    expect(joiner.get_by_test_id("join-email")).to_have_text(email)
    expect(joiner.get_by_test_id("join-role")).to_have_text("member")
    # Words with their spaces ("invited as viewer withvera@…" was htm dropping a line break's space).
    expect(joiner.get_by_test_id("join-form")).to_contain_text(f"You are invited as member with {email}. Choose")
    joiner.get_by_test_id("join-password").fill("short")
    joiner.get_by_test_id("join-submit").click()
    expect(joiner.locator(".field-error")).to_have_text("At least 8 characters")
    joiner.get_by_test_id("join-password").fill("a-long-enough-password")
    joiner.get_by_test_id("join-submit").click()
    expect(joiner.get_by_test_id("signed-in-email")).to_have_text(email)
    # The spent link is replaced by Home's address: a reload (or Back) does not open it again as "not valid".
    expect(joiner).to_have_url(re.compile(r"#/dashboard$"))
    joiner.reload()
    expect(joiner.get_by_test_id("dashboard")).to_be_visible()
    expect(joiner.get_by_test_id("join-error")).to_have_count(0)
    joiner.goto("/#/settings/team")
    expect(joiner.get_by_test_id("your-role")).to_contain_text("member")
    expect(joiner.get_by_test_id("invite-form")).to_have_count(0)
    joiner.context.close()

    page.reload()
    expect(page.get_by_test_id("members")).to_contain_text(email)
    expect(page.get_by_test_id("audit-log")).to_contain_text(f"joined as {email}")
    expect(page.get_by_test_id("audit-log")).to_contain_text(f"invited {email}")


def test_the_sign_in_limit_is_said_in_words_with_the_wait(stack: Stack, page: Page, base_url: str) -> None:
    """Five wrong passwords for an account, then the sign-in page says why it refuses and for how long: the
    right password too, until the wait is over (the account is not locked for good)."""
    email, password = unique_email("limited"), uuid.uuid4().hex
    create_user(stack, email, password, org=f"limits {email}")
    for _ in range(5):
        wrong = httpx.post(f"{base_url}/v1/auth/login", json={"email": email, "password": "not-the-password"})
        assert wrong.status_code == 401
    for attempt in ("still-wrong", password):
        page.goto("/")
        page.get_by_test_id("login-email").fill(email)
        page.get_by_test_id("login-password").fill(attempt)
        page.get_by_test_id("login-submit").click()
        error = page.get_by_test_id("login-error")
        expect(error).to_contain_text("too many failed sign-ins")
        expect(error).to_contain_text("try again in")
        expect(error).not_to_contain_text("Too Many Requests")  # words, not the status's name
        expect(page.get_by_test_id("signed-in-email")).to_have_count(0)
