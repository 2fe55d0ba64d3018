"""Every call to make in one list (#18): a lead run's call-task action makes its task in the sequences service's
task list, so Tasks shows it beside a sequence's call step's, each saying who asked and the number to dial (a tel:
link); both are marked done there, and the run's receipt points at the task it made. A lead with no phone gets no
call task from either (#19): the step and the action are skipped, saying why."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from devstack.stack import Stack
from tests.e2e import test_web_client as web
from tests.e2e.helpers import OrgUser, org_user, unique_email, until
from tests.e2e.test_icps import icp_body
from tests.e2e.test_lead_runs import finished
from tests.e2e.test_runs_web import sign_in_as
from tests.e2e.test_search_runs import wait_run
from tests.e2e.test_sequences import OPEN_WINDOW

pytestmark = pytest.mark.browser
browser, page = web.browser, web.page
SLOW = 30_000  # ms: runs and schedulers work in the background


@pytest.fixture
def user(stack: Stack, base_url: str) -> Iterator[OrgUser]:
    """A user in an org of its own: its task list holds this test's tasks alone."""
    with org_user(stack, base_url, "call-tasks") as made:
        yield made


def test_a_lead_run_s_call_tasks_are_listed_with_a_sequence_s_and_each_is_done_there(page: Page, user: OrgUser) -> None:
    api, tag = user.client, uuid.uuid4().hex[:6]
    # A sequence's call step, reached by one lead.
    step = {"channel": "call_task", "subjectTemplate": f"Call {{{{ lead.firstName }}}} {tag}", "bodyTemplate": "Ask"}
    sequence = api.post("/v1/sequences", json={"name": f"Calls {tag}", "window": OPEN_WINDOW, "steps": [step]}).json()
    api.post(f"/v1/sequences/{sequence['id']}/activate").raise_for_status()
    lead = api.post(
        "/v1/leads", json={"email": unique_email("seq"), "firstName": "Seq", "lastName": tag, "phone": "+14155550142"}
    ).json()
    no_phone = api.post("/v1/leads", json={"email": unique_email("mute"), "firstName": "Mute", "lastName": tag}).json()
    enrolled = api.post(
        f"/v1/sequences/{sequence['id']}/enrollments", json={"leadIds": [lead["leadId"], no_phone["leadId"]]}
    )
    assert len(enrolled.json()["enrolled"]) == 2, enrolled.text
    sign_in_as(page, user)
    page.goto("/#/tasks")
    rows = page.get_by_test_id("task-row")
    expect(page.get_by_test_id("tasks-total")).to_have_text("1 task to do", timeout=SLOW)

    # A lead run of two leads whose one action is a call task (not a dry run: a dry run makes no task). Its tasks
    # join the list as they are made, the page open (a run's lead settling is a live event), no reload.
    # Its leads are the ICP's search's, given a phone before the run starts (the sandbox source finds none).
    icp = api.post("/v1/icps", json=icp_body(minScore=0)).json()
    search = api.post(f"/v1/icps/{icp['id']}/search", json={"source": "sandbox", "limit": 2}).json()
    wait_run(api, icp["id"], search["runId"])
    found = api.get("/v1/leads", params={"searchRunId": search["runId"], "filtered": "all"}).json()["items"]
    for n, found_lead in enumerate(found):
        api.patch(f"/v1/leads/{found_lead['id']}", json={"phone": f"+1415555017{n}"}).raise_for_status()
    run = api.post("/v1/lead-runs", json={"icpId": icp["id"], "limit": 2, "channels": {"email": "off", "call": True}})
    run = run.json()
    api.post(f"/v1/lead-runs/{run['id']}/jobs").raise_for_status()
    expect(page.get_by_test_id("tasks-total")).to_have_text("3 tasks to do", timeout=SLOW)
    assert finished(api, run["id"])["state"] == "completed"
    tasks = api.get("/v1/tasks").json()
    from_run = [t for t in tasks["tasks"] if t["runId"] == run["id"]]
    assert len(from_run) == 2 and all(t["sequenceId"] is None and t["title"].startswith("Call ") for t in from_run)
    run_rows = rows.filter(has=page.get_by_test_id("task-run"))
    expect(run_rows).to_have_count(2)
    expect(run_rows.first.get_by_test_id("task-run")).to_have_attribute("href", f"#/runs/{run['id']}")
    sequence_row = rows.filter(has_text=f"Call Seq {tag}")
    expect(sequence_row.get_by_test_id("task-sequence")).to_have_text(f"Calls {tag}")
    # Each task gives the number to dial, as a link a phone (or a softphone) calls.
    expect(sequence_row.get_by_test_id("task-phone")).to_have_attribute("href", "tel:+14155550142")
    expect(run_rows.get_by_test_id("task-phone")).to_have_count(2)
    # The lead with no phone got no task: its call step was skipped, saying why.
    assert not rows.filter(has_text=f"Call Mute {tag}").count()

    def muted() -> bool:
        enrollments = api.get(f"/v1/sequences/{sequence['id']}/enrollments").json()["enrollments"]
        return any(e["leadId"] == no_phone["leadId"] and e["state"] == "completed" for e in enrollments)

    until(muted, what="the call step skipped for the lead with no phone")
    assert not rows.filter(has_text=f"Call Mute {tag}").count()

    # Done, for one of each kind: each leaves the list and is counted among the done.
    run_rows.first.get_by_test_id("task-complete").click()
    expect(page.get_by_test_id("tasks-total")).to_have_text("2 tasks to do")
    sequence_row.get_by_test_id("task-complete").click()
    expect(page.get_by_test_id("tasks-total")).to_have_text("1 task to do")
    expect(rows.filter(has=page.get_by_test_id("task-run"))).to_have_count(1)
    page.get_by_test_id("tasks-tab-done").click()
    expect(page.get_by_test_id("tasks-total")).to_have_text("2 tasks done")
    expect(rows.filter(has=page.get_by_test_id("task-run"))).to_have_count(1)
    expect(rows.filter(has=page.get_by_test_id("task-sequence"))).to_have_count(1)
    done = {t["id"]: t for t in api.get("/v1/tasks", params={"state": "done"}).json()["tasks"]}
    assert {t["state"] for t in done.values()} == {"done"} and len(done) == 2

    # The run's receipt names the task it made, under Details, and leads to Tasks.
    page.goto(f"/#/runs/{run['id']}")
    page.get_by_test_id("run-lead-open").first.click()
    call = page.get_by_test_id("receipts-drawer").get_by_test_id("receipt").filter(has_text="Call task")
    expect(call.get_by_test_id("receipt-status")).to_have_text("created")
    expect(call.get_by_test_id("receipt-detail")).to_contain_text("Call ")
    task_id = call.get_by_test_id("receipt-target").text_content(timeout=SLOW)
    assert task_id in {t["id"] for t in from_run}
    call.get_by_test_id("receipt-task-link").click()
    expect(page.get_by_test_id("tasks-total")).to_be_visible()
