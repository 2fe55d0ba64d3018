"""People-search providers: the real Apollo adapter against a local fake of its API, and the sandbox's pool."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator

import httpx
import pytest

from icp.providers.apollo import ApolloSearch
from icp.providers.base import MissingProviderKey, Person, SearchQuery
from icp.providers.registry import SOURCES, search_provider
from icp.providers.sandbox import POOL_SIZE, SandboxSearch
from leadflood_platform.http_retry import ProviderAuthError, ProviderRejected, ProviderUnavailable
from tests.fakes.apollo import FakeApollo, person, rate_limited, unprocessable
from tests.fakes.server import Sleeps, hang, malformed_json, server_error

KEY = "apollo-test-key-51c2"

QUERY = SearchQuery(
    titles=("VP Sales", "Head of Growth"),
    seniorities=("vp", "head"),
    industries=("Software",),
    locations=("Berlin, Germany", "London, United Kingdom"),
    keywords=("saas", "b2b"),
    company_size_min=11,
    company_size_max=200,
    seed="0b5e6c1e-icp",
)


@pytest.fixture
def apollo() -> Iterator[FakeApollo]:
    people = [person(n) for n in range(1, 251)]
    people[4] = person(5, email="email_not_unlocked@domain.com")
    people[5] = person(6, state=None, email=None)
    with FakeApollo(api_key=KEY, people=people, full_records=True) as fake:
        yield fake


def adapter(fake: FakeApollo, provider_http: httpx.AsyncClient, sleeps: Sleeps | None = None) -> ApolloSearch:
    return ApolloSearch(
        api_key=KEY, base_url=fake.url, client=provider_http, sleep=Sleeps() if sleeps is None else sleeps
    )


async def test_apollo_pages_through_and_maps_people(apollo: FakeApollo, provider_http: httpx.AsyncClient) -> None:
    search = adapter(apollo, provider_http)
    pages = [await search.search(QUERY, page=n, per_page=100) for n in (1, 2, 3)]
    assert [len(p.people) for p in pages] == [100, 100, 50]
    assert [p.has_more for p in pages] == [True, True, False] and pages[0].total_pages == 3
    first = pages[0].people[0]
    assert first == Person(
        external_id="64a7f0c2e1b9000000000001",
        first_name="Ada1",
        last_name="Lovelace1",
        email="ada1@analytical1.io",
        title="VP Sales",
        seniority="vp",
        company_name="Analytical 1",
        company_domain="analytical1.io",
        industry="computer software",
        company_size=120,
        location="London, England, United Kingdom",
        linkedin_url="http://www.linkedin.com/in/ada-1",
    )
    locked, partial = pages[0].people[4], pages[0].people[5]
    assert locked.email is None, "Apollo's locked-email stand-in is not an address"
    assert (partial.email, partial.location) == (None, "London, United Kingdom")
    assert len({p.external_id for page in pages for p in page.people}) == 250


async def test_apollo_api_search_teasers_give_no_email_and_no_obfuscated_name(provider_http: httpx.AsyncClient) -> None:
    with FakeApollo(api_key=KEY, people=[person(n) for n in range(1, 31)]) as fake:
        page = await adapter(fake, provider_http).search(QUERY, page=1, per_page=25)
    assert (len(page.people), page.total_pages, page.has_more) == (25, 2, True)
    teaser = page.people[0]
    assert (teaser.first_name, teaser.last_name, teaser.email, teaser.company_name) == (
        "Ada1",
        "",
        None,
        "Analytical 1",
    )


async def test_apollo_request_carries_the_query_and_the_key_only_in_its_header(
    apollo: FakeApollo, provider_http: httpx.AsyncClient
) -> None:
    await adapter(apollo, provider_http).search(QUERY, page=2, per_page=500)
    [sent] = apollo.received
    assert sent.headers["x-api-key"] == KEY and KEY not in sent.target
    assert sent.query["person_titles[]"] == ["VP Sales", "Head of Growth"]
    assert sent.query["person_seniorities[]"] == ["vp", "head"]
    assert sent.query["person_locations[]"] == ["Berlin, Germany", "London, United Kingdom"]
    assert sent.query["q_organization_keyword_tags[]"] == ["Software"]
    assert sent.query["organization_num_employees_ranges[]"] == ["11,200"]
    assert sent.query["q_keywords"] == ["saas b2b"]
    assert (sent.param("page"), sent.param("per_page")) == ("2", "100"), "per_page is held to Apollo's 100"


async def test_apollo_open_company_size_and_empty_filters(apollo: FakeApollo, provider_http: httpx.AsyncClient) -> None:
    bare = dataclasses.replace(
        QUERY, titles=(), seniorities=(), industries=(), locations=(), keywords=(), company_size_max=None
    )
    await adapter(apollo, provider_http).search(bare, page=1, per_page=10)
    sent = apollo.received[0]
    assert sent.query["organization_num_employees_ranges[]"] == ["11,10000000"]
    assert set(sent.query) == {"page", "per_page", "organization_num_employees_ranges[]"}


async def test_apollo_key_never_reaches_a_log(
    apollo: FakeApollo, provider_http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    apollo.script(server_error(), rate_limited())
    await adapter(apollo, provider_http).search(QUERY, page=1, per_page=100)
    assert len(apollo.received) == 3 and caplog.records
    for record in caplog.records:
        assert KEY not in record.getMessage() and KEY not in str(vars(record))


async def test_apollo_429_waits_as_long_as_retry_after_says(
    apollo: FakeApollo, provider_http: httpx.AsyncClient
) -> None:
    sleeps = Sleeps()
    apollo.script(rate_limited(retry_after="2"))
    page = await adapter(apollo, provider_http, sleeps).search(QUERY, page=1, per_page=100)
    assert (len(page.people), len(apollo.received), sleeps) == (100, 2, [2.0])


async def test_apollo_500_then_success(apollo: FakeApollo, provider_http: httpx.AsyncClient) -> None:
    sleeps = Sleeps()
    apollo.script(server_error())
    page = await adapter(apollo, provider_http, sleeps).search(QUERY, page=3, per_page=100)
    assert (len(page.people), len(apollo.received), sleeps) == (50, 2, [0.5])


async def test_apollo_malformed_json_is_unavailable(apollo: FakeApollo, provider_http: httpx.AsyncClient) -> None:
    apollo.script(*[malformed_json()] * 4)
    with pytest.raises(ProviderUnavailable, match="malformed JSON"):
        await adapter(apollo, provider_http).search(QUERY, page=1, per_page=100)
    assert len(apollo.received) == 4


async def test_apollo_hang_times_out_each_attempt_then_is_unavailable(apollo: FakeApollo) -> None:
    apollo.script(*[hang()] * 4)
    async with httpx.AsyncClient(timeout=httpx.Timeout(0.2, connect=1.0)) as impatient:
        with pytest.raises(ProviderUnavailable, match="ReadTimeout after 4 attempts"):
            await adapter(apollo, impatient).search(QUERY, page=1, per_page=100)
    assert len(apollo.received) == 4


async def test_apollo_422_is_rejected_once_with_apollos_message(
    apollo: FakeApollo, provider_http: httpx.AsyncClient
) -> None:
    apollo.script(unprocessable("Invalid value for organization_num_employees_ranges"))
    with pytest.raises(ProviderRejected) as caught:
        await adapter(apollo, provider_http).search(QUERY, page=1, per_page=100)
    assert (str(caught.value), caught.value.status) == ("Invalid value for organization_num_employees_ranges", 422)
    assert len(apollo.received) == 1


async def test_apollo_wrong_key_is_an_auth_error(apollo: FakeApollo, provider_http: httpx.AsyncClient) -> None:
    wrong = ApolloSearch(api_key="not-the-key", base_url=apollo.url, client=provider_http, sleep=Sleeps())
    with pytest.raises(ProviderAuthError, match="Invalid access credentials"):
        await wrong.search(QUERY, page=1, per_page=10)
    assert len(apollo.received) == 1


async def test_sandbox_is_deterministic_per_seed_and_page() -> None:
    sandbox = SandboxSearch()
    page = await sandbox.search(QUERY, page=3, per_page=200)
    assert page == await sandbox.search(QUERY, page=3, per_page=200)
    assert page.people != (await sandbox.search(QUERY, page=4, per_page=200)).people
    other = await sandbox.search(dataclasses.replace(QUERY, seed="another-icp"), page=3, per_page=200)
    assert {p.external_id for p in page.people}.isdisjoint({p.external_id for p in other.people})


async def test_sandbox_pool_is_large_and_ends() -> None:
    sandbox = SandboxSearch()
    first = await sandbox.search(QUERY, page=1, per_page=1000)
    assert (len(first.people), first.total_pages) == (1000, POOL_SIZE // 1000)
    last = await sandbox.search(QUERY, page=first.total_pages, per_page=1000)
    assert (len(last.people), last.has_more) == (1000, False)
    assert (await sandbox.search(QUERY, page=first.total_pages + 1, per_page=1000)).people == []
    assert len((await sandbox.search(QUERY, page=1, per_page=5000)).people) == 1000, "held to max_per_page"


def _in_icp(p: Person, q: SearchQuery) -> bool:
    return (
        p.title.casefold() in {t.casefold() for t in q.titles}
        and p.seniority in q.seniorities
        and p.industry in q.industries
        and p.location in q.locations
        and q.company_size_min <= (p.company_size or 0) <= q.company_size_max  # type: ignore[operator]
    )


async def test_sandbox_has_realistic_gaps() -> None:
    sandbox = SandboxSearch()
    pages = [(await sandbox.search(QUERY, page=n, per_page=500)).people for n in range(1, 9)]
    everyone = [p for page in pages for p in page]
    total = len(everyone)
    seen: dict[str, Person] = {p.external_id: p for p in pages[0]}
    repeats = 0
    for page in pages[1:]:
        for p in page:
            if p.external_id in seen:
                repeats += 1
                earlier = seen[p.external_id]
                assert (p.email, p.last_name) == (earlier.email, earlier.last_name)
                assert p.title.casefold() == earlier.title.casefold()
        seen.update((p.external_id, p) for p in page)
    assert 0.055 <= repeats / (total - len(pages[0])) <= 0.105, "~8% repeat someone from an earlier page"
    assert 0.075 <= sum(p.email is None for p in everyone) / total <= 0.125, "~10% have no email"
    messy = [p.email for p in everyone if p.email and p.email != p.email.strip().lower()]
    assert 0.03 <= len(messy) / total <= 0.065, "~5% of emails need normalising"
    assert 0.21 <= sum(not _in_icp(p, QUERY) for p in everyone) / total <= 0.29, "~25% fall outside the ICP"
    clean = [p for p in everyone if p.email and p.email == p.email.strip().lower()]
    assert all(p.email == f"{p.first_name}.{p.last_name}@{p.company_domain}".lower() for p in clean)


async def test_sandbox_falls_back_to_its_own_lists_for_an_open_query() -> None:
    bare = SearchQuery((), (), (), (), (), None, None, seed="open")
    people = (await SandboxSearch().search(bare, page=1, per_page=300)).people
    assert len({p.title for p in people}) > 5 and len({p.industry for p in people}) > 3
    assert all(p.title and p.seniority and p.company_domain and p.location for p in people)


async def test_registry_picks_and_refuses(provider_http: httpx.AsyncClient) -> None:
    assert SOURCES == ("sandbox", "apollo")
    options = {"apollo_base_url": "https://api.apollo.io", "client": provider_http}
    assert isinstance(search_provider("sandbox", apollo_api_key=None, **options), SandboxSearch)
    assert isinstance(search_provider("apollo", apollo_api_key=KEY, **options), ApolloSearch)
    with pytest.raises(MissingProviderKey, match="APOLLO_API_KEY") as caught:
        search_provider("apollo", apollo_api_key="", **options)
    assert caught.value.setting == "APOLLO_API_KEY"
    with pytest.raises(ValueError, match="unknown search source 'linkedin'"):
        search_provider("linkedin", apollo_api_key=KEY, **options)
