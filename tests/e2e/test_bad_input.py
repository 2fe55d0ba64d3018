"""Inputs PostgreSQL or gRPC cannot carry as given: each a 4xx problem naming what is wrong, never a 500."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.e2e.helpers import assert_problem, unique_email
from tests.e2e.test_icps import icp_body

HUGE = "a" * 5000  # an echo of it in an error once overflowed gRPC's 8 KB trailers: a 500


def _fields(problem: dict[str, Any]) -> set[str]:
    return {error["field"] for error in problem.get("errors", [])}


@pytest.fixture(scope="module")
def lead_id(base_url: str, demo_token: str) -> str:
    with httpx.Client(base_url=base_url, headers={"authorization": f"Bearer {demo_token}"}, timeout=10) as client:
        body = {"email": unique_email("bad-input"), "firstName": "Ada", "lastName": "Lovelace"}
        reply = client.post("/v1/leads", json=body)
        assert reply.status_code == 201, reply.text
        return reply.json()["leadId"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (icp_body(name="VP\x00Sales"), "name"),
        (icp_body(titles=["VP\x00Sales"]), "titles"),
        (icp_body(weights={"title": 10**12}), "weights.title"),
        (icp_body(companySizeMax=10**15), "companySizeMax"),
    ],
)
def test_an_icp_that_cannot_be_stored_is_refused_naming_the_field(
    client: httpx.Client, body: dict[str, Any], field: str
) -> None:
    problem = assert_problem(client.post("/v1/icps", json=body), 422)
    assert field in _fields(problem), problem


def test_a_lead_with_a_nul_character_is_refused_naming_the_field(client: httpx.Client, lead_id: str) -> None:
    created = client.post("/v1/leads", json={"email": unique_email(), "firstName": "Ada", "lastName": "Love\x00lace"})
    assert "lastName" in _fields(assert_problem(created, 422))
    edited = client.patch(f"/v1/leads/{lead_id}", json={"title": "C\x00TO"})
    assert "title" in _fields(assert_problem(edited, 422))
    assert client.get(f"/v1/leads/{lead_id}").json()["title"] == ""  # nothing was written


def test_a_csv_row_with_a_nul_character_is_a_row_error_and_the_rest_import(client: httpx.Client) -> None:
    good, bad = unique_email("csv-good"), unique_email("csv-nul")
    csv_text = f"email,firstName,lastName\n{good},Ada,Lovelace\n{bad},Gr\x00ace,Hopper\n"
    reply = client.post("/v1/leads/import", content=csv_text.encode(), headers={"content-type": "text/csv"})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["created"] == 1
    assert [error["line"] for error in body["errors"]] == [3]
    assert "NUL" in body["errors"][0]["message"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", f"/v1/leads/{HUGE}"),
        ("DELETE", f"/v1/leads/{HUGE}"),
        ("POST", f"/v1/leads/{HUGE}/enrich"),
        ("GET", f"/v1/icps/{HUGE}"),
        ("GET", f"/v1/jobs/{HUGE}"),
    ],
)
def test_a_huge_id_is_not_found_with_a_short_message(client: httpx.Client, method: str, path: str) -> None:
    problem = assert_problem(client.request(method, path, **({"json": {}} if method == "POST" else {})), 404)
    assert len(problem["detail"]) < 300


def test_a_huge_provider_name_is_refused(client: httpx.Client) -> None:
    icp = client.post("/v1/icps", json=icp_body()).json()
    assert "source" in _fields(assert_problem(client.post(f"/v1/icps/{icp['id']}/search", json={"source": HUGE}), 422))


@pytest.mark.parametrize("field", ["icpId", "searchRunId"])
def test_an_export_with_a_bad_filter_is_an_error_before_any_csv(client: httpx.Client, field: str) -> None:
    reply = client.get("/v1/leads/export.csv", params={field: "not-an-id"})
    assert reply.headers["content-type"].startswith("application/problem+json")
    assert_problem(reply, 404)
    assert client.get("/v1/leads/export.csv", params={field: str(uuid.uuid4())}).status_code == 200


def test_a_sign_in_the_gateway_database_refuses_is_a_422(base_url: str) -> None:
    reply = httpx.post(f"{base_url}/v1/auth/login", json={"email": "demo@leadflood.local\x00", "password": "demo"})
    # Refused before the database, in our words: PostgreSQL's own ("invalid byte sequence ...") never answered.
    assert assert_problem(reply, 422)["errors"] == [{"field": "email", "message": "Not a valid email address"}]
    assert "UTF8" not in reply.text and "byte" not in reply.text


@pytest.mark.parametrize("path", ["/v1/leads", "/v1/leads/export.csv", "/v1/icps"])
def test_a_query_parameter_given_twice_is_refused_naming_it(client: httpx.Client, path: str) -> None:
    # Before, the last value won silently: ?status=new&status=failed listed the failed leads only.
    reply = client.get(path, params=[("status", "new"), ("status", "failed"), ("limit", "5")])
    problem = assert_problem(reply, 422)
    assert _fields(problem) == {"status"} and "given 2 times" in problem["errors"][0]["message"]
    assert client.get(path, params={"status": "new", "limit": "5"}).status_code == 200
