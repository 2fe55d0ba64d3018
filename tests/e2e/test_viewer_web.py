"""A viewer on the sequences, tasks, lead runs and operations pages (#18): offered no control the gateway would
refuse. Links that only create are not shown; every other change (save, activate, pause, archive, enroll, stop, done,
start, cancel, acknowledge, resolve, replay) is disabled, its title saying why. test_web_team.py checks the other
pages the same way."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from devstack.stack import Stack
from tests.e2e import test_web_client as web
from tests.e2e.helpers import OrgUser, access_token, create_user, org_user, unique_email, until
from tests.e2e.test_icps import icp_body
from tests.e2e.test_list_totals import call_sequence, dead_letters
from tests.e2e.test_runs_web import sign_in_as

pytestmark = pytest.mark.browser
browser, page = web.browser, web.page
SLOW = 30_000  # ms
WHY = re.compile("Viewers can look but not change anything")
# What a control that changes something says, on these pages ("+ Email step" too): none may be offered (enabled)
# to a viewer.
CHANGES = re.compile(
    r"^(\+ |(New|Create|Build|Add|Save|Delete|Remove|Activate|Pause|Resume|Archive|Enroll|Stop|Done|Start|Cancel|"
    r"Try again|Acknowledge|Resolve|Replay)\b)"
)
# The enabled controls of the page whose words are a change (`:disabled` counts a disabled fieldset's); tabs ("To
# do", "Done") only choose what is shown.
OFFERED = """(changes) => [...document.querySelectorAll('main button:not(.tab), main a.btn, .topbar a')]
  .filter((el) => el.getClientRects().length && !el.matches(':disabled'))
  .filter((el) => new RegExp(changes).test(el.textContent.trim()))
  .map((el) => el.textContent.trim().replace(/\\s+/g, ' '))"""


@pytest.fixture
def org(stack: Stack, base_url: str) -> Iterator[tuple[OrgUser, OrgUser]]:
    """An owner in an org of their own, and a viewer the operator added to it."""
    with org_user(stack, base_url, "viewed") as owner:
        email, password = unique_email("viewer"), uuid.uuid4().hex
        create_user(stack, email, password, org=f"viewed {owner.email}", role="viewer")  # org_user's org name
        token = access_token(base_url, email, password)
        with httpx.Client(base_url=base_url, headers={"authorization": f"Bearer {token}"}, timeout=30) as client:
            assert client.get("/v1/me").json()["orgId"] == owner.client.get("/v1/me").json()["orgId"]
            yield owner, OrgUser(email, password, client)


def test_a_viewer_is_offered_nothing_on_the_sequences_runs_and_operations_pages(
    browser: Browser, base_url: str, page: Page, stack: Stack, org: tuple[OrgUser, OrgUser]
) -> None:
    owner, viewer = org
    api = owner.client
    # A sequence with a lead in it (waiting for its email step) and the call task its first step made.
    sequence = call_sequence(api, uuid.uuid4().hex[:6])
    # With a phone: a call step makes a task only for a lead with a number to call.
    body = {"email": unique_email("viewed"), "firstName": "Vi", "lastName": "Ewed", "phone": "+14155550142"}
    lead = api.post("/v1/leads", json=body).json()
    api.post(f"/v1/sequences/{sequence['id']}/enrollments", json={"leadIds": [lead["leadId"]]}).raise_for_status()
    until(lambda: api.get("/v1/tasks").json()["total"] == 1, 30, "the call task")
    # A run not started yet (Start, Cancel), and two failed runs: an open alert (Acknowledge, Resolve).
    icp = api.post("/v1/icps", json=icp_body(minScore=0)).json()
    waiting = api.post("/v1/lead-runs", json={"icpId": icp["id"], "limit": 1}).json()
    for _ in range(2):  # LEAD_RUN_FAILURE_ALERT_THRESHOLD
        gone = api.post("/v1/icps", json=icp_body(minScore=0)).json()
        failing = api.post("/v1/lead-runs", json={"icpId": gone["id"], "limit": 1}).json()
        assert api.delete(f"/v1/icps/{gone['id']}").status_code == 204  # its sourcing cannot find it
        api.post(f"/v1/lead-runs/{failing['id']}/jobs").raise_for_status()
    until(lambda: api.get("/v1/lead-runs/alerts").json()["alerts"], 30, "the failed runs' alert")
    # A dead letter (Replay).
    dead_letters(stack, api.get("/v1/me").json()["orgId"], {"leads": [dt.datetime.now(dt.UTC)]})

    sign_in_as(page, viewer)
    offered: dict[str, list[str]] = {}
    for path, ready in [
        ("/sequences", "sequence-row"),
        ("/sequences/new", "seq-name"),
        (f"/sequences/{sequence['id']}", "enrollment-row"),
        ("/tasks", "task-row"),
        ("/runs", "run-row"),
        (f"/runs/{waiting['id']}", "run-state"),
        ("/operations", "dead-letter-row"),
    ]:
        page.goto(f"/#{path}")
        expect(page.get_by_test_id(ready).first).to_be_visible(timeout=SLOW)
        if path == "/operations":
            expect(page.get_by_test_id("alert-row").first).to_be_visible(timeout=SLOW)
        if found := page.evaluate(OFFERED, CHANGES.pattern):
            offered[path] = found
    assert offered == {}, f"offered to a viewer: {offered}"

    # Each control is there, disabled, saying why (not merely hidden, as a link that only creates is).
    def disabled_saying_why(testid: str) -> None:
        control = page.get_by_test_id(testid).first
        expect(control).to_be_disabled()
        expect(control).to_have_attribute("title", WHY)

    page.goto("/#/sequences")
    expect(page.get_by_test_id("sequence-row")).to_have_count(1, timeout=SLOW)
    expect(page.get_by_test_id("sequence-new")).to_have_count(0)
    page.goto("/#/sequences/new")
    expect(page.get_by_test_id("seq-read-only")).to_contain_text("Viewers can look but not change anything")
    expect(page.get_by_test_id("seq-name")).to_be_disabled()
    page.goto(f"/#/sequences/{sequence['id']}")
    expect(page.get_by_test_id("enrollment-row")).to_have_count(1, timeout=SLOW)
    for testid in ("seq-pause", "seq-archive", "seq-save", "enroll-open", "enrollment-stop"):
        disabled_saying_why(testid)
    expect(page.get_by_test_id("step-remove").first).to_be_disabled()
    page.goto("/#/tasks")
    expect(page.get_by_test_id("task-row")).to_have_count(1, timeout=SLOW)
    disabled_saying_why("task-complete")
    page.goto("/#/runs")
    expect(page.get_by_test_id("run-row").first).to_be_visible(timeout=SLOW)
    for testid in ("run-start", "run-row-start", "run-cancel"):
        disabled_saying_why(testid)
    expect(page.get_by_test_id("run-icp")).to_be_disabled()
    page.goto(f"/#/runs/{waiting['id']}")
    for testid in ("run-row-start", "run-cancel"):
        disabled_saying_why(testid)
    page.goto("/#/operations")
    expect(page.get_by_test_id("alert-row").first).to_be_visible(timeout=SLOW)
    for testid in ("alert-acknowledge", "alert-resolve", "dead-letter-replay"):
        disabled_saying_why(testid)

    # The owner, on the same pages, is offered each of them: the viewer's were disabled for being a viewer.
    context = browser.new_context(base_url=base_url)
    try:
        mine = context.new_page()
        sign_in_as(mine, owner)
        mine.goto(f"/#/sequences/{sequence['id']}")
        expect(mine.get_by_test_id("seq-pause")).to_be_enabled(timeout=SLOW)
        expect(mine.get_by_test_id("enrollment-stop")).to_be_enabled()
        mine.goto("/#/tasks")
        expect(mine.get_by_test_id("task-complete")).to_be_enabled(timeout=SLOW)
        mine.goto("/#/operations")
        expect(mine.get_by_test_id("dead-letter-replay").first).to_be_enabled(timeout=SLOW)
        expect(mine.get_by_test_id("alert-acknowledge").first).to_be_enabled()
    finally:
        context.close()


def test_an_empty_sequences_list_invites_a_member_to_build_one_and_a_viewer_to_nothing(
    browser: Browser, base_url: str, page: Page, org: tuple[OrgUser, OrgUser]
) -> None:
    owner, viewer = org
    sign_in_as(page, viewer)
    page.goto("/#/sequences")
    expect(page.get_by_role("heading", name="No sequences yet")).to_be_visible(timeout=SLOW)
    expect(page.get_by_role("link", name="Build your first sequence")).to_have_count(0)
    context = browser.new_context(base_url=base_url)
    try:
        mine = context.new_page()
        sign_in_as(mine, owner)
        mine.goto("/#/sequences")
        expect(mine.get_by_role("link", name="Build your first sequence")).to_be_visible(timeout=SLOW)
    finally:
        context.close()
