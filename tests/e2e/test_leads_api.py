"""The lead list (filters, sorts, cursors), edits, deletion, re-enrichment and CSV import/export."""

from __future__ import annotations

import csv
import io
import time
import uuid
from typing import Any

import httpx
import pytest

from devstack.stack import Stack
from tests.e2e.helpers import assert_problem, leads_named, unique_email, until, wait_for_lead
from tests.e2e.test_icps import icp_body
from tests.e2e.test_search_runs import all_leads, wait_run


@pytest.fixture(scope="module")
def sourced(base_url: str, demo_token: str) -> dict[str, Any]:
    """An ICP with one completed sandbox run of 1,000 people."""
    with httpx.Client(base_url=base_url, headers={"authorization": f"Bearer {demo_token}"}, timeout=10) as client:
        icp = client.post("/v1/icps", json=icp_body(minScore=50)).json()
        run = client.post(f"/v1/icps/{icp['id']}/search", json={"source": "sandbox", "limit": 1000}).json()
        return {"icp": icp, "run": wait_run(client, icp["id"], run["runId"])}


def test_cursor_pages_cover_the_list_once_in_order(client: httpx.Client, sourced: dict[str, Any]) -> None:
    params = {"searchRunId": sourced["run"]["id"], "filtered": "all", "sort": "-score", "limit": 37}
    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = client.get("/v1/leads", params=params | ({"cursor": cursor} if cursor else {})).json()
        seen += page["items"]
        cursor = page["nextCursor"]
        if not cursor:
            break
    d = sourced["run"]["diagnostics"]
    assert len(seen) == len({lead["id"] for lead in seen}) == d["created"] + d["updated"]
    assert [lead["score"] for lead in seen] == sorted((lead["score"] for lead in seen), reverse=True)
    names = [lead["lastName"] for lead in all_leads(client, searchRunId=sourced["run"]["id"], sort="lastName")]
    assert names == sorted(names)


def test_filters_narrow_the_list(client: httpx.Client, sourced: dict[str, Any]) -> None:
    run_id = sourced["run"]["id"]
    everyone = all_leads(client, searchRunId=run_id, filtered="all")
    no_email = all_leads(client, searchRunId=run_id, filtered="all", hasEmail="no")
    assert no_email and all(lead["email"] is None for lead in no_email)
    assert len(no_email) == sum(lead["email"] is None for lead in everyone)
    high = all_leads(client, searchRunId=run_id, filtered="all", minScore=80)
    assert high and all(lead["score"] >= 80 for lead in high)
    only_filtered = all_leads(client, searchRunId=run_id, filtered="only")
    assert only_filtered and all(lead["filtered"] for lead in only_filtered)
    probe = next(lead for lead in everyone if lead["email"])
    found = all_leads(client, q=probe["email"].split("@")[0].upper(), filtered="all")
    assert probe["id"] in [lead["id"] for lead in found]
    by_icp = all_leads(client, icpId=sourced["icp"]["id"], filtered="all")
    assert {lead["id"] for lead in everyone} <= {lead["id"] for lead in by_icp}
    assert_problem(client.get("/v1/leads", params={"sort": "colour"}), 422)
    assert_problem(client.get("/v1/leads", params={"cursor": "garbage"}), 422)
    assert_problem(client.get("/v1/leads", params={"minScore": 101}), 422)
    crossed = assert_problem(client.get("/v1/leads", params={"minScore": 80, "maxScore": 20}), 422)
    assert [error["field"] for error in crossed["errors"]] == ["minScore"]


@pytest.mark.parametrize(("made_by", "used_with"), [("-score", "lastName"), ("lastName", "-score"), ("", "-score")])
def test_a_cursor_from_another_sort_is_refused(
    client: httpx.Client, sourced: dict[str, Any], made_by: str, used_with: str
) -> None:
    params = {"searchRunId": sourced["run"]["id"], "filtered": "all", "limit": 2}
    cursor = client.get("/v1/leads", params=params | ({"sort": made_by} if made_by else {})).json()["nextCursor"]
    assert cursor
    problem = assert_problem(client.get("/v1/leads", params=params | {"sort": used_with, "cursor": cursor}), 422)
    assert "cursor" in str(problem)


def test_search_matches_word_beginnings_in_names_company_and_email(client: httpx.Client) -> None:
    email = unique_email().replace("@", "+promo@")  # local part, plus-tag and domain are separate words
    lead = client.post(
        "/v1/leads", json={"email": email, "firstName": "Zephyrine", "lastName": "Quorvath", "companyName": "Blix Oy"}
    ).json()
    local, domain = email.split("@")

    def ids(query: str) -> list[str]:
        return [found["id"] for found in all_leads(client, q=query, filtered="all")]

    for query in ("zephyr", "QUORV zeph", "blix", "zephyrine quorvath blix", local.split("+")[0], "promo",
                  domain.split(".")[0], email.upper()):  # fmt: skip
        assert lead["leadId"] in ids(query), query
    assert lead["leadId"] not in ids("ephyrine")  # a word's middle is not its beginning
    assert lead["leadId"] not in ids("zephyrine nobody")  # every word must match
    assert ids("&|!:*()' <->") == ids("")  # operators are not words: no search at all, and no error
    assert_problem(client.get("/v1/leads", params={"q": "a b c d e f g h i"}), 422)


def test_edit_enrich_and_delete_a_lead(client: httpx.Client) -> None:
    created = client.post("/v1/leads", json={"email": unique_email(), "firstName": "Ed", "lastName": "It"}).json()
    wait_for_lead(client, created["leadId"])
    assert_problem(client.patch(f"/v1/leads/{created['leadId']}", json={"email": "nope"}), 422)
    assert_problem(client.patch(f"/v1/leads/{created['leadId']}", json={}), 422)
    edited = client.patch(f"/v1/leads/{created['leadId']}", json={"companyName": "Edited Inc"}).json()
    assert edited["companyName"] == "Edited Inc" and edited["editedFields"] == ["company_name"]

    again = client.post(f"/v1/leads/{created['leadId']}/enrich", json={"provider": "sandbox"})
    assert again.status_code == 202
    deadline_job = again.json()["jobId"]
    # On a deadline, not a number of polls: how fast a poll answers says nothing of how long the job takes.
    until(lambda: client.get(f"/v1/jobs/{deadline_job}").json()["status"] == "completed", what="the enrichment")
    detail = client.get(f"/v1/leads/{created['leadId']}").json()
    assert [run["status"] for run in detail["enrichmentHistory"]] == ["completed", "completed"]
    assert detail["enrichmentHistory"][0]["jobId"] == deadline_job
    assert detail["enrichmentHistory"][0]["fields"]["companyDomain"] == "example.com"

    assert client.delete(f"/v1/leads/{created['leadId']}").status_code == 204
    assert_problem(client.get(f"/v1/leads/{created['leadId']}"), 404)


def test_csv_import_reports_bad_rows_by_line_and_export_returns_them(client: httpx.Client) -> None:
    tag = uuid.uuid4().hex[:8]
    existing = client.post("/v1/leads", json={"email": f"old-{tag}@example.com", "firstName": "Old", "lastName": "L"})
    assert existing.status_code == 201
    body = "\n".join(
        [
            "email,firstName,lastName,companyName,title",
            f"new-{tag}@example.com,New,Person,Acme,CTO",
            "not-an-email,Bad,Row,,",
            f"OLD-{tag}@example.com,Old,Renamed,Acme,VP",
            f"nameless-{tag}@example.com,,,,",
            "",
        ]
    )
    reply = client.post("/v1/leads/import", content=body.encode(), headers={"content-type": "text/csv"})
    assert reply.status_code == 200, reply.text
    result = reply.json()
    assert (result["created"], result["updated"], result["failed"]) == (1, 1, 2)
    assert [e["line"] for e in result["errors"]] == [3, 5]

    exported = client.get("/v1/leads/export.csv", params={"q": tag, "filtered": "all", "sort": "lastName"})
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [(r["email"], r["lastName"]) for r in rows] == [(f"new-{tag}@example.com", "Person"),
                                                           (f"old-{tag}@example.com", "Renamed")]  # fmt: skip
    assert_problem(client.post("/v1/leads/import", content=b"a,b\n1,2", headers={"content-type": "text/csv"}), 422)
    assert_problem(client.post("/v1/leads/import", json={"rows": []}), 415)


def _import(client: httpx.Client, text: str) -> dict[str, Any]:
    reply = client.post("/v1/leads/import", content=text.encode(), headers={"content-type": "text/csv"})
    assert reply.status_code == 200, reply.text
    return reply.json()


def test_csv_import_reads_what_spreadsheets_write(client: httpx.Client) -> None:
    tag = uuid.uuid4().hex[:8]
    text = (
        "\ufeffEmail Address;First Name;Last Name;Company;Job Title\r\n"
        f'ada-{tag}@example.com;Ada;Lovelace;Analytical;"Head of\r\nEngines"\r\n'
        f"ada-{tag}@example.com;Ada;Lovelace;;Countess\r\n"  # the same person again, company left blank
        f"bob-{tag}@example.com;Bob;;x;y\r\n"
    )
    result = _import(client, text)
    assert (result["created"], result["updated"], result["failed"]) == (1, 1, 1), result
    assert [error["line"] for error in result["errors"]] == [5]  # the quoted line break counts as a line
    [ada] = all_leads(client, q=f"ada-{tag}", filtered="all")
    assert (ada["companyName"], ada["title"]) == ("Analytical", "Countess")  # as if applied one after the other


def test_a_csv_import_lists_the_first_thousand_errors_and_counts_them_all(client: httpx.Client) -> None:
    result = _import(client, "email,firstName,lastName\n" + "not-an-email,A,B\n" * 1200)
    assert (result["created"], result["updated"], result["failed"]) == (0, 0, 1200)
    assert [error["line"] for error in result["errors"]] == list(range(2, 1002))


def test_a_csv_export_imports_back_unchanged_even_with_line_breaks(client: httpx.Client) -> None:
    tag = uuid.uuid4().hex[:8]
    created = client.post("/v1/leads", json={"email": f"multi-{tag}@example.com", "firstName": "M", "lastName": "L"})
    client.patch(f"/v1/leads/{created.json()['leadId']}", json={"title": 'VP "Sales",\nEMEA'})
    exported = client.get("/v1/leads/export.csv", params={"q": f"multi-{tag}", "filtered": "all"}).text
    result = _import(client, exported)
    assert (result["created"], result["updated"], result["failed"]) == (0, 1, 0), result
    assert client.get(f"/v1/leads/{created.json()['leadId']}").json()["title"] == 'VP "Sales",\nEMEA'


def test_deleting_a_lead_before_its_enrichment_stops_the_job_with_the_reason(client: httpx.Client) -> None:
    jobs = []
    for _ in range(5):  # its enrichment is queued with it; the delete usually beats the worker to it
        created = client.post("/v1/leads", json={"email": unique_email("gone"), "firstName": "A", "lastName": "B"})
        assert client.delete(f"/v1/leads/{created.json()['leadId']}").status_code == 204
        jobs.append(created.json()["jobId"])
    deadline, ended = time.monotonic() + 30, []
    for job_id in jobs:
        while (job := client.get(f"/v1/jobs/{job_id}").json())["status"] not in ("completed", "failed"):
            assert time.monotonic() < deadline, job
            time.sleep(0.1)
        ended.append(job)
    assert all(job["attempts"] <= 1 for job in ended), ended  # never tried again, let alone three times
    stopped = [job for job in ended if job["status"] == "failed"]
    assert stopped and all(job["error"] == "stopped: the lead was deleted" for job in stopped), ended


def _named(stack: Stack, subject: str, lead_ids: set[str]) -> list[tuple[str, str, str]]:
    """(lead id, email, search run) of every mention of these leads in the subject's events."""
    return [named for named in leads_named(stack.env["leads"]["NATS_URL"], subject) if named[0] in lead_ids]


def test_a_lead_made_edited_and_imported_by_hand_is_named_in_events(stack: Stack, client: httpx.Client) -> None:
    email = unique_email("events")
    lead_id = client.post("/v1/leads", json={"email": email, "firstName": "Eve", "lastName": "Nt"}).json()["leadId"]
    wait_for_lead(client, lead_id)  # its enrichment is an update too
    assert client.patch(f"/v1/leads/{lead_id}", json={"title": "CTO"}).status_code == 200
    imported = f"imported-{email}"
    assert _import(client, f"email,firstName,lastName\n{imported},Imp,Orted\n{email},Eve,Renamed\n")["created"] == 1
    imported_id = next(lead["id"] for lead in all_leads(client, q=imported.split("@")[0]) if lead["email"] == imported)
    time.sleep(1)  # the outbox relay publishes right after each commit

    created = _named(stack, "leads.lead.created", {lead_id, imported_id})
    assert sorted(created) == sorted([(lead_id, email, ""), (imported_id, imported, "")])
    # Enriched, edited, then merged by the import: three changes, three events naming it.
    assert _named(stack, "leads.lead.updated", {lead_id}) == [(lead_id, email, "")] * 3


def test_a_lead_s_time_zone_is_set_by_hand_and_cleared(client: httpx.Client) -> None:
    created = client.post("/v1/leads", json={"email": unique_email("zone"), "firstName": "Z", "lastName": "One"})
    lead_id = created.json()["leadId"]
    assert client.get(f"/v1/leads/{lead_id}").json()["timeZone"] is None  # no location, no zone of its own
    bad = assert_problem(client.patch(f"/v1/leads/{lead_id}", json={"timeZone": "Mars/Olympus_Mons"}), 422)
    assert [e["field"] for e in bad["errors"]] == ["timeZone"]
    set_ = client.patch(f"/v1/leads/{lead_id}", json={"timeZone": "Asia/Tokyo"}).json()
    assert (set_["timeZone"], set_["timeZoneSource"]) == ("Asia/Tokyo", "lead")
    cleared = client.patch(f"/v1/leads/{lead_id}", json={"timeZone": ""}).json()
    assert cleared["timeZone"] is None


def test_a_lead_s_phone_is_kept_in_e164_and_a_bad_one_refused_at_its_field(client: httpx.Client) -> None:
    body = {"email": unique_email("phone"), "firstName": "P", "lastName": "One", "phone": "+1 (415) 555-0123"}
    created = client.post("/v1/leads", json=body)
    assert created.status_code == 201, created.text
    lead_id = created.json()["leadId"]
    assert created.json()["lead"]["phone"] == "+14155550123"
    assert client.get(f"/v1/leads/{lead_id}").json()["phone"] == "+14155550123"

    without_country = body | {"email": unique_email(), "phone": "415 555 0123"}
    local = assert_problem(client.post("/v1/leads", json=without_country), 422)
    assert [e["field"] for e in local["errors"]] == ["phone"] and "international form" in local["errors"][0]["message"]
    bad = assert_problem(client.patch(f"/v1/leads/{lead_id}", json={"phone": "call me"}), 422)
    assert [e["field"] for e in bad["errors"]] == ["phone"]
    assert client.get(f"/v1/leads/{lead_id}").json()["phone"] == "+14155550123"  # nothing written
    changed = client.patch(f"/v1/leads/{lead_id}", json={"phone": "0044 20 7946 0958"}).json()
    assert changed["phone"] == "+442079460958" and "phone" in changed["editedFields"]
    assert client.patch(f"/v1/leads/{lead_id}", json={"phone": ""}).json()["phone"] is None


def test_a_csv_import_reads_a_phone_column_and_refuses_a_bad_number_on_its_line(client: httpx.Client) -> None:
    tag = uuid.uuid4().hex[:8]
    result = _import(
        client,
        "Email,First Name,Last Name,Mobile Phone\n"
        f"sms-{tag}@example.com,Sam,Texter,+49 30 1234567\n"
        f"local-{tag}@example.com,Lou,Cal,030 1234567\n"
        f"none-{tag}@example.com,No,Phone,\n",
    )
    assert (result["created"], result["failed"]) == (2, 1)
    [error] = result["errors"]
    assert error["line"] == 3 and "phone" in error["message"]
    exported = client.get("/v1/leads/export.csv", params={"q": tag, "filtered": "all", "sort": "lastName"})
    rows = {r["email"]: r["phone"] for r in csv.DictReader(io.StringIO(exported.text))}
    # A cell starting with "+" is written as text for spreadsheets (a leading quote: the CSV injection rule);
    # the import reads it back as typed.
    assert rows == {f"sms-{tag}@example.com": "'+49301234567", f"none-{tag}@example.com": ""}
