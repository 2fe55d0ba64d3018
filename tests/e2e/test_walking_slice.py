"""The walking slice, driven over HTTP like a client: sign in, create a lead, watch it enrich, read the job."""

from __future__ import annotations

import httpx

from leadflood_platform import registry
from tests.e2e.helpers import assert_problem, unique_email, wait_for_lead


def test_health_and_ready(base_url: str) -> None:
    assert httpx.get(f"{base_url}/health").json() == {"status": "ok"}
    ready = httpx.get(f"{base_url}/ready")
    assert ready.status_code == 200
    assert set(ready.json()["checks"]) == {"database", "nats", *(service.name for service in registry.services())}


def test_create_lead_is_enriched_and_its_job_recorded(client: httpx.Client) -> None:
    email = unique_email("Ada")
    created = client.post(
        "/v1/leads",
        json={
            "email": f"  {email.upper()} ",
            "firstName": "Ada",
            "lastName": "Lovelace",
            "companyName": "Analytical",
            "title": "VP Sales",
        },
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["lead"]["status"] == "new"
    assert body["lead"]["email"] == email.lower()  # trimmed and lower-cased

    lead = wait_for_lead(client, body["leadId"])
    assert lead["status"] == "enriched"
    assert lead["enrichment"]["companyDomain"] == "example.com"
    assert lead["enrichment"]["seniority"] == "vp"

    job = client.get(f"/v1/jobs/{body['jobId']}").json()
    assert job["status"] == "completed"
    assert job["type"] == "leads.enrich"
    assert job["attempts"] == 1 and job["maxAttempts"] == 3
    assert job["payload"]["leadId"] == body["leadId"]
    assert job["startedAt"] and job["finishedAt"] and job["error"] is None


def test_transient_provider_failure_is_retried(client: httpx.Client) -> None:
    created = client.post("/v1/leads", json={"email": unique_email("flaky"), "firstName": "F", "lastName": "L"}).json()
    assert wait_for_lead(client, created["leadId"])["status"] == "enriched"
    job = client.get(f"/v1/jobs/{created['jobId']}").json()
    assert job["status"] == "completed" and job["attempts"] == 2


def test_permanent_provider_failure_fails_the_lead_with_its_error(client: httpx.Client) -> None:
    created = client.post(
        "/v1/leads", json={"email": unique_email("unknown"), "firstName": "G", "lastName": "H"}
    ).json()
    lead = wait_for_lead(client, created["leadId"])
    assert lead["status"] == "failed"
    assert "no person found" in lead["error"]
    job = client.get(f"/v1/jobs/{created['jobId']}").json()
    assert job["status"] == "failed" and job["attempts"] == 1 and "no person found" in job["error"]


def test_duplicate_email_is_a_conflict(client: httpx.Client) -> None:
    email = unique_email()
    assert client.post("/v1/leads", json={"email": email, "firstName": "A", "lastName": "B"}).status_code == 201
    again = client.post("/v1/leads", json={"email": email.upper(), "firstName": "A", "lastName": "B"})
    assert_problem(again, 409)


def test_bad_input_is_a_4xx_problem_never_a_500(client: httpx.Client) -> None:
    valid = {"email": unique_email(), "firstName": "A", "lastName": "B"}
    malformed = client.post("/v1/leads", content=b"{not json", headers={"content-type": "application/json"})
    assert_problem(malformed, 422)
    wrong_type = assert_problem(client.post("/v1/leads", json={**valid, "firstName": 42}), 422)
    assert wrong_type["errors"][0]["field"] == "firstName"
    unknown = assert_problem(client.post("/v1/leads", json={**valid, "favouriteColour": "red"}), 422)
    assert unknown["errors"][0]["field"] == "favouriteColour"
    bad_email = assert_problem(client.post("/v1/leads", json={**valid, "email": "not-an-email"}), 422)
    assert bad_email["errors"] == [{"field": "email", "message": bad_email["errors"][0]["message"]}]
    missing = assert_problem(client.post("/v1/leads", json={"email": unique_email()}), 422)
    assert {e["field"] for e in missing["errors"]} == {"firstName", "lastName"}
    too_big = client.post("/v1/leads", content=b"x" * 1_100_000, headers={"content-type": "application/json"})
    assert_problem(too_big, 413)
    assert_problem(client.get("/v1/leads/not-a-uuid"), 404)
    assert_problem(client.get("/v1/jobs/00000000-0000-0000-0000-000000000000"), 404)


def test_every_response_has_a_request_id_and_echoes_a_given_one(client: httpx.Client) -> None:
    assert client.get("/health").headers["x-request-id"]
    assert client.get("/health", headers={"x-request-id": "abc-123"}).headers["x-request-id"] == "abc-123"


def test_requests_without_a_valid_token_are_401(base_url: str) -> None:
    assert_problem(httpx.get(f"{base_url}/v1/me"), 401)
    assert_problem(httpx.get(f"{base_url}/v1/me", headers={"authorization": "Bearer forged"}), 401)
    bad_login = httpx.post(f"{base_url}/v1/auth/login", json={"email": "demo@leadflood.local", "password": "nope"})
    assert_problem(bad_login, 401)
