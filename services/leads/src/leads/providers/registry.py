"""Picks the enricher a setting names, refusing a real one that has no key."""

from __future__ import annotations

import httpx

from leads.providers.base import Enricher, MissingProviderKey
from leads.providers.hunter import HunterEnricher
from leads.providers.sandbox import SandboxEnricher

PROVIDERS = ("sandbox", "hunter")


def enricher(
    provider: str,
    *,
    hunter_api_key: str | None,
    hunter_base_url: str,
    client: httpx.AsyncClient,
    sandbox_delay_ms: int,
) -> Enricher:
    """The enricher for `provider`; `client` must carry an explicit timeout (see leadflood_platform.http_retry)."""
    if provider == "sandbox":
        return SandboxEnricher(sandbox_delay_ms)
    if provider == "hunter":
        if not hunter_api_key:
            raise MissingProviderKey(setting="HUNTER_API_KEY")
        return HunterEnricher(api_key=hunter_api_key, base_url=hunter_base_url, client=client)
    raise ValueError(f"unknown enrichment provider {provider!r}: expected one of {', '.join(PROVIDERS)}")
