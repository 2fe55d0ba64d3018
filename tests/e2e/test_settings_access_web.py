# ruff: noqa: F811 - the browser and page fixtures come from test_web_client and are named as parameters
"""Settings > Providers and access (#17, #18): which provider keys are set, never their values, and an internal
team's credential created, used and revoked in the browser."""

from __future__ import annotations

import uuid

import httpx
import pytest
from playwright.sync_api import Page, expect

from conftest import APOLLO_KEY
from devstack.stack import Stack
from tests.e2e.helpers import access_token, create_user, unique_email
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


def test_a_member_is_told_providers_and_credentials_are_for_admins(stack: Stack, base_url: str) -> None:
    email, password = unique_email("member"), uuid.uuid4().hex
    create_user(stack, email, password, org="Demo org", role="member")
    token = access_token(base_url, email, password)
    bearer = {"authorization": f"Bearer {token}"}
    for path in ("/v1/provider-keys", "/v1/internal-credentials"):
        refused = httpx.get(f"{base_url}{path}", headers=bearer)
        assert refused.status_code == 403 and "only an admin or the owner" in refused.json()["detail"], path
    made = httpx.post(f"{base_url}/v1/internal-credentials", headers=bearer, json={"team": "x1", "scopes": ["*"]})
    assert made.status_code == 403
