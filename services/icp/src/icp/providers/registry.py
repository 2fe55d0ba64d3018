"""Picks the people-search provider a setting names, refusing a real one that has no key."""

from __future__ import annotations

import httpx

from icp.providers.apollo import ApolloSearch
from icp.providers.base import MissingProviderKey, SearchProvider
from icp.providers.sandbox import SandboxSearch

SOURCES = ("sandbox", "apollo")
# The largest page each source serves; a run asks for pages of this size (or its limit, if smaller).
MAX_PER_PAGE = {"sandbox": SandboxSearch.max_per_page, "apollo": ApolloSearch.max_per_page}


def search_provider(
    source: str,
    *,
    apollo_api_key: str | None,
    apollo_base_url: str,
    client: httpx.AsyncClient,
    sandbox_duplicate_rate: float = 0.08,
) -> SearchProvider:
    """The provider for `source`; `client` must carry an explicit timeout (see leadflood_platform.http_retry)."""
    if source == "sandbox":
        return SandboxSearch(duplicate_rate=sandbox_duplicate_rate)
    if source == "apollo":
        if not apollo_api_key:
            raise MissingProviderKey(setting="APOLLO_API_KEY")
        return ApolloSearch(api_key=apollo_api_key, base_url=apollo_base_url, client=client)
    raise ValueError(f"unknown search source {source!r}: expected one of {', '.join(SOURCES)}")
