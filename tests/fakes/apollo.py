"""Apollo's People API Search as it answers on the wire (docs.apollo.io/reference/people-api-search).

`POST /api/v1/mixed_people/api_search` with the key in `x-api-key` (or an OAuth bearer token) and the filters
in the query string; at most 100 people a page. By default it answers the way that endpoint does, teasers
with `last_name_obfuscated`, `has_*` flags and a top-level `total_entries`; `full_records=True` answers with
whole records and `pagination`, the shape of Apollo's older people search.
"""

from __future__ import annotations

import math
from typing import Any

from tests.fakes.server import FakeServer, Received, Reply

SEARCH_PATH = "/api/v1/mixed_people/api_search"


def person(n: int, **overrides: Any) -> dict[str, Any]:
    """A whole Apollo person record, as its older search or its enrichment returns one."""
    record = {
        "id": f"64a7f0c2e1b9{n:012d}",
        "first_name": f"Ada{n}",
        "last_name": f"Lovelace{n}",
        "name": f"Ada{n} Lovelace{n}",
        "title": "VP Sales",
        "seniority": "vp",
        "email": f"ada{n}@analytical{n % 7}.io",
        "email_status": "verified",
        "linkedin_url": f"http://www.linkedin.com/in/ada-{n}",
        "city": "London",
        "state": "England",
        "country": "United Kingdom",
        "organization": {
            "id": f"5e66b6381e05b4008c83{n % 7:04d}",
            "name": f"Analytical {n % 7}",
            "primary_domain": f"analytical{n % 7}.io",
            "industry": "computer software",
            "estimated_num_employees": 120,
        },
    }
    return {**record, **overrides}


def teaser(record: dict[str, Any]) -> dict[str, Any]:
    """What People API Search shows of a record: no email, an obfuscated last name, flags for the rest."""
    last = record.get("last_name") or ""
    org = record.get("organization") or {}
    return {
        "id": record["id"],
        "first_name": record.get("first_name"),
        "last_name_obfuscated": f"{last[:2]}***{last[-1:]}" if last else None,
        "title": record.get("title"),
        "last_refreshed_at": "2026-10-01T08:00:00.000+00:00",
        "has_email": bool(record.get("email")),
        "has_city": bool(record.get("city")),
        "has_state": bool(record.get("state")),
        "has_country": bool(record.get("country")),
        "has_direct_phone": "Maybe: please request direct dial via people/bulk_match",
        "organization": {
            "name": org.get("name"),
            "has_industry": bool(org.get("industry")),
            "has_phone": False,
            "has_city": True,
            "has_state": True,
            "has_country": True,
            "has_zip_code": False,
            "has_revenue": False,
            "has_employee_count": bool(org.get("estimated_num_employees")),
        },
    }


def rate_limited(retry_after: str | None = None) -> Reply:
    message = (
        "The maximum number of api calls allowed for api/v1/mixed_people/api_search is 200 times per minute. "
        "Please upgrade your plan from https://app.apollo.io/#/settings/plans/upgrade."
    )
    return Reply(429, {"message": message}, {"retry-after": retry_after} if retry_after else {})


def unprocessable(message: str) -> Reply:
    return Reply(422, {"error": message})


class FakeApollo(FakeServer):
    def __init__(self, *, api_key: str, people: list[dict[str, Any]] | None = None, full_records: bool = False):
        super().__init__()
        self.api_key, self.people, self.full_records = api_key, people or [], full_records
        # Seconds each search page waits before its answer: a slow provider, to watch a run mid-way.
        self.page_delay_s = 0.0

    def answer(self, request: Received) -> Reply:
        if request.method != "POST" or request.path != SEARCH_PATH:
            return Reply(404, {"error": "Not Found"})
        bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
        if self.api_key not in (request.headers.get("x-api-key"), bearer):
            return Reply(401, {"error": "Invalid access credentials."})
        scripted = self.scripted()
        if scripted:
            return scripted
        try:
            page, per_page = int(request.param("page", "1")), min(int(request.param("per_page", "10")), 100)
        except ValueError:
            return unprocessable("page and per_page must be integers")
        chunk = self.people[(page - 1) * per_page : page * per_page]
        total = len(self.people)
        if self.full_records:
            pages = math.ceil(total / per_page)
            pagination = {"page": page, "per_page": per_page, "total_entries": total, "total_pages": pages}
            return Reply(200, {"people": chunk, "pagination": pagination}, delay_s=self.page_delay_s)
        body = {"total_entries": total, "people": [teaser(record) for record in chunk]}
        return Reply(200, body, delay_s=self.page_delay_s)
