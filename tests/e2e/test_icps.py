"""ICP profiles over HTTP: create, list, read, update, delete, and typed validation errors."""

from __future__ import annotations

import uuid

import httpx

from tests.e2e.helpers import assert_problem


def icp_body(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "name": f"VP Sales in Europe {uuid.uuid4().hex[:6]}",
        "titles": ["VP Sales", "Head of Sales"],
        "seniorities": ["vp", "head"],
        "industries": ["Software"],
        "companySizeMin": 50,
        "companySizeMax": 1000,
        "locations": ["Berlin", "London"],
        "keywords": ["saas"],
        "minScore": 50,
    }
    return body | overrides


def test_icp_lifecycle(client: httpx.Client) -> None:
    created = client.post("/v1/icps", json=icp_body(titles=[" VP Sales ", "vp sales", "CRO"]))
    assert created.status_code == 201, created.text
    icp = created.json()
    assert icp["titles"] == ["VP Sales", "CRO"]  # trimmed, de-duplicated case-insensitively
    assert icp["weights"] == {"title": 30, "seniority": 20, "industry": 15, "companySize": 15, "location": 10,
                              "keyword": 10}  # fmt: skip
    assert icp["id"] in [i["id"] for i in client.get("/v1/icps").json()["items"]]

    updated = client.put(f"/v1/icps/{icp['id']}", json=icp_body(name=icp["name"], minScore=70, companySizeMax=None))
    assert updated.status_code == 200, updated.text
    assert updated.json()["minScore"] == 70 and updated.json()["companySizeMax"] is None
    assert client.get(f"/v1/icps/{icp['id']}").json()["minScore"] == 70

    assert client.delete(f"/v1/icps/{icp['id']}").status_code == 204
    assert_problem(client.get(f"/v1/icps/{icp['id']}"), 404)
    assert_problem(client.delete(f"/v1/icps/{icp['id']}"), 404)


def test_validation_names_every_field_at_fault(client: httpx.Client) -> None:
    bad = icp_body(titles=[], seniorities=["vp", "wizard"], companySizeMin=500, companySizeMax=10, minScore=120)
    problem = assert_problem(client.post("/v1/icps", json=bad), 422)
    fields = {e["field"] for e in problem["errors"]}
    assert {"titles", "seniorities", "companySizeMin", "minScore"} <= fields
    weights = icp_body(weights={"title": 90, "seniority": 20, "industry": 0, "companySize": 0, "location": 0,
                                "keyword": 0})  # fmt: skip
    assert {e["field"] for e in assert_problem(client.post("/v1/icps", json=weights), 422)["errors"]} == {"weights"}
    assert_problem(client.post("/v1/icps", json=icp_body(colour="red")), 422)
    assert_problem(client.post("/v1/icps", json=icp_body(titles="VP Sales")), 422)


def test_duplicate_name_is_a_conflict(client: httpx.Client) -> None:
    body = icp_body()
    assert client.post("/v1/icps", json=body).status_code == 201
    assert_problem(client.post("/v1/icps", json=body), 409)
