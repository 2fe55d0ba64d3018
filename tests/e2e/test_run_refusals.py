"""A run whose emails the mail room refuses is a failed run that says why (#19): a subject longer than an email
carries is refused at its field before any run is made; one that only grows too long once rendered is refused by
the mail room for each lead, every receipt naming the subject, the leads failed, never counted as simulated."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from devstack.stack import Stack
from tests.e2e.helpers import assert_problem, until
from tests.e2e.test_icps import icp_body
from tests.e2e.test_lead_runs import finished, new_org


@pytest.fixture
def client(stack: Stack, base_url: str) -> Iterator[httpx.Client]:
    """Signed in to an org of its own: its runs' quota is the test's alone."""
    with new_org(stack, base_url) as made:
        yield made


def test_a_subject_longer_than_998_characters_is_refused_at_its_field(client: httpx.Client) -> None:
    icp = client.post("/v1/icps", json=icp_body(minScore=0)).json()
    body = {"icpId": icp["id"], "limit": 1, "dryRun": True}
    refused = assert_problem(client.post("/v1/lead-runs", json=body | {"email": {"subject": "x" * 999}}), 422)
    assert [e["field"] for e in refused["errors"]] == ["email.subject"]
    assert "998" in refused["errors"][0]["message"]
    assert client.post("/v1/lead-runs", json=body | {"email": {"subject": "x" * 998}}).status_code == 201


@pytest.mark.parametrize("dry_run", [False, True])
def test_a_run_whose_every_email_is_refused_fails_naming_the_subject(client: httpx.Client, dry_run: bool) -> None:
    icp = client.post("/v1/icps", json=icp_body(minScore=0)).json()
    # Within the limit as written (994 characters), too long once rendered: each of the 71 variables is the lead's
    # whole email address (longer than its 14 characters), so only the mail room can tell.
    subject = "{{lead.email}}" * 71
    assert len(subject) <= 998
    created = client.post(
        "/v1/lead-runs", json={"icpId": icp["id"], "limit": 4, "dryRun": dry_run, "email": {"subject": subject}}
    )
    assert created.status_code == 201, created.text
    client.post(f"/v1/lead-runs/{created.json()['id']}/jobs").raise_for_status()
    run = finished(client, created.json()["id"], timeout_s=90)
    leads = client.get(f"/v1/lead-runs/{run['id']}/leads").json()["leads"]
    emailed = [lead for lead in leads if lead["email"]]
    assert emailed, f"the sandbox gives leads with an email: {run} {leads}"
    for lead in emailed:
        [email] = [
            r for r in client.get(f"/v1/lead-runs/{run['id']}/leads/{lead['leadId']}/receipts").json()["receipts"]
            if r["kind"] == "email"
        ]  # fmt: skip
        assert (email["status"], email["error"]) == (
            "failed",
            "the mail room refused the subject: at most 998 characters",
        )
        assert lead["status"] == "failed" and lead["error"].startswith("every action failed: the mail room refused")
    progress = run["progress"]
    assert progress["simulated"] == 0 and progress["failedActions"] == len(emailed)
    assert progress["failed"] == len(emailed)
    if len(emailed) == len(leads):
        said = "its one lead failed" if len(leads) == 1 else f"all {len(leads)} leads failed"
        assert run["state"] == "failed" and run["error"] == said, run


def test_a_refused_lead_put_right_and_tried_again_is_emailed_once_as_it_is_now(client: httpx.Client) -> None:
    icp = client.post("/v1/icps", json=icp_body(minScore=0)).json()
    subject = "{{lead.email}}" * 71  # too long once rendered with the sandbox's addresses, not with a short one
    created = client.post("/v1/lead-runs", json={"icpId": icp["id"], "limit": 1, "email": {"subject": subject}})
    assert created.status_code == 201, created.text
    client.post(f"/v1/lead-runs/{created.json()['id']}/jobs").raise_for_status()
    run = finished(client, created.json()["id"], timeout_s=90)
    [lead] = client.get(f"/v1/lead-runs/{run['id']}/leads").json()["leads"]
    assert lead["status"] == "failed", lead

    short = f"{uuid.uuid4().hex[:4]}@ex.io"  # 71 of it fit in a subject
    client.patch(f"/v1/leads/{lead['leadId']}", json={"email": short}).raise_for_status()
    tried = client.post(f"/v1/lead-runs/{run['id']}/leads/{lead['leadId']}/retry")
    assert tried.status_code == 202, tried.text
    again = finished(client, run["id"], timeout_s=90)
    assert again["state"] == "completed" and again["progress"]["sent"] == 1, again

    def captured() -> list[dict]:
        mail = client.get("/v1/captured-mail", params={"limit": 200}).json()["mail"]
        return [m for m in mail if short in m["to"]]

    [email] = until(captured, what="the email to the lead as it is now")
    assert email["subject"] == short * 71
    emails = [
        r for r in client.get(f"/v1/lead-runs/{run['id']}/leads/{lead['leadId']}/receipts").json()["receipts"]
        if r["kind"] == "email"
    ]  # fmt: skip
    assert [r["status"] for r in emails] == ["failed", "sent"]  # both tries' receipts kept


def test_a_done_lead_whose_email_was_refused_is_tried_again_for_it(client: httpx.Client) -> None:
    """Its call task skipped (the sandbox's people have no phone) and its email refused, the lead is done, not
    failed: it is still offered a try again, and the failed action counts until the email goes."""
    icp = client.post("/v1/icps", json=icp_body(minScore=0)).json()
    body = {"icpId": icp["id"], "limit": 1, "email": {"subject": "{{lead.email}}" * 71}}
    created = client.post("/v1/lead-runs", json=body | {"channels": {"email": "send", "call": True}})
    assert created.status_code == 201, created.text
    client.post(f"/v1/lead-runs/{created.json()['id']}/jobs").raise_for_status()
    run = finished(client, created.json()["id"], timeout_s=90)
    [lead] = client.get(f"/v1/lead-runs/{run['id']}/leads").json()["leads"]
    assert lead["status"] == "done" and "email:failed" in lead["outcomes"], lead
    assert run["state"] == "completed" and run["progress"]["failedActions"] == 1, run

    short = f"{uuid.uuid4().hex[:4]}@ex.io"
    client.patch(f"/v1/leads/{lead['leadId']}", json={"email": short}).raise_for_status()
    tried = client.post(f"/v1/lead-runs/{run['id']}/leads/{lead['leadId']}/retry")
    assert tried.status_code == 202, tried.text
    again = finished(client, run["id"], timeout_s=90)
    assert again["progress"]["sent"] == 1 and again["progress"]["failedActions"] == 0, again
    [lead] = client.get(f"/v1/lead-runs/{run['id']}/leads").json()["leads"]
    assert "email:sent" in lead["outcomes"] and "email:failed" not in lead["outcomes"], lead
    # Nothing failed is left: a second try is refused.
    assert_problem(client.post(f"/v1/lead-runs/{run['id']}/leads/{lead['leadId']}/retry"), 409)
