"""Hunter's Email Finder as it answers on the wire (hunter.io/api-documentation/v2).

`GET /v2/email-finder?domain=&first_name=&last_name=`, the key in the `api_key` parameter or the `X-API-KEY`
header; `{"data": {...}, "meta": {...}}` on success, `{"errors": [{"id", "code", "details"}]}` otherwise.
Answering 404 when nobody is found is this fake's assumption; the adapter also handles `data.email: null`.
"""

from __future__ import annotations

from typing import Any

from tests.fakes.server import FakeServer, Received, Reply

FINDER_PATH = "/v2/email-finder"


def errors(status: int, error_id: str, details: str, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, {"errors": [{"id": error_id, "code": status, "details": details}]}, headers or {})


def found(first: str, last: str, domain: str, **overrides: Any) -> dict[str, Any]:
    """The `data` of an Email Finder answer."""
    data = {
        "first_name": first,
        "last_name": last,
        "email": f"{first}.{last}@{domain}".lower(),
        "score": 94,
        "domain": domain,
        "accept_all": False,
        "position": "Head of Growth",
        "twitter": None,
        "linkedin_url": f"https://www.linkedin.com/in/{first}-{last}".lower(),
        "phone_number": None,
        "company": domain.split(".")[0].title(),
        "sources": [],
        "verification": {"date": "2026-10-01", "status": "valid"},
    }
    return {**data, **overrides}


def usage_limited() -> Reply:
    return errors(429, "too_many_requests", "You have reached your usage limit.", {"retry-after": "1"})


class FakeHunter(FakeServer):
    def __init__(self, *, api_key: str, people: list[dict[str, Any]] | None = None) -> None:
        super().__init__()
        self.api_key = api_key
        self.people = {(p["domain"], p["first_name"].lower(), p["last_name"].lower()): p for p in people or []}

    def answer(self, request: Received) -> Reply:
        if request.method != "GET" or request.path != FINDER_PATH:
            return errors(404, "not_found", "The requested route doesn't exist")
        if (request.headers.get("x-api-key") or request.param("api_key")) != self.api_key:
            return errors(401, "authentication_failed", "No user found for the API key supplied")
        scripted = self.scripted()
        if scripted:
            return scripted
        domain, first, last = request.param("domain"), request.param("first_name"), request.param("last_name")
        if not domain:
            return errors(400, "wrong_params", "You are missing the domain parameter")
        if not (first and last):
            return errors(400, "wrong_params", "You are missing the first_name or last_name parameter")
        data = self.people.get((domain.lower(), first.lower(), last.lower()))
        if data is None:
            return errors(404, "email_not_found", f"No email address was found for {first} {last} at {domain}")
        params = {"first_name": first, "last_name": last, "full_name": None, "domain": domain, "company": None}
        return Reply(200, {"data": data, "meta": {"params": params}})
