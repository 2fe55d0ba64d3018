"""Enrichment providers: the real Hunter adapter against a local fake of its API, and the sandbox enricher."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx
import pytest

from leadflood_platform.http_retry import ProviderAuthError, ProviderRejected, ProviderUnavailable
from leadflood_platform.jobs import RetryableJobError
from leads.providers.base import MissingProviderKey, PermanentEnrichmentError
from leads.providers.hunter import HunterEnricher
from leads.providers.registry import PROVIDERS, enricher
from leads.providers.sandbox import SandboxEnricher, seniority
from tests.fakes.hunter import FakeHunter, errors, found, usage_limited
from tests.fakes.server import Reply, Sleeps, hang, malformed_json, server_error

KEY = "hunter-test-key-9d41"
ADA = {"email": "ada.lovelace@analytical.io", "first_name": "Ada", "last_name": "Lovelace", "title": "CTO"}


@pytest.fixture
def hunter() -> Iterator[FakeHunter]:
    with FakeHunter(api_key=KEY, people=[found("Ada", "Lovelace", "analytical.io")]) as fake:
        yield fake


def adapter(fake: FakeHunter, provider_http: httpx.AsyncClient, sleeps: Sleeps | None = None) -> HunterEnricher:
    return HunterEnricher(
        api_key=KEY, base_url=fake.url, client=provider_http, sleep=Sleeps() if sleeps is None else sleeps
    )


async def test_hunter_finds_and_maps_a_person(hunter: FakeHunter, provider_http: httpx.AsyncClient) -> None:
    fields = await adapter(hunter, provider_http).enrich(**ADA, company_domain="", attempt=1)
    assert fields == {
        "companyDomain": "analytical.io",
        "companyName": "Analytical",
        "position": "Head of Growth",
        "linkedinUrl": "https://www.linkedin.com/in/ada-lovelace",
        "emailScore": 94,
        "emailStatus": "valid",
    }
    [sent] = hunter.received
    assert (sent.path, sent.param("domain"), sent.param("first_name"), sent.param("last_name")) == (
        "/v2/email-finder",
        "analytical.io",
        "Ada",
        "Lovelace",
    )
    assert sent.headers["x-api-key"] == KEY and KEY not in sent.target


async def test_hunter_prefers_the_company_domain_and_offers_a_different_address(
    provider_http: httpx.AsyncClient,
) -> None:
    person = found("Ada", "Lovelace", "analytical.com", email="a.lovelace@analytical.com")
    with FakeHunter(api_key=KEY, people=[person]) as fake:
        fields = await adapter(fake, provider_http).enrich(**ADA, company_domain="analytical.com", attempt=1)
    assert fields["suggestedEmail"] == "a.lovelace@analytical.com"
    assert "emailScore" not in fields, "the score is about Hunter's address, not the lead's"


async def test_hunter_no_person_is_permanent(hunter: FakeHunter, provider_http: httpx.AsyncClient) -> None:
    with pytest.raises(PermanentEnrichmentError, match="hunter: No email address was found for Grace Hopper"):
        await adapter(hunter, provider_http).enrich(
            email="grace@navy.mil", first_name="Grace", last_name="Hopper", company_domain="", title="", attempt=1
        )
    assert len(hunter.received) == 1


async def test_hunter_data_without_an_email_is_permanent(hunter: FakeHunter, provider_http: httpx.AsyncClient) -> None:
    hunter.script(Reply(200, {"data": found("Ada", "Lovelace", "analytical.io", email=None, score=None)}))
    with pytest.raises(PermanentEnrichmentError, match="no email found for Ada Lovelace at analytical.io"):
        await adapter(hunter, provider_http).enrich(**ADA, company_domain="", attempt=1)


async def test_hunter_usage_limit_429_is_retried(hunter: FakeHunter, provider_http: httpx.AsyncClient) -> None:
    sleeps = Sleeps()
    hunter.script(usage_limited())
    fields = await adapter(hunter, provider_http, sleeps).enrich(**ADA, company_domain="", attempt=1)
    assert (fields["emailScore"], len(hunter.received), sleeps) == (94, 2, [1.0])


async def test_hunter_rate_limit_403_is_retried_then_unavailable(
    hunter: FakeHunter, provider_http: httpx.AsyncClient
) -> None:
    sleeps = Sleeps()
    hunter.script(*[errors(403, "too_many_requests", "You have reached the rate limit.")] * 4)
    with pytest.raises(RetryableJobError, match="hunter: rate limited after 4 attempts"):
        await adapter(hunter, provider_http, sleeps).enrich(**ADA, company_domain="", attempt=1)
    assert (len(hunter.received), sleeps) == (4, [0.5, 1.0, 2.0])


async def test_hunter_500_then_success(hunter: FakeHunter, provider_http: httpx.AsyncClient) -> None:
    sleeps = Sleeps()
    hunter.script(server_error())
    fields = await adapter(hunter, provider_http, sleeps).enrich(**ADA, company_domain="", attempt=1)
    assert (fields["emailScore"], len(hunter.received), sleeps) == (94, 2, [0.5])


async def test_hunter_malformed_json_is_unavailable(hunter: FakeHunter, provider_http: httpx.AsyncClient) -> None:
    hunter.script(*[malformed_json()] * 4)
    with pytest.raises(ProviderUnavailable, match="malformed JSON"):
        await adapter(hunter, provider_http).enrich(**ADA, company_domain="", attempt=1)
    assert len(hunter.received) == 4


async def test_hunter_hang_times_out_each_attempt_then_is_unavailable(hunter: FakeHunter) -> None:
    hunter.script(*[hang()] * 4)
    async with httpx.AsyncClient(timeout=httpx.Timeout(0.2, connect=1.0)) as impatient:
        with pytest.raises(ProviderUnavailable, match="ReadTimeout after 4 attempts"):
            await adapter(hunter, impatient).enrich(**ADA, company_domain="", attempt=1)
    assert len(hunter.received) == 4


async def test_hunter_wrong_key_is_an_auth_error(hunter: FakeHunter, provider_http: httpx.AsyncClient) -> None:
    wrong = HunterEnricher(api_key="nope", base_url=hunter.url, client=provider_http, sleep=Sleeps())
    with pytest.raises(ProviderAuthError, match="No user found for the API key supplied"):
        await wrong.enrich(**ADA, company_domain="", attempt=1)
    assert len(hunter.received) == 1


async def test_hunter_bad_request_is_rejected_once(hunter: FakeHunter, provider_http: httpx.AsyncClient) -> None:
    with pytest.raises(ProviderRejected, match="You are missing the domain parameter") as caught:
        await adapter(hunter, provider_http).enrich(
            email="", first_name="Ada", last_name="Lovelace", company_domain="", title="", attempt=1
        )
    assert not isinstance(caught.value, PermanentEnrichmentError | RetryableJobError)
    assert len(hunter.received) == 1


async def test_hunter_key_never_reaches_a_log(
    hunter: FakeHunter, provider_http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    hunter.script(usage_limited())
    await adapter(hunter, provider_http).enrich(**ADA, company_domain="", attempt=1)
    with pytest.raises(PermanentEnrichmentError):
        await adapter(hunter, provider_http).enrich(**{**ADA, "last_name": "Byron"}, company_domain="", attempt=1)
    assert caplog.records
    for record in caplog.records:
        assert KEY not in record.getMessage() and KEY not in str(vars(record))


async def test_sandbox_keeps_its_documented_behaviours() -> None:
    sandbox = SandboxEnricher(delay_ms=0)
    person = {"first_name": "A", "last_name": "B", "company_domain": "", "title": "VP Sales"}
    first = await sandbox.enrich(email="a@acme.io", attempt=1, **person)
    again = await sandbox.enrich(email="b@acme.io", attempt=1, **person)
    assert {**again, "linkedinUrl": first["linkedinUrl"]} == first, "the same company, the same details"
    assert (first["companyDomain"], first["seniority"], first["linkedinUrl"]) == (
        "acme.io",
        "vp",
        "https://www.linkedin.com/in/a",
    )
    own = await sandbox.enrich(email="a@gmail.com", attempt=1, **{**person, "company_domain": "acme.io"})
    assert own["companyDomain"] == "acme.io" and own["industry"] == first["industry"]
    with pytest.raises(PermanentEnrichmentError, match="sandbox: no person found for unknown@acme.io"):
        await sandbox.enrich(email="unknown@acme.io", attempt=1, **person)
    with pytest.raises(RetryableJobError):
        await sandbox.enrich(email="flaky@acme.io", attempt=1, **person)
    assert (await sandbox.enrich(email="flaky@acme.io", attempt=2, **person))["companyDomain"] == "acme.io"
    assert seniority("Chief Revenue Officer") == "c_suite"


async def test_registry_picks_and_refuses(provider_http: httpx.AsyncClient) -> None:
    assert PROVIDERS == ("sandbox", "hunter")
    options = {"hunter_base_url": "https://api.hunter.io", "client": provider_http, "sandbox_delay_ms": 0}
    assert isinstance(enricher("sandbox", hunter_api_key=None, **options), SandboxEnricher)
    assert isinstance(enricher("hunter", hunter_api_key=KEY, **options), HunterEnricher)
    with pytest.raises(MissingProviderKey, match="HUNTER_API_KEY") as caught:
        enricher("hunter", hunter_api_key=None, **options)
    assert caught.value.setting == "HUNTER_API_KEY"
    with pytest.raises(ValueError, match="unknown enrichment provider 'clearbit'"):
        enricher("clearbit", hunter_api_key=KEY, **options)
