"""The web client in headless Chromium: sign in, create a lead, watch it become enriched without a reload."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.e2e.helpers import unique_email

# Flags that keep Chromium off the closed network and working as root.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    assert executable, "Debian's chromium is required for the browser tests (make test installs it)"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, base_url: str) -> Iterator[Page]:
    context = browser.new_context(base_url=base_url)
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    yield opened
    context.close()
    assert errors == [], f"the page raised: {errors}"


def sign_in(page: Page) -> None:
    page.goto("/")
    page.get_by_test_id("login-email").fill("demo@leadflood.local")
    page.get_by_test_id("login-password").fill("demo")
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("signed-in-email")).to_have_text("demo@leadflood.local")


def test_sign_in_create_a_lead_and_watch_it_enrich(page: Page) -> None:
    sign_in(page)
    email = unique_email("browser")
    page.get_by_test_id("lead-email").fill(email)
    page.get_by_test_id("lead-first-name").fill("Grace")
    page.get_by_test_id("lead-last-name").fill("Hopper")
    page.get_by_test_id("lead-company").fill("Navy")
    page.get_by_test_id("lead-title").fill("Director of Engineering")
    url_before = page.url
    page.get_by_test_id("lead-submit").click()

    expect(page.get_by_test_id("lead-status")).to_have_text("enriched", timeout=20_000)
    expect(page.get_by_test_id("job-status")).to_have_text("completed")
    expect(page.get_by_test_id("job-attempts")).to_have_text("1/3")
    expect(page.get_by_test_id("lead-enrichment")).to_contain_text("example.com")
    assert page.url != url_before and "#/leads/" in page.url  # navigated in-page, no reload


def test_wrong_password_shows_the_error(page: Page) -> None:
    page.goto("/")
    page.get_by_test_id("login-email").fill("demo@leadflood.local")
    page.get_by_test_id("login-password").fill("wrong")
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("login-error")).to_contain_text("wrong email or password")


def test_invalid_lead_shows_field_errors(page: Page) -> None:
    sign_in(page)
    page.get_by_test_id("lead-email").fill("not-an-email")
    page.get_by_test_id("lead-first-name").fill("A")
    page.get_by_test_id("lead-last-name").fill("B")
    page.get_by_test_id("lead-submit").click()
    expect(page.get_by_test_id("lead-form-error")).to_be_visible()
    expect(page.get_by_test_id("lead-email")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_text("An email address must have an @-sign.").last).to_be_visible()
