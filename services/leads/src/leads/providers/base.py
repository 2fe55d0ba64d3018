"""What every enrichment provider takes and gives, and how it says a person cannot be enriched."""

from __future__ import annotations

from typing import Any, Protocol

from leadflood_platform.http_retry import MissingProviderKey

__all__ = ["Enricher", "MissingProviderKey", "PermanentEnrichmentError"]


class PermanentEnrichmentError(Exception):
    """The provider will never enrich this person; retrying is pointless."""


class Enricher(Protocol):
    name: str

    async def enrich(
        self, *, email: str, first_name: str, last_name: str, company_domain: str, title: str, attempt: int
    ) -> dict[str, Any]:
        """camelCase fields the provider knows, among companyDomain, companyName, industry, companySize,
        location, seniority, linkedinUrl, position, emailScore, emailStatus, suggestedEmail.

        Raises PermanentEnrichmentError when the person cannot be found, RetryableJobError on a transient fault.
        """
        ...
