"""Sequences over HTTP: a template error named at its field, the lifecycle and its 409s, enrollment with
its skips, the first email arriving in the captured mail with its unsubscribe headers, and a lead's reply
stopping that lead's enrollment (and no other's) within seconds; call tasks listed and completed; pressing
Enroll again enrolls (and mails) nobody twice unless asked to enroll again; the enrollments and the tasks
name their leads."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from devstack.stack import Stack
from tests.e2e.helpers import access_token, assert_problem, create_user, unique_email, until
from tests.e2e.test_icps import icp_body
from tests.e2e.test_search_runs import wait_run

# Every day, all day, in UTC: the first step goes at once whenever the test runs.
OPEN_WINDOW = {"days": [1, 2, 3, 4, 5, 6, 7], "startTime": "00:00", "endTime": "23:59", "timeZone": "UTC"}


def _sequence_body(tag: str, **first_step: Any) -> dict[str, Any]:
    return {
        "name": f"Outreach {tag}",
        "window": OPEN_WINDOW,
        "steps": [
            {
                "channel": "email",
                "delayAmount": 0,
                "subjectTemplate": f"Hello {{{{ lead.firstName }}}} {tag}",
                "bodyTemplate": 'Hi {{ lead.firstName | default("there") }}, how is {{ lead.companyName }}?',
            }
            | first_step,
            {
                "channel": "email",
                "delayAmount": 3,
                "delayUnit": "business_days",
                "subjectTemplate": f"Following up {tag}",
                "bodyTemplate": "Any thoughts?",
            },
        ],
    }


PHONE = "+14155550142"


def _lead(client: httpx.Client, first_name: str) -> dict[str, Any]:
    """A lead with an email and a phone (a call step makes a task only for a lead with a number to call)."""
    email = unique_email(first_name.lower())
    body = {"email": email, "firstName": first_name, "lastName": "Tester", "companyName": "Acme", "phone": PHONE}
    created = client.post("/v1/leads", json=body)
    assert created.status_code == 201, created.text
    return created.json()["lead"]


def _lead_without_email(client: httpx.Client) -> dict[str, Any]:
    """A sourced lead the sandbox found without an email (the API makes none by hand)."""
    icp = client.post("/v1/icps", json=icp_body()).json()
    run = client.post(f"/v1/icps/{icp['id']}/search", json={"source": "sandbox", "limit": 100}).json()
    wait_run(client, icp["id"], run["runId"])
    page = client.get("/v1/leads", params={"searchRunId": run["runId"], "hasEmail": "no", "filtered": "all"}).json()
    assert page["items"], "the sandbox gave no lead without an email"
    return page["items"][0]


def _captured(client: httpx.Client, subject: str) -> dict[str, Any] | None:
    mail = client.get("/v1/captured-mail", params={"limit": 200}).json()["mail"]
    return next((m for m in mail if m["subject"] == subject), None)


def _captured_count(client: httpx.Client, subject: str) -> int:
    """How many emails with this subject the capture server holds (among its latest 200)."""
    return sum(m["subject"] == subject for m in client.get("/v1/captured-mail", params={"limit": 200}).json()["mail"])


def _enrollments(client: httpx.Client, sequence_id: str, **params: Any) -> dict[str, dict[str, Any]]:
    """The sequence's enrollments by lead id."""
    reply = client.get(f"/v1/sequences/{sequence_id}/enrollments", params=params)
    assert reply.status_code == 200, reply.text
    return {e["leadId"]: e for e in reply.json()["enrollments"]}


def test_a_sequence_sends_its_first_step_and_stops_for_the_lead_who_replies(client: httpx.Client) -> None:
    tag = uuid.uuid4().hex[:8]

    # A template naming a variable leads do not have is refused when saved, at its field.
    typo = _sequence_body(tag, bodyTemplate="Hi {{ lead.fristName }}")
    refused = assert_problem(client.post("/v1/sequences", json=typo), 422)
    [error] = refused["errors"]
    assert error["field"] == "steps[0].bodyTemplate"
    assert "lead.fristName" in error["message"] and "lead.firstName" in error["message"]  # and what there is
    # The API's own checks name fields the same way; an unknown field is refused, not ignored.
    fax = assert_problem(client.post("/v1/sequences", json=_sequence_body(tag, channel="fax")), 422)
    assert [e["field"] for e in fax["errors"]] == ["steps.0.channel"]
    assert_problem(client.post("/v1/sequences", json=_sequence_body(tag) | {"colour": "red"}), 422)

    created = client.post("/v1/sequences", json=_sequence_body(tag))
    assert created.status_code == 201, created.text
    sequence = created.json()
    assert sequence["state"] == "draft" and sequence["window"] == OPEN_WINDOW
    assert [s["ordinal"] for s in sequence["steps"]] == [1, 2]
    assert sequence["steps"][1]["delayUnit"] == "business_days"
    assert sequence["id"] in [s["id"] for s in client.get("/v1/sequences").json()["sequences"]]
    seq = f"/v1/sequences/{sequence['id']}"
    first_step = sequence["steps"][0]["id"]

    ada, grace, nobody = _lead(client, "Ada"), _lead(client, "Grace"), _lead_without_email(client)

    # Previews: a saved step for a stored lead; unsaved templates (the builder's), checked as a save would be.
    preview = client.get(f"{seq}/preview", params={"leadId": ada["id"], "stepId": first_step})
    assert preview.json() == {"subject": f"Hello Ada {tag}", "body": "Hi Ada, how is Acme?"}, preview.text
    live = client.post(
        f"{seq}/preview",
        json={"subjectTemplate": "For {{ lead.fullName }}", "bodyTemplate": "{{ lead.title | default('Hi') }}",
              "lead": {"firstName": "Linus", "lastName": "T"}},
    )  # fmt: skip
    assert live.json() == {"subject": "For Linus T", "body": "Hi"}, live.text
    broken = client.post(f"{seq}/preview", json={"leadId": ada["id"], "subjectTemplate": "{{ lead.nope }}"})
    assert [e["field"] for e in assert_problem(broken, 422)["errors"]] == ["subjectTemplate"]

    assert client.post(f"{seq}/activate").json()["state"] == "active"
    enrolled = client.post(
        f"{seq}/enrollments", json={"leadIds": [ada["id"], grace["id"], nobody["id"], ada["id"], "not-a-lead"]}
    )
    assert enrolled.status_code == 200, enrolled.text
    result = enrolled.json()
    assert sorted(e["leadId"] for e in result["enrolled"]) == sorted([ada["id"], grace["id"], nobody["id"]])
    assert all(e["state"] == "active" and e["currentStep"] == 1 for e in result["enrolled"])
    skipped = {s["leadId"]: s["reason"] for s in result["skipped"]}
    assert skipped == {ada["id"]: "listed more than once", "not-a-lead": "not a lead id"}
    again = client.post(f"{seq}/enrollments", json={"leadIds": [grace["id"]]}).json()
    assert again["skipped"] == [{"leadId": grace["id"], "reason": "already enrolled in this sequence"}]

    # The first step arrives as each lead receives it, with one-click unsubscribe.
    mail = until(lambda: _captured(client, f"Hello Ada {tag}"), what="Ada's first email")
    until(lambda: _captured(client, f"Hello Grace {tag}"), what="Grace's first email")
    detail = client.get(f"/v1/captured-mail/{mail['id']}").json()
    headers = {name.lower(): value for name, value in detail["headers"]}
    assert headers["to"].endswith(f"<{ada['email']}>") or headers["to"] == ada["email"]
    assert "/v1/unsubscribe/" in headers["list-unsubscribe"] and "mailto:" in headers["list-unsubscribe"]
    assert headers["list-unsubscribe-post"] == "List-Unsubscribe=One-Click"
    assert detail["text"].strip() == "Hi Ada, how is Acme?"

    # Each then waits for step 2's delay, and says so; the lead without an email passed step 1 without a send.
    def at_step_two() -> dict[str, dict[str, Any]] | None:
        now = _enrollments(client, sequence["id"])
        return now if all(e["currentStep"] == 2 for e in now.values()) and len(now) == 3 else None

    waiting = until(at_step_two, what="every enrollment at step 2")
    assert all(e["stepsDone"] == 1 and e["waitingReason"] == "delay" and e["nextDueAt"] for e in waiting.values())
    assert waiting[ada["id"]]["lastSentAt"] and waiting[nobody["id"]]["lastSentAt"] is None
    only_ada = _enrollments(client, sequence["id"], leadId=ada["id"])
    assert list(only_ada) == [ada["id"]]

    # Pausing twice is refused naming the state it is in; resuming goes back to active.
    paused = client.post(f"{seq}/pause")
    assert paused.status_code == 200 and paused.json()["state"] == "paused"
    held = _enrollments(client, sequence["id"], state="paused")
    assert set(held) == {ada["id"], grace["id"], nobody["id"]}
    assert {e["waitingReason"] for e in held.values()} == {"sequence_paused"}
    assert "paused" in assert_problem(client.post(f"{seq}/pause"), 409)["detail"]
    assert "paused" in assert_problem(client.post(f"{seq}/activate"), 409)["detail"]
    assert client.post(f"{seq}/resume").json()["state"] == "active"
    assert "active" in assert_problem(client.post(f"{seq}/resume"), 409)["detail"]

    # Ada answers her email: her enrollment stops as replied within seconds; the others go on.
    written = client.post(f"/v1/captured-mail/{mail['id']}/reply", json={"text": "Interested, tell me more."})
    assert written.status_code == 202, written.text
    replied = until(
        lambda: (e := _enrollments(client, sequence["id"])[ada["id"]])["state"] == "replied" and e,
        timeout_s=15,
        what="Ada's enrollment to stop as replied",
    )
    assert replied["stopReason"] == "the lead replied" and replied["nextDueAt"] is None and replied["finishedAt"]
    others = _enrollments(client, sequence["id"])
    assert others[grace["id"]]["state"] == "active" and others[nobody["id"]]["state"] == "active"

    # A user stops Grace's; stopping it again is refused naming its state.
    stop = f"{seq}/enrollments/{others[grace['id']]['id']}/stop"
    stopped = client.post(stop, json={"reason": "talking on the phone instead"}).json()
    assert stopped["state"] == "stopped" and stopped["stopReason"] == "talking on the phone instead"
    assert "stopped" in assert_problem(client.post(stop), 409)["detail"]

    # Archived, the sequence is read-only and takes no more leads.
    assert client.post(f"{seq}/archive").json()["state"] == "archived"
    assert_problem(client.put(seq, json=_sequence_body(tag)), 409)
    assert_problem(client.post(f"{seq}/enrollments", json={"leadIds": [grace["id"]]}), 409)
    assert sequence["id"] not in [s["id"] for s in client.get("/v1/sequences").json()["sequences"]]
    assert sequence["id"] in [s["id"] for s in client.get("/v1/sequences?state=archived").json()["sequences"]]


def test_editing_keeps_steps_by_id_and_field_errors_name_the_window(client: httpx.Client) -> None:
    tag = uuid.uuid4().hex[:8]
    sequence = client.post("/v1/sequences", json=_sequence_body(tag)).json()
    seq = f"/v1/sequences/{sequence['id']}"
    body = _sequence_body(tag)
    body["steps"][0]["id"] = sequence["steps"][0]["id"]
    body["steps"] = [body["steps"][0] | {"subjectTemplate": "Changed {{ lead.companyName }}"}]  # step 2 removed
    updated = client.put(seq, json=body)
    assert updated.status_code == 200, updated.text
    steps = updated.json()["steps"]
    assert [s["id"] for s in steps] == [sequence["steps"][0]["id"]]
    assert steps[0]["subjectTemplate"] == "Changed {{ lead.companyName }}"
    assert client.get(seq).json() == updated.json()

    bad_window = body | {"window": {"days": [1], "startTime": "18:00", "endTime": "09:00", "timeZone": "Mars/Base"}}
    fields = {e["field"] for e in assert_problem(client.put(seq, json=bad_window), 422)["errors"]}
    assert fields == {"window.endTime", "window.timeZone"}
    assert_problem(client.get(f"/v1/sequences/{uuid.uuid4()}"), 404)
    assert_problem(client.get(f"{seq}/enrollments", params={"state": "asleep"}), 422)


def test_a_call_step_makes_a_task_the_user_completes(client: httpx.Client) -> None:
    tag = uuid.uuid4().hex[:8]
    call = {"channel": "call_task", "subjectTemplate": f"Call {{{{ lead.firstName }}}} {tag}", "bodyTemplate": "Ask"}
    sequence = client.post("/v1/sequences", json=_sequence_body(tag, **call)).json()
    lead = _lead(client, "Barbara")
    client.post(f"/v1/sequences/{sequence['id']}/activate").raise_for_status()
    client.post(f"/v1/sequences/{sequence['id']}/enrollments", json={"leadIds": [lead["id"]]}).raise_for_status()

    def task() -> dict[str, Any] | None:
        tasks = client.get("/v1/tasks", params={"sequenceId": sequence["id"]}).json()["tasks"]
        return next((t for t in tasks if t["leadId"] == lead["id"]), None)

    made = until(task, what="the call task")
    assert made["title"] == f"Call Barbara {tag}" and made["notes"] == "Ask" and made["state"] == "open"
    done = client.post(f"/v1/tasks/{made['id']}/complete").json()
    assert done["state"] == "done" and done["completedAt"]
    assert client.post(f"/v1/tasks/{made['id']}/complete").json()["completedAt"] == done["completedAt"]
    assert made["id"] not in [t["id"] for t in client.get("/v1/tasks").json()["tasks"]]
    assert made["id"] in [t["id"] for t in client.get("/v1/tasks", params={"state": "done"}).json()["tasks"]]


def test_another_org_neither_sees_the_sequence_nor_enrolls_its_leads(
    stack: Stack, base_url: str, client: httpx.Client
) -> None:
    tag = uuid.uuid4().hex[:8]
    ours, lead = client.post("/v1/sequences", json=_sequence_body(tag)).json(), _lead(client, "Mary")
    # A second org's user (as test_tenancy makes one).
    email, password = f"rival-{tag}@rival.test", uuid.uuid4().hex
    create_user(stack, email, password, org=f"Rival {tag}")
    token = access_token(base_url, email, password)
    with httpx.Client(base_url=base_url, headers={"authorization": f"Bearer {token}"}, timeout=10) as rival:
        assert_problem(rival.get(f"/v1/sequences/{ours['id']}"), 404)
        assert_problem(rival.post(f"/v1/sequences/{ours['id']}/pause"), 404)
        assert ours["id"] not in [s["id"] for s in rival.get("/v1/sequences").json()["sequences"]]
        theirs = rival.post("/v1/sequences", json=_sequence_body(tag)).json()
        reply = rival.post(f"/v1/sequences/{theirs['id']}/enrollments", json={"leadIds": [lead["id"]]}).json()
        assert reply == {"enrolled": [], "skipped": [{"leadId": lead["id"], "reason": "lead not found"}]}
        preview = rival.get(f"/v1/sequences/{theirs['id']}/preview",
                            params={"leadId": lead["id"], "stepId": theirs["steps"][0]["id"]})  # fmt: skip
        assert_problem(preview, 404)


@pytest.mark.parametrize("how", ["alone", "in-a-selection"])
def test_deleting_a_lead_stops_its_enrollment_within_seconds(client: httpx.Client, how: str) -> None:
    tag = uuid.uuid4().hex[:8]
    body = _sequence_body(tag, delayAmount=2, delayUnit="hours")  # it waits: nothing is sent meanwhile
    sequence = client.post("/v1/sequences", json=body).json()
    seq = f"/v1/sequences/{sequence['id']}"
    assert client.post(f"{seq}/activate").json()["state"] == "active"
    gone, kept = _lead(client, "Gone"), _lead(client, "Kept")
    client.post(f"{seq}/enrollments", json={"leadIds": [gone["id"], kept["id"]]}).raise_for_status()
    if how == "alone":
        assert client.delete(f"/v1/leads/{gone['id']}").status_code == 204
    else:  # the leads table's bulk delete: one call to the leads service, the same event for each lead
        selection = {"leadIds": [gone["id"], str(uuid.uuid4())]}
        assert client.post("/v1/leads/bulk-delete", json=selection).json() == {"deleted": 1, "notFound": 1}
    stopped = until(
        lambda: (e := _enrollments(client, sequence["id"])[gone["id"]])["state"] == "stopped" and e,
        what="the deleted lead's enrollment stopped",
    )
    assert stopped["stopReason"] == "the lead was deleted"
    assert _enrollments(client, sequence["id"])[kept["id"]]["state"] == "active"


def test_every_lead_a_filter_matches_is_enrolled_in_the_background_with_progress(client: httpx.Client) -> None:
    icp = client.post("/v1/icps", json=icp_body()).json()
    run = client.post(f"/v1/icps/{icp['id']}/search", json={"source": "sandbox", "limit": 300, "force": True}).json()
    wait_run(client, icp["id"], run["runId"])
    matching = {"searchRunId": run["runId"], "hasEmail": "yes", "filtered": "all"}
    expected, cursor = set(), None
    while True:
        page = client.get(
            "/v1/leads", params={**matching, "limit": 200, **({"cursor": cursor} if cursor else {})}
        ).json()
        expected |= {lead["id"] for lead in page["items"]}
        if not (cursor := page.get("nextCursor")):
            break
    assert len(expected) > 100
    tag = uuid.uuid4().hex[:8]
    sequence = client.post("/v1/sequences", json=_sequence_body(tag, delayAmount=2, delayUnit="hours")).json()
    seq = f"/v1/sequences/{sequence['id']}"
    assert client.post(f"{seq}/activate").status_code == 200

    started = client.post(f"{seq}/enrollments/matching", params=matching)
    assert started.status_code == 202, started.text
    job_id = started.json()["jobId"]
    assert job_id.startswith("sequences.")
    job = until(
        lambda: (j := client.get(f"/v1/jobs/{job_id}").json())["status"] in ("completed", "failed") and j,
        timeout_s=60, what="the enrollment job",
    )  # fmt: skip
    assert job["status"] == "completed", job
    assert job["result"]["enrolled"] == len(expected) and job["result"]["seen"] == len(expected)
    enrolled: set[str] = set()
    cursor = None
    while True:
        params = {"limit": 200, **({"cursor": cursor} if cursor else {})}
        page = client.get(f"{seq}/enrollments", params=params).json()
        enrolled |= {e["leadId"] for e in page["enrollments"]}
        if not (cursor := page.get("nextCursor")):
            break
    assert enrolled == expected
    # Again: every lead is enrolled already, so each is skipped, none twice.
    again = client.post(f"{seq}/enrollments/matching", params=matching).json()["jobId"]
    rerun = until(lambda: (j := client.get(f"/v1/jobs/{again}").json())["status"] == "completed" and j, timeout_s=60)
    assert rerun["result"]["enrolled"] == 0 and rerun["result"]["skipped"] == len(expected)
    bad = assert_problem(client.post(f"{seq}/enrollments/matching", params={"minScore": 101}), 422)
    assert [e["field"] for e in bad["errors"]] == ["minScore"]


def _stats(client: httpx.Client, sequence_id: str) -> dict[str, Any]:
    reply = client.get(f"/v1/sequences/{sequence_id}/stats")
    assert reply.status_code == 200, reply.text
    return reply.json()


def test_progress_per_step_and_variant_agrees_with_the_enrollments(client: httpx.Client) -> None:
    tag = uuid.uuid4().hex[:8]
    variants = [
        {"name": "short", "weight": 1, "subjectTemplate": f"A {{{{ lead.firstName }}}} {tag}", "bodyTemplate": "a"},
        {"name": "long", "weight": 1, "subjectTemplate": f"B {{{{ lead.firstName }}}} {tag}", "bodyTemplate": "b"},
    ]
    body = _sequence_body(tag, subjectTemplate="", bodyTemplate="", variants=variants)
    sequence = client.post("/v1/sequences", json=body).json()
    seq = f"/v1/sequences/{sequence['id']}"
    client.post(f"{seq}/activate").raise_for_status()
    names = [f"Lead{n}" for n in range(6)]
    leads = {name: _lead(client, name) for name in names}
    client.post(f"{seq}/enrollments", json={"leadIds": [lead["id"] for lead in leads.values()]}).raise_for_status()

    def every_first_email() -> dict[str, dict[str, Any]] | None:
        found = {n: _captured(client, f"A {n} {tag}") or _captured(client, f"B {n} {tag}") for n in names}
        return found if all(found.values()) else None

    mail = until(every_first_email, timeout_s=30, what="each lead's first email")
    until(lambda: _stats(client, sequence["id"])["steps"][0]["sent"] == 6, what="six sends counted")
    written = client.post(f"/v1/captured-mail/{mail['Lead0']['id']}/reply", json={"text": "Yes, let's talk."})
    assert written.status_code == 202, written.text
    until(lambda: _stats(client, sequence["id"])["enrollments"]["replied"] == 1, what="the reply counted")

    stats = _stats(client, sequence["id"])
    first, second = stats["steps"]
    assert (first["ordinal"], first["channel"], first["stepId"]) == (1, "email", sequence["steps"][0]["id"])
    assert (first["sent"], first["replied"], first["bounced"], first["unsubscribed"]) == (6, 1, 0, 0)
    assert (second["ordinal"], second["sent"], second["replied"]) == (2, 0, 0)
    # Per variant: the subjects the leads received, and the reply under the variant Lead0 was sent.
    by_variant = {v["name"]: v for v in first["variants"]}
    received = [m["subject"].split(" ", 1)[0] for m in mail.values()]
    assert by_variant["short"]["sent"] == received.count("A") and by_variant["long"]["sent"] == received.count("B")
    replied_variant = "short" if mail["Lead0"]["subject"].startswith("A ") else "long"
    assert by_variant[replied_variant]["replied"] == 1 and sum(v["replied"] for v in first["variants"]) == 1
    # The enrollment counts are the list's.
    listed = _enrollments(client, sequence["id"])
    states = [e["state"] for e in listed.values()]
    counted = stats["enrollments"]
    assert (counted["total"], counted["replied"], counted["active"]) == (len(states), 1, states.count("active"))
    assert len(states) == 6 and states.count("replied") == 1
    assert stats["beforeFirstStep"]["replied"] == 0

    assert_problem(client.get(f"/v1/sequences/{uuid.uuid4()}/stats"), 404)
    assert_problem(client.get("/v1/sequences/not-an-id/stats"), 404)


def test_pressing_enroll_again_sends_nothing_twice_unless_asked_to_enroll_again(client: httpx.Client) -> None:
    tag = uuid.uuid4().hex[:8]
    call = {"channel": "call_task", "subjectTemplate": f"Call {{{{ lead.firstName }}}} {tag}", "bodyTemplate": "Ask"}
    body = _sequence_body(tag)
    body["steps"] = [body["steps"][0], call]  # every step at once: an email, then a call task
    sequence = client.post("/v1/sequences", json=body).json()
    seq = f"/v1/sequences/{sequence['id']}"
    client.post(f"{seq}/activate").raise_for_status()
    names = ["Amy", "Ben", "Cal"]
    leads = {name: _lead(client, name) for name in names}
    ids = [lead["id"] for lead in leads.values()]
    first = client.post(f"{seq}/enrollments", json={"leadIds": ids}).json()
    assert len(first["enrolled"]) == 3 and first["skipped"] == []

    # Every step done for each lead (its email captured, its task made) before Enroll is pressed again.
    for name in names:
        until(lambda name=name: _captured(client, f"Hello {name} {tag}"), what=f"{name}'s email")
    until(lambda: all(e["state"] == "completed" for e in _enrollments(client, sequence["id"]).values()),
          what="every enrollment completed")  # fmt: skip
    pressed = client.post(f"{seq}/enrollments", json={"leadIds": ids}).json()
    assert pressed["enrolled"] == []
    assert {s["leadId"]: s["reason"] for s in pressed["skipped"]} == {
        lead_id: "already went through this sequence (completed)" for lead_id in ids
    }
    # Two presses at once for a new lead: one enrollment.
    dana = _lead(client, "Dana")
    with ThreadPoolExecutor(2) as pool:
        replies = list(pool.map(lambda _: client.post(f"{seq}/enrollments", json={"leadIds": [dana["id"]]}).json(),
                                range(2)))  # fmt: skip
    assert sum(len(r["enrolled"]) for r in replies) == 1
    assert [s["reason"] for r in replies for s in r["skipped"]] == ["already enrolled in this sequence"]

    # Enrolled again on purpose, Amy is sent the step again: a new enrollment, a new message.
    again = client.post(f"{seq}/enrollments", json={"leadIds": [leads["Amy"]["id"]], "reenroll": True}).json()
    assert [e["leadId"] for e in again["enrolled"]] == [leads["Amy"]["id"]] and again["skipped"] == []
    until(lambda: _captured_count(client, f"Hello Amy {tag}") == 2, what="Amy's second email")
    until(lambda: _captured(client, f"Hello Dana {tag}"), what="Dana's email")
    # The capture server's count is the witness: one email each, Amy's two, nobody else's twice.
    assert [_captured_count(client, f"Hello {name} {tag}") for name in [*names, "Dana"]] == [2, 1, 1, 1]
    listed = client.get(f"{seq}/enrollments", params={"limit": 200}).json()
    assert listed["total"] == 5

    def five_tasks() -> list[dict[str, Any]] | None:
        found = client.get("/v1/tasks", params={"sequenceId": sequence["id"]}).json()["tasks"]
        return found if len(found) == 5 else None

    tasks = until(five_tasks, what="five call tasks")
    assert sorted(t["title"] for t in tasks) == sorted(
        f"Call {name} {tag}" for name in ["Amy", "Amy", "Ben", "Cal", "Dana"]
    )


def test_the_enrollments_and_the_tasks_name_their_leads(client: httpx.Client) -> None:
    tag = uuid.uuid4().hex[:8]
    call = {"channel": "call_task", "subjectTemplate": f"Call {tag}", "bodyTemplate": "Ask"}
    sequence = client.post("/v1/sequences", json=_sequence_body(tag, **call)).json()
    seq = f"/v1/sequences/{sequence['id']}"
    client.post(f"{seq}/activate").raise_for_status()
    kept, gone = _lead(client, "Named"), _lead(client, "Gone")
    client.post(f"{seq}/enrollments", json={"leadIds": [kept["id"], gone["id"]]}).raise_for_status()

    def tasks() -> dict[str, dict[str, Any]] | None:
        found = {t["leadId"]: t for t in client.get("/v1/tasks", params={"sequenceId": sequence["id"]}).json()["tasks"]}
        return found if len(found) == 2 else None

    made = until(tasks, what="both call tasks")
    assert made[kept["id"]]["lead"] == {"name": "Named Tester", "email": kept["email"], "phone": PHONE}
    listed = _enrollments(client, sequence["id"])
    assert listed[kept["id"]]["lead"] == {"name": "Named Tester", "email": kept["email"], "phone": PHONE}
    assert listed[gone["id"]]["lead"] == {"name": "Gone Tester", "email": gone["email"], "phone": PHONE}

    # A deleted lead is named as such (null), in both lists.
    assert client.delete(f"/v1/leads/{gone['id']}").status_code == 204
    assert _enrollments(client, sequence["id"])[gone["id"]]["lead"] is None
    assert tasks()[gone["id"]]["lead"] is None  # type: ignore[index]
    assert _enrollments(client, sequence["id"])[kept["id"]]["lead"]["name"] == "Named Tester"
