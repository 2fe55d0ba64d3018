"""Apollo's People API Search as a SearchProvider: an ICP's filters in, pages of people out.

Follows docs.apollo.io/reference/people-api-search: `POST /api/v1/mixed_people/api_search`, the key in the
`x-api-key` header, filters as query parameters (`person_titles[]`, ...), at most 100 people a page and 500
pages (a 50,000-record display limit). That endpoint returns no email and only an obfuscated last name
(`last_name_obfuscated`) with `total_entries`; the older full shape (`last_name`, `email`, `pagination`) is
mapped as well, since accounts and plans differ in what they are shown.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from icp.providers.base import Page, Person, SearchQuery
from leadflood_platform.http_retry import ProviderAPI, ProviderUnavailable

log = logging.getLogger(__name__)

SEARCH_PATH = "/api/v1/mixed_people/api_search"
DISPLAY_LIMIT = 50_000  # records Apollo will page through for one search
# Apollo's stand-in when an address exists but the plan has not unlocked it: never a real address.
LOCKED_EMAIL_MARK = "email_not_unlocked@"
# The docs show ranges as "lower,upper" strings with arbitrary bounds (1,10; 250,500; 10000,20000); an ICP with
# no upper bound gets one beyond any company.
NO_UPPER_BOUND = 10_000_000


class ApolloSearch(ProviderAPI):
    name = "apollo"
    max_per_page = 100

    async def search(self, query: SearchQuery, *, page: int, per_page: int) -> Page:
        per_page = max(1, min(per_page, self.max_per_page))
        response = await self.send(
            "POST",
            SEARCH_PATH,
            params=search_params(query, page=page, per_page=per_page),
            headers={"x-api-key": self.api_key, "accept": "application/json", "cache-control": "no-cache"},
        )
        body = response.json()
        if not isinstance(body, dict):
            raise ProviderUnavailable("apollo: reply is not a JSON object", provider=self.name)
        raw_people = [raw for raw in body.get("people") or [] if isinstance(raw, dict)]
        people = [to_person(raw) for raw in raw_people if raw.get("id")]
        if len(people) < len(raw_people):
            log.warning("apollo people without an id skipped", extra={"skipped": len(raw_people) - len(people)})
        return Page(number=page, people=people, total_pages=_total_pages(body, per_page))


def search_params(query: SearchQuery, *, page: int, per_page: int) -> list[tuple[str, str | int]]:
    """The query string Apollo documents; one entry per value of an array parameter."""
    params: list[tuple[str, str | int]] = [("page", page), ("per_page", per_page)]
    params += [("person_titles[]", title) for title in query.titles]
    params += [("person_seniorities[]", level) for level in query.seniorities]
    params += [("person_locations[]", place) for place in query.locations]
    # Apollo filters industries by tag id only; its company keyword tags take plain words such as "mining".
    params += [("q_organization_keyword_tags[]", industry) for industry in query.industries]
    if query.company_size_min is not None or query.company_size_max is not None:
        low = query.company_size_min or 1
        high = query.company_size_max if query.company_size_max is not None else NO_UPPER_BOUND
        params.append(("organization_num_employees_ranges[]", f"{low},{high}"))
    if query.keywords:
        params.append(("q_keywords", " ".join(query.keywords)))
    return params


def to_person(raw: dict[str, Any]) -> Person:
    org = raw.get("organization") if isinstance(raw.get("organization"), dict) else {}
    email = (raw.get("email") or "").strip()
    size = org.get("estimated_num_employees")
    return Person(
        external_id=str(raw["id"]),
        first_name=raw.get("first_name") or "",
        # An obfuscated last name ("Hu***n") is not a name to write to anyone by; leave it empty.
        last_name=raw.get("last_name") or "",
        email=None if not email or LOCKED_EMAIL_MARK in email.lower() else email,
        title=raw.get("title") or "",
        seniority=raw.get("seniority") or "",
        company_name=org.get("name") or "",
        company_domain=org.get("primary_domain") or "",
        industry=org.get("industry") or "",
        company_size=size if isinstance(size, int) else None,
        location=", ".join(part for part in (raw.get("city"), raw.get("state"), raw.get("country")) if part),
        linkedin_url=raw.get("linkedin_url") or "",
    )


def _total_pages(body: dict[str, Any], per_page: int) -> int:
    pagination = body.get("pagination") if isinstance(body.get("pagination"), dict) else {}
    pages = pagination.get("total_pages")
    if not isinstance(pages, int):
        entries = pagination.get("total_entries", body.get("total_entries"))
        pages = math.ceil(entries / per_page) if isinstance(entries, int) else 0
    return min(pages, math.ceil(DISPLAY_LIMIT / per_page))
