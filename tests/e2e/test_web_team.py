# ruff: noqa: F811 - the browser and page fixtures come from test_web_client and are named as parameters
"""Roles in the web client (#18): a viewer who cannot edit, an invited member joining by the link."""

from __future__ import annotations

import uuid

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from devstack.stack import Stack
from tests.e2e.helpers import create_user, unique_email
from tests.e2e.test_web_client import browser, page, sign_in  # noqa: F401 - fixtures shared with this module

pytestmark = pytest.mark.browser


def sign_in_as(page: Page, email: str, password: str) -> None:
    page.goto("/")
    page.get_by_test_id("login-email").fill(email)
    page.get_by_test_id("login-password").fill(password)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("signed-in-email")).to_have_text(email)


def test_a_viewer_sees_but_cannot_edit(stack: Stack, page: Page) -> None:
    email, password = unique_email("viewer"), uuid.uuid4().hex
    create_user(stack, email, password, org="Demo org", role="viewer")
    sign_in_as(page, email, password)
    page.goto("/#/settings/team")
    expect(page.get_by_test_id("your-role")).to_contain_text("viewer")
    expect(page.get_by_test_id("member-row").first).to_be_visible()
    expect(page.get_by_test_id("invite-form")).to_have_count(0)  # nothing offered that would be refused
    expect(page.get_by_test_id("member-role")).to_have_count(0)
    expect(page.get_by_test_id("audit-log")).to_have_count(0)

    page.goto("/#/leads/new")
    page.get_by_test_id("lead-email").fill(unique_email("by-viewer"))
    page.get_by_test_id("lead-first-name").fill("View")
    page.get_by_test_id("lead-last-name").fill("Er")
    page.get_by_test_id("lead-submit").click()
    error = page.get_by_test_id("lead-form-error")
    expect(error).to_contain_text("a viewer can look but not change anything")
    assert "#/leads/new" in page.url  # nothing was created to move on to


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

    joiner = browser.new_context(base_url=base_url).new_page()
    joiner.goto("/#/join/" + url.split("#/join/")[1])
    expect(joiner.get_by_test_id("join-email")).to_have_text(email)
    expect(joiner.get_by_test_id("join-role")).to_have_text("member")
    joiner.get_by_test_id("join-password").fill("short")
    joiner.get_by_test_id("join-submit").click()
    expect(joiner.locator(".field-error")).to_have_text("At least 8 characters")
    joiner.get_by_test_id("join-password").fill("a-long-enough-password")
    joiner.get_by_test_id("join-submit").click()
    expect(joiner.get_by_test_id("signed-in-email")).to_have_text(email)
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
