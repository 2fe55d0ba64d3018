"""Search runs end to end: sandbox sourcing, diagnostics, idempotency, no duplicates, resumable runs."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from devstack.stack import Stack
from tests.e2e.helpers import assert_problem, leads_named
from tests.e2e.test_icps import icp_body
from tests.fakes.apollo import rate_limited, unprocessable
from tests.fakes.server import server_error


def wait_run(client: httpx.Client, icp_id: str, run_id: str, *, timeout_s: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        run = client.get(f"/v1/icps/{icp_id}/search-runs/{run_id}").json()
        if run["status"] in ("completed", "failed", "cancelled"):  # every state a run ends in
            return run
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} still {run['status']}")


def all_leads(client: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    leads, cursor = [], None
    while True:
        page = client.get("/v1/leads", params={**params, "limit": 500, **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200, page.text
        leads += page.json()["items"]
        cursor = page.json()["nextCursor"]
        if not cursor:
            return leads


def start_and_wait_for_pages(client: httpx.Client, icp_id: str, *, limit: int, pages: int) -> dict[str, Any]:
    """A sandbox run started and `pages` of it fetched: the moment to interrupt it mid-run."""
    started = client.post(f"/v1/icps/{icp_id}/search", json={"source": "sandbox", "limit": limit}).json()
    deadline = time.monotonic() + 30
    while client.get(f"/v1/icps/{icp_id}/search-runs/{started['runId']}").json()["pagesFetched"] < pages:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    return started


def assert_balanced(d: dict[str, int]) -> None:
    """Every fetched person is accounted for exactly once."""
    assert d["fetched"] == d["duplicates"] + d["failed"] + d["created"] + d["updated"], d
    assert d["withEmail"] + d["withoutEmail"] == d["created"] + d["updated"], d


@pytest.fixture
def icp(client: httpx.Client) -> dict[str, Any]:
    return client.post("/v1/icps", json=icp_body(minScore=60)).json()


def test_sandbox_search_sources_scored_deduplicated_leads(client: httpx.Client, icp: dict[str, Any]) -> None:
    started = client.post(f"/v1/icps/{icp['id']}/search", json={"source": "sandbox", "limit": 3000})
    assert started.status_code == 202, started.text
    body = started.json()
    assert body["existing"] is False and body["run"]["status"] == "queued" and body["jobId"]

    run = wait_run(client, icp["id"], body["runId"])
    assert run["status"] == "completed", run["error"]
    d = run["diagnostics"]
    assert run["peopleFetched"] == d["fetched"] == 3000 and run["pagesFetched"] == 3
    assert_balanced(d)
    assert d["created"] > 2000 and d["duplicates"] > 0 and d["withoutEmail"] > 0 and d["filtered"] > 0

    sourced = all_leads(client, searchRunId=run["id"], filtered="all")
    touched = d["created"] + d["updated"]  # updated: people an earlier run (another ICP) had sourced
    assert len(sourced) == touched
    emails = [lead["email"] for lead in sourced if lead["email"]]
    assert len(emails) == len(set(emails)) == d["withEmail"]
    assert all(e == e.strip().lower() for e in emails)
    assert sum(lead["filtered"] for lead in sourced) == d["filtered"]
    assert all(lead["score"] < 60 for lead in sourced if lead["filtered"])
    assert all(lead["score"] >= 60 for lead in sourced if not lead["filtered"])
    visible = all_leads(client, searchRunId=run["id"])
    assert len(visible) == touched - d["filtered"]

    again = client.post(f"/v1/icps/{icp['id']}/search", json={"source": "sandbox", "limit": 3000}).json()
    assert again["existing"] is True and again["runId"] == run["id"]

    forced = client.post(f"/v1/icps/{icp['id']}/search", json={"source": "sandbox", "limit": 3000, "force": True})
    rerun = wait_run(client, icp["id"], forced.json()["runId"])
    assert rerun["id"] != run["id"] and rerun["status"] == "completed"
    assert rerun["diagnostics"]["created"] == 0  # the same people again: no duplicate leads
    assert rerun["diagnostics"]["updated"] == touched
    assert len(all_leads(client, icpId=icp["id"], filtered="all")) == touched

    runs = client.get(f"/v1/icps/{icp['id']}/search-runs").json()["items"]
    assert [r["id"] for r in runs] == [rerun["id"], run["id"]]


def test_a_user_edit_survives_a_later_run(client: httpx.Client, icp: dict[str, Any]) -> None:
    run = client.post(f"/v1/icps/{icp['id']}/search", json={"source": "sandbox", "limit": 200}).json()
    wait_run(client, icp["id"], run["runId"])
    lead = next(lead for lead in all_leads(client, searchRunId=run["runId"], filtered="all") if lead["email"])
    edited = client.patch(f"/v1/leads/{lead['id']}", json={"title": "Chief Everything Officer"})
    assert edited.status_code == 200 and edited.json()["editedFields"] == ["title"]

    forced = client.post(f"/v1/icps/{icp['id']}/search", json={"source": "sandbox", "limit": 200, "force": True})
    wait_run(client, icp["id"], forced.json()["runId"])
    after = client.get(f"/v1/leads/{lead['id']}").json()
    assert after["title"] == "Chief Everything Officer"
    assert after["searchRunId"] == forced.json()["runId"]


def test_lead_detail_explains_its_score(client: httpx.Client, icp: dict[str, Any]) -> None:
    run = client.post(f"/v1/icps/{icp['id']}/search", json={"source": "sandbox", "limit": 100}).json()
    wait_run(client, icp["id"], run["runId"])
    lead = all_leads(client, searchRunId=run["runId"], filtered="all")[0]
    detail = client.get(f"/v1/leads/{lead['id']}").json()
    rows = detail["scoreExplanation"]
    assert [r["rule"] for r in rows] == ["title", "seniority", "industry", "company_size", "location", "keyword"]
    assert detail["score"] == sum(r["weight"] for r in rows if r["matched"])
    assert detail["icpId"] == icp["id"]


def test_worker_restart_mid_run_fetches_and_creates_nothing_twice(
    stack: Stack, client: httpx.Client, icp: dict[str, Any]
) -> None:
    started = start_and_wait_for_pages(client, icp["id"], limit=8000, pages=2)
    stack.supervisor.kill("icp-worker")
    stopped_at = client.get(f"/v1/icps/{icp['id']}/search-runs/{started['runId']}").json()
    assert stopped_at["status"] == "running" and stopped_at["pagesFetched"] < 8
    stack.supervisor.restart("icp-worker")

    run = wait_run(client, icp["id"], started["runId"])
    assert run["status"] == "completed"
    assert run["pagesFetched"] == 8 and run["peopleFetched"] == run["diagnostics"]["fetched"] == 8000
    assert_balanced(run["diagnostics"])
    job = client.get(f"/v1/jobs/{started['jobId']}").json()
    assert job["status"] == "completed" and job["attempts"] == 2
    leads = all_leads(client, searchRunId=run["id"], filtered="all")
    assert len(leads) == run["diagnostics"]["created"] + run["diagnostics"]["updated"]
    emails = [lead["email"] for lead in leads if lead["email"]]
    assert len(emails) == len(set(emails))


def test_provider_without_a_key_is_503_naming_the_setting(client: httpx.Client, icp: dict[str, Any]) -> None:
    lead = client.post("/v1/leads", json={"email": f"k-{icp['id'][:8]}@example.com", "firstName": "K", "lastName": "L"})
    problem = assert_problem(client.post(f"/v1/leads/{lead.json()['leadId']}/enrich", json={"provider": "hunter"}), 503)
    assert "HUNTER_API_KEY" in problem["detail"]
    assert (problem["title"], problem["settings"]) == ("Not set up", ["HUNTER_API_KEY"])  # not "temporarily"
    assert_problem(client.post(f"/v1/icps/{icp['id']}/search", json={"source": "linkedin"}), 422)


def test_apollo_search_runs_the_real_adapter_against_apollos_api(client: httpx.Client, fake_apollo: Any) -> None:
    icp = client.post("/v1/icps", json=icp_body(titles=["VP Sales"], industries=[], locations=[], keywords=[])).json()
    started = client.post(f"/v1/icps/{icp['id']}/search", json={"source": "apollo", "limit": 1000}).json()
    run = wait_run(client, icp["id"], started["runId"])
    assert run["status"] == "completed", run["error"]
    assert run["pagesFetched"] == 3 and run["diagnostics"]["fetched"] == 250  # 100 a page, then the end
    assert_balanced(run["diagnostics"])
    searches = [r for r in fake_apollo.received if r.path.endswith("/mixed_people/api_search")]
    assert all(r.headers.get("x-api-key") for r in searches) and all("api_key" not in r.target for r in searches)
    lead = all_leads(client, searchRunId=run["id"], filtered="all")[0]
    assert lead["source"] == "apollo" and lead["email"].endswith(".io") and lead["companyDomain"]


def announced(stack: Stack, subject: str, run_id: str) -> dict[str, str]:
    """Lead id -> email of every lead the subject's events name for this search run (each named once)."""
    named = [
        (lead_id, email)
        for lead_id, email, run in leads_named(stack.env["leads"]["NATS_URL"], subject)
        if run == run_id
    ]
    assert len(named) == len(dict(named)), "a lead was named twice"
    return dict(named)


def test_search_run_pages_announce_the_leads_they_created_and_merged(
    stack: Stack, client: httpx.Client, icp: dict[str, Any]
) -> None:
    started = client.post(f"/v1/icps/{icp['id']}/search", json={"source": "sandbox", "limit": 1500}).json()
    run = wait_run(client, icp["id"], started["runId"])
    time.sleep(1)  # the outbox relay publishes right after each commit
    sourced = {lead["id"]: lead["email"] or "" for lead in all_leads(client, searchRunId=run["id"], filtered="all")}
    created = announced(stack, "leads.lead.created", run["id"])
    updated = announced(stack, "leads.lead.updated", run["id"])  # people another ICP's run had sourced
    assert len(created) == run["diagnostics"]["created"] and len(updated) == run["diagnostics"]["updated"]
    assert created | updated == sourced  # every lead the run touched, by id and email, and no other

    forced = client.post(f"/v1/icps/{icp['id']}/search", json={"source": "sandbox", "limit": 1500, "force": True})
    rerun = wait_run(client, icp["id"], forced.json()["runId"])
    time.sleep(1)
    assert announced(stack, "leads.lead.created", rerun["id"]) == {}
    merged = announced(stack, "leads.lead.updated", rerun["id"])
    assert merged == sourced and len(merged) == rerun["diagnostics"]["updated"]


def test_provider_validation_error_fails_the_run_with_its_message(client: httpx.Client, fake_apollo: Any) -> None:
    icp = client.post("/v1/icps", json=icp_body(titles=["Astronaut"])).json()
    fake_apollo.script(unprocessable("person_titles[] is not a valid filter for your plan"))
    started = client.post(f"/v1/icps/{icp['id']}/search", json={"source": "apollo", "limit": 50}).json()
    run = wait_run(client, icp["id"], started["runId"])
    assert run["status"] == "failed" and "not a valid filter for your plan" in run["error"]
    job = client.get(f"/v1/jobs/{started['jobId']}").json()
    assert job["status"] == "failed" and job["attempts"] == 1  # no retry for a refusal


def test_provider_5xx_and_429_are_retried(client: httpx.Client, fake_apollo: Any) -> None:
    icp = client.post("/v1/icps", json=icp_body(titles=["Treasurer"])).json()
    fake_apollo.script(server_error(), rate_limited(retry_after="1"))
    before = len(fake_apollo.received)
    started = client.post(f"/v1/icps/{icp['id']}/search", json={"source": "apollo", "limit": 50}).json()
    run = wait_run(client, icp["id"], started["runId"])
    assert run["status"] == "completed" and run["diagnostics"]["fetched"] == 50
    assert len(fake_apollo.received) - before == 3  # 500, 429, then the page


@pytest.mark.parametrize("stop", ["restart", "kill"])
def test_the_leads_service_stopping_mid_run_does_not_fail_the_run(
    stack: Stack, client: httpx.Client, icp: dict[str, Any], stop: str
) -> None:
    started = start_and_wait_for_pages(client, icp["id"], limit=6000, pages=2)
    if stop == "restart":
        stack.supervisor.restart("leads")  # the run's next hand-over meets a service that is away
    else:  # a crash: the pages it was applying roll back, the people they shared with later pages too
        stack.supervisor.kill("leads")
        stack.supervisor.restart("leads")

    run = wait_run(client, icp["id"], started["runId"])
    assert run["status"] == "completed", run["error"]
    assert run["diagnostics"]["fetched"] == 6000 and run["pagesFetched"] == 6
    assert_balanced(run["diagnostics"])
    leads = all_leads(client, searchRunId=run["id"], filtered="all")
    assert len(leads) == run["diagnostics"]["created"] + run["diagnostics"]["updated"]
    emails = [lead["email"] for lead in leads if lead["email"]]
    assert len(emails) == len(set(emails))


def test_deleting_the_icp_mid_run_stops_the_run_with_the_reason(client: httpx.Client, icp: dict[str, Any]) -> None:
    started = start_and_wait_for_pages(client, icp["id"], limit=50_000, pages=2)
    assert client.delete(f"/v1/icps/{icp['id']}").status_code == 204
    deadline = time.monotonic() + 30
    while (job := client.get(f"/v1/jobs/{started['jobId']}").json())["status"] not in ("completed", "failed"):
        assert time.monotonic() < deadline, job
        time.sleep(0.1)
    assert (job["status"], job["attempts"]) == ("failed", 1)
    assert job["error"] == "stopped: the ICP was deleted during the search run"
    assert_problem(client.get(f"/v1/icps/{icp['id']}/search-runs/{started['runId']}"), 404)
    kept = all_leads(client, searchRunId=started["runId"], filtered="all")
    assert kept and all(lead["icpId"] == icp["id"] for lead in kept)  # what it sourced stays
