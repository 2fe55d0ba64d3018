"""A lead run never cold-emails a lead the org is already talking to (#19's review): a lead in a sequence, or one
emailed or heard from within the run's `recentContactDays`, is skipped with a receipt in words and counted as
skipped, in a dry run as in a real one; and the run still works its limit of other leads. The SMTP server is the
witness of what was sent."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from devstack.stack import Stack
from tests.e2e.helpers import assert_problem, until
from tests.e2e.test_icps import icp_body
from tests.e2e.test_lead_runs import finished, new_org, witness_mailbox
from tests.e2e.test_search_runs import wait_run
from tests.e2e.test_sequences import OPEN_WINDOW
from tests.fakes.smtp_witness import Witness


def run_on(client: httpx.Client, icp_id: str, tag: str, **body: Any) -> dict[str, Any]:
    """A run of the ICP, started and finished, its emails' subjects ending with `tag`."""
    email = {"subject": f"A quick idea {tag}", "body": "Hi {{ lead.firstName | default('there') }}"}
    created = client.post("/v1/lead-runs", json={"icpId": icp_id, "limit": 2, "email": email} | body)
    assert created.status_code == 201, created.text
    assert client.post(f"/v1/lead-runs/{created.json()['id']}/jobs").status_code == 202
    return finished(client, created.json()["id"], timeout_s=90)


def leads_of(client: httpx.Client, run_id: str) -> dict[str, dict[str, Any]]:
    return {lead["leadId"]: lead for lead in client.get(f"/v1/lead-runs/{run_id}/leads?limit=200").json()["leads"]}


def emailed(client: httpx.Client, run_id: str) -> set[str]:
    return {lead for lead, row in leads_of(client, run_id).items() if "email:sent" in row["outcomes"]}


def why_skipped(client: httpx.Client, run_id: str) -> dict[str, str]:
    skipped = client.get(f"/v1/lead-runs/{run_id}/leads", params={"status": "skipped", "limit": 200}).json()["leads"]
    found = {}
    for lead in skipped:
        receipts = client.get(f"/v1/lead-runs/{run_id}/leads/{lead['leadId']}/receipts").json()["receipts"]
        [check] = [r for r in receipts if r["kind"] == "contact_check"]
        assert check["status"] == "skipped", check
        found[lead["leadId"]] = check["detail"]
    return found


def test_a_run_skips_leads_in_a_sequence_or_a_recent_conversation(
    stack: Stack, base_url: str, witness: tuple[Witness, int]
) -> None:
    handler, port = witness
    tag = uuid.uuid4().hex[:8]
    with new_org(stack, base_url) as client:
        witness_mailbox(client, port)
        icp = client.post("/v1/icps", json=icp_body(minScore=0)).json()

        # A first run emails its two leads.
        first = run_on(client, icp["id"], f"{tag}-a")
        assert first["state"] == "completed", first
        first_emailed = emailed(client, first["id"])
        assert first_emailed and len(first_emailed) == first["progress"]["sent"]
        until(lambda: len(handler.ours(f"{tag}-a")) == len(first_emailed), what="the first run's emails")

        # Another of the ICP's leads is enrolled in a sequence (its first email goes out).
        search = client.post(f"/v1/icps/{icp['id']}/search", json={"source": "sandbox", "limit": 4}).json()
        wait_run(client, icp["id"], search["runId"])
        listed = client.get("/v1/leads", params={"searchRunId": search["runId"], "filtered": "all", "limit": 50})
        found = listed.json()["items"]
        enrolled = next(lead for lead in found if lead["email"] and lead["id"] not in leads_of(client, first["id"]))
        # Its second step waits three business days: the lead is in the sequence meanwhile.
        steps = [
            {"channel": "email", "delayAmount": 0, "subjectTemplate": f"Hello {tag}-s", "bodyTemplate": "Hi"},
            {"channel": "email", "delayAmount": 3, "delayUnit": "business_days", "subjectTemplate": "Again",
             "bodyTemplate": "Any thoughts?"},
        ]  # fmt: skip
        sequence = client.post("/v1/sequences", json={"name": f"Spring {tag}", "window": OPEN_WINDOW, "steps": steps})
        assert sequence.status_code == 201, sequence.text
        seq = f"/v1/sequences/{sequence.json()['id']}"
        assert client.post(f"{seq}/activate").status_code == 200
        assert client.post(f"{seq}/enrollments", json={"leadIds": [enrolled["id"]]}).json()["enrolled"]
        until(lambda: handler.ours(f"{tag}-s"), what="the sequence's first email")

        # A second run on the same ICP leaves all three out, saying why, and works two other leads.
        second = run_on(client, icp["id"], f"{tag}-b")
        assert second["state"] == "completed", second
        said = why_skipped(client, second["id"])
        assert said, second  # the leads in touch its searches found again are left out, saying why
        if enrolled["id"] in said:
            assert said[enrolled["id"]] == f'already in the sequence "Spring {tag}" (active)'
        for lead in first_emailed & set(said):  # those the second run's searches found again
            assert said[lead].startswith("in a conversation: emailed on ") and said[lead].endswith("last 30 days")
        assert said.keys() <= first_emailed | {enrolled["id"]}  # nobody else is taken for a lead in touch
        assert second["progress"]["skipped"] == len(said)
        assert 1 <= second["progress"]["total"] <= 2  # at most its limit, of leads nobody is talking to
        second_emailed = emailed(client, second["id"])
        assert not second_emailed & (first_emailed | {enrolled["id"]})
        # The witness: one email per lead the second run worked, and none again to the first run's leads.
        until(lambda: len(handler.ours(f"{tag}-b")) == len(second_emailed), what="the second run's emails")
        assert len(handler.ours(f"{tag}-a")) == len(first_emailed)

        # A dry run shows the same skips (and those the second run just emailed), and sends nothing.
        before = len(handler.accepted)
        dry = run_on(client, icp["id"], f"{tag}-d", dryRun=True)
        dry_said = why_skipped(client, dry["id"])
        assert {lead: dry_said.get(lead) for lead in said} == said
        assert second_emailed <= set(dry_said)
        assert dry["progress"]["skipped"] == len(dry_said)
        assert len(handler.accepted) == before

        # How recent a conversation skips a lead is the run's to choose, within 1-90 days.
        refused = assert_problem(
            client.post("/v1/lead-runs", json={"icpId": icp["id"], "limit": 2, "recentContactDays": 91}), 422
        )
        assert [e["field"] for e in refused["errors"]] == ["recentContactDays"]
