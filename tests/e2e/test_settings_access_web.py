# ruff: noqa: F811 - the browser and page fixtures come from test_web_client and are named as parameters
"""Settings > Providers and access (#17, #18): which provider keys are set, never their values, and an internal
team's credential created, used and revoked in the browser."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from playwright.sync_api import Page, Route, expect

from conftest import APOLLO_KEY
from devstack.stack import Stack
from tests.e2e.helpers import access_token, create_user, unique_email
from tests.e2e.test_icps import icp_body
from tests.e2e.test_web_client import browser, page, sign_in  # noqa: F401 - fixtures shared with this module
from tests.fakes.twilio import AUTH_TOKEN as TWILIO_AUTH_TOKEN

pytestmark = pytest.mark.browser


def test_provider_keys_say_set_or_not_and_never_their_values(page: Page, client: httpx.Client) -> None:
    sign_in(page)
    page.goto("/#/settings/access")
    table = page.get_by_test_id("provider-keys")
    # The test stack sets Apollo, Twilio, Google Calendar and the alert webhook, and leaves Hunter unset.
    expect(page.get_by_test_id("provider-apollo")).to_contain_text("Set")
    expect(page.get_by_test_id("provider-hunter")).to_contain_text("Not set")
    expect(page.get_by_test_id("provider-hunter")).to_contain_text("HUNTER_API_KEY")
    expect(page.get_by_test_id("provider-twilio")).to_contain_text("Set")
    expect(table.get_by_role("row")).to_have_count(6)  # the header and five providers
    # Words with their spaces ("atPOST /v1/oauth/token" was htm dropping a line break's space).
    expect(page.get_by_text("exchanges its credential at POST /v1/oauth/token for a 5-minute token")).to_be_visible()
    shown = page.content() + client.get("/v1/provider-keys").text
    assert APOLLO_KEY not in shown and TWILIO_AUTH_TOKEN not in shown


def test_an_internal_credential_is_created_shown_once_used_and_revoked(page: Page, base_url: str) -> None:
    sign_in(page)
    page.goto("/#/settings/access")
    page.get_by_test_id("credential-team").fill("reporting")
    page.get_by_test_id("credential-scopes").fill("leads:read billing:read")
    page.get_by_test_id("credential-create").click()
    expect(page.locator(".field.has-error")).to_contain_text("billing:read")  # said at its field, in words

    page.get_by_test_id("credential-scopes").fill("leads:read, runs:*")
    page.get_by_test_id("credential-create").click()
    expect(page.get_by_test_id("credential-created")).to_contain_text("not shown again")
    client_id = page.get_by_test_id("credential-client-id").inner_text()
    secret = page.get_by_test_id("credential-secret").inner_text()
    grant = {"grant_type": "client_credentials"}
    token = httpx.post(f"{base_url}/v1/oauth/token", data=grant, auth=(client_id, secret))
    assert token.status_code == 200 and token.json()["scope"] == "leads:read runs:*"

    row = page.get_by_test_id("credential-row").filter(has_text="reporting")
    expect(row).to_contain_text("leads:read runs:*")
    row.get_by_test_id("credential-revoke").click()
    expect(row).to_contain_text("Revoked")
    assert httpx.post(f"{base_url}/v1/oauth/token", data=grant, auth=(client_id, secret)).status_code == 401
    page.reload()
    expect(page.get_by_test_id("credential-created")).to_have_count(0)  # the secret is gone with the page


def test_a_member_reads_which_providers_are_set_up_but_credentials_are_for_admins(stack: Stack, base_url: str) -> None:
    email, password = unique_email("member"), uuid.uuid4().hex
    create_user(stack, email, password, org="Demo org", role="member")
    token = access_token(base_url, email, password)
    bearer = {"authorization": f"Bearer {token}"}
    # Whoever starts a search, an enrichment or a run is offered only the providers set up: set or not, no value.
    keys = httpx.get(f"{base_url}/v1/provider-keys", headers=bearer)
    assert keys.status_code == 200 and {p["name"]: p["configured"] for p in keys.json()["providers"]}["hunter"] is False
    assert APOLLO_KEY not in keys.text
    refused = httpx.get(f"{base_url}/v1/internal-credentials", headers=bearer)
    assert refused.status_code == 403 and "only an admin or the owner" in refused.json()["detail"]
    made = httpx.post(f"{base_url}/v1/internal-credentials", headers=bearer, json={"team": "x1", "scopes": ["*"]})
    assert made.status_code == 403


def _provider_keys_saying(page: Page, configured: dict[str, bool]) -> None:
    """GET /v1/provider-keys as the server answers it, with these providers' `configured` as given: a stack where
    Apollo or Google Calendar is not set up (the test stack sets them), or an answer gone stale."""

    def answer(route: Route) -> None:
        reply = route.fetch()
        body = reply.json()
        for provider in body["providers"]:
            provider["configured"] = configured.get(provider["name"], provider["configured"])
        route.fulfill(response=reply, json=body)

    page.route("**/v1/provider-keys", answer)


def test_providers_not_set_up_are_shown_so_and_not_offered(page: Page, client: httpx.Client) -> None:
    """Apollo as a source, Hunter for enrichment, Google Calendar for a run were offered without their keys, and
    choosing one said "Temporarily unavailable": each is shown disabled, "(not set up: ITS_SETTING)", with the way
    to where the keys are shown."""
    icp = client.post("/v1/icps", json=icp_body()).json()
    lead = client.post("/v1/leads", json={"email": unique_email("keys"), "firstName": "Kay", "lastName": "Less"})
    lead_id = lead.json()["leadId"]
    sign_in(page)

    # Hunter: not set in the test stack, as the server says.
    page.goto(f"/#/leads/{lead_id}")
    hunter = page.get_by_test_id("lead-enrich-provider").locator("option[value=hunter]")
    expect(hunter).to_have_text("Hunter (not set up: HUNTER_API_KEY)")
    expect(hunter).to_be_disabled()
    expect(page.get_by_test_id("lead-enrich-provider").locator("option[value=sandbox]")).to_be_enabled()
    page.get_by_test_id("lead-enrich-not-set-up").get_by_role("link", name="Settings → Providers and access").click()
    expect(page).to_have_url(re.compile(r"#/settings/access$"))
    expect(page.get_by_test_id("provider-hunter")).to_contain_text("Not set")

    # Apollo and Google Calendar, on a stack without their keys.
    _provider_keys_saying(page, {"apollo": False, "google_calendar": False})
    page.goto(f"/#/icps/{icp['id']}")
    page.reload()  # a new page: the answer is asked again (a page keeps it a minute)
    apollo = page.get_by_test_id("search-source").locator("option[value=apollo]")
    expect(apollo).to_have_text("Apollo (not set up: APOLLO_API_KEY)")
    expect(apollo).to_be_disabled()
    expect(page.get_by_test_id("search-source-not-set-up").get_by_role("link")).to_have_attribute(
        "href", "#/settings/access"
    )
    page.goto("/#/runs")
    page.get_by_test_id("run-calendar").check()
    google = page.get_by_test_id("run-provider").locator("option[value=google]")
    expect(google).to_have_text(re.compile(r"^Google Calendar \(not set up: GOOGLE_CALENDAR_[A-Z_]+"))
    expect(google).to_be_disabled()
    expect(page.get_by_test_id("run-provider-not-set-up")).to_be_visible()


def test_a_provider_chosen_without_its_key_is_said_to_be_not_set_up(page: Page, client: httpx.Client) -> None:
    """Chosen all the same (the answer above gone stale: a key unset since), the 503 says "Not set up" and the
    setting, not "Temporarily unavailable"."""
    lead = client.post("/v1/leads", json={"email": unique_email("no-key"), "firstName": "Kay", "lastName": "Less"})
    sign_in(page)
    _provider_keys_saying(page, {"hunter": True})
    page.goto(f"/#/leads/{lead.json()['leadId']}")
    expect(page.get_by_test_id("lead-enrich-provider").locator("option[value=hunter]")).to_be_enabled()
    page.get_by_test_id("lead-enrich-provider").select_option("hunter")
    page.get_by_test_id("lead-enrich").click()
    error = page.get_by_test_id("lead-enrich-error")
    expect(error.locator(".alert-title")).to_have_text("Not set up")
    expect(error).to_contain_text("HUNTER_API_KEY is not set")
    expect(error).not_to_contain_text("Temporarily")
