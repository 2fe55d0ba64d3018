"""Hunter's Email Finder as an Enricher: a name and a company domain in, the person's work details out.

Follows hunter.io/api-documentation/v2: `GET /v2/email-finder?domain=&first_name=&last_name=`, answers in
`{"data": {...}}`, refusals in `{"errors": [{"id", "code", "details"}]}`. The key goes in the `X-API-KEY`
header, which Hunter accepts as well as the `api_key` parameter, so it never lands in a URL or a log of one.
Hunter documents 403 as its rate limit and 429 as its usage limit, so both are waited out and retried.
"""

from __future__ import annotations

from typing import Any

from leadflood_platform.http_retry import ProviderAPI, ProviderRejected, ProviderUnavailable
from leads.providers.base import PermanentEnrichmentError

FINDER_PATH = "/v2/email-finder"
RATE_LIMITS = frozenset({403, 429})


class HunterEnricher(ProviderAPI):
    name = "hunter"
    rate_limit_statuses = RATE_LIMITS

    async def enrich(
        self, *, email: str, first_name: str, last_name: str, company_domain: str, title: str, attempt: int
    ) -> dict[str, Any]:
        domain = company_domain or email.partition("@")[2]
        try:
            response = await self.send(
                "GET",
                FINDER_PATH,
                params={"domain": domain, "first_name": first_name, "last_name": last_name},
                headers={"x-api-key": self.api_key, "accept": "application/json"},
            )
        except ProviderRejected as exc:
            if exc.status == 404:  # Hunter has no such person at that domain
                raise PermanentEnrichmentError(f"hunter: {exc}") from exc
            raise
        body = response.json()
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            raise ProviderUnavailable("hunter: reply has no data object", provider=self.name)
        if not data.get("email"):
            raise PermanentEnrichmentError(f"hunter: no email found for {first_name} {last_name} at {domain}")
        return to_fields(data, email=email, domain=domain)


def to_fields(data: dict[str, Any], *, email: str, domain: str) -> dict[str, Any]:
    """Hunter's `data` as lead enrichment fields; the score describes Hunter's address, so it is kept only
    when that is the lead's own, and a different address is offered as a suggestion instead."""
    fields: dict[str, Any] = {"companyDomain": data.get("domain") or domain}
    for source, target in (("company", "companyName"), ("position", "position"), ("linkedin_url", "linkedinUrl")):
        if data.get(source):
            fields[target] = data[source]
    found = str(data["email"]).strip().lower()
    if found != email.strip().lower():
        fields["suggestedEmail"] = found
        return fields
    if isinstance(data.get("score"), int):
        fields["emailScore"] = data["score"]
    verification = data.get("verification")
    if isinstance(verification, dict) and verification.get("status"):
        fields["emailStatus"] = verification["status"]
    return fields
