"""What a new user met in lead runs and sequences (#19), as they see it in the browser: a run shows the lead it left
out as already in touch (counted, its receipt in words) and says when it found fewer leads than asked; a subject
too long for an email is refused at its field; the sequence builder puts focus on the first field at fault and
ties each message to its field, and shows texts as not set up without Twilio; a sequence's call steps count their
tasks; the dead letters keep their actions in view on a laptop; words and numbers read as words and numbers."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import asyncpg
import pytest
from playwright.sync_api import Page, Route, expect

from devstack.stack import Stack
from tests.e2e import test_web_client as web
from tests.e2e.helpers import OrgUser, org_user, unique_email, until
from tests.e2e.test_icps import icp_body
from tests.e2e.test_lead_runs import finished
from tests.e2e.test_run_receipts_web import _twilio_not_set_up
from tests.e2e.test_runs_web import sign_in_as
from tests.e2e.test_sequences import OPEN_WINDOW

pytestmark = pytest.mark.browser
browser, page = web.browser, web.page
SLOW = 30_000  # ms: runs and schedulers work in the background


@pytest.fixture
def user(stack: Stack, base_url: str) -> Iterator[OrgUser]:
    with org_user(stack, base_url, "review19") as made:
        yield made


def _run(user: OrgUser, icp_id: str, **body: object) -> dict:
    created = user.client.post("/v1/lead-runs", json={"icpId": icp_id, "limit": 2} | body)
    assert created.status_code == 201, created.text
    user.client.post(f"/v1/lead-runs/{created.json()['id']}/jobs").raise_for_status()
    return finished(user.client, created.json()["id"], timeout_s=90)


def test_a_run_shows_the_leads_it_skipped_and_why_and_when_it_found_fewer(page: Page, user: OrgUser) -> None:
    name = f"Fintech {uuid.uuid4().hex[:6]}"
    icp = user.client.post("/v1/icps", json=icp_body(minScore=0) | {"name": name}).json()
    first = _run(user, icp["id"])
    emailed = first["progress"]["sent"]
    assert emailed >= 1, first  # real emails: those leads are in a conversation now
    second = _run(user, icp["id"], dryRun=True)  # the same search first: it finds the first run's leads
    # Every lead the first run emailed is skipped; the leads worked are at most the limit (how many more the source
    # gives on a second search is the source's: fewer is said on the page, below).
    assert second["progress"]["skipped"] == emailed and 1 <= second["progress"]["total"] <= 2, second

    sign_in_as(page, user)
    page.goto(f"/#/runs/{second['id']}")
    # Named by its ICP and when it was made; its id under Details, not in the heading.
    expect(page.get_by_test_id("run-title")).to_contain_text(name, timeout=SLOW)
    expect(page.get_by_role("heading", level=1)).not_to_contain_text(second["id"][:8])
    expect(page.get_by_test_id("run-id")).to_have_text(second["id"])
    expect(page.get_by_test_id("diag-run-skipped")).to_have_text(str(emailed))
    status = page.get_by_test_id("run-lead-status").filter(has_text=re.compile("^skipped$"))
    skipped = page.get_by_test_id("run-lead-row").filter(has=status)
    expect(skipped).to_have_count(emailed)
    skipped.first.get_by_test_id("run-lead-open").click()
    check = page.get_by_test_id("receipts-drawer").get_by_test_id("receipt").filter(has_text="Already in touch")
    expect(check.get_by_test_id("receipt-status")).to_have_text("skipped (dry run)")
    expect(check.get_by_test_id("receipt-detail")).to_have_text(
        re.compile(r"^in a conversation: emailed on \d{4}-\d{2}-\d{2}, within the last 30 days$")
    )
    if second["progress"]["total"] == 2:
        expect(page.get_by_test_id("run-short")).to_have_count(0)  # it found the two leads it asked for

    # A run that found fewer than asked says so (here the service's reply, as a source that ran dry gives it).
    def fewer(route: Route) -> None:
        reply = route.fetch()
        body = reply.json()
        body["limit"] = body["progress"]["total"] + 3
        route.fulfill(response=reply, json=body)

    page.route(f"**/v1/lead-runs/{second['id']}", fewer)
    page.reload()
    worked = second["progress"]["total"]
    expect(page.get_by_test_id("run-short")).to_have_text(
        f"Found {worked} of the {worked + 3} leads asked for: the source had no more scoring at or over the ICP's "
        f"minimum ({emailed} skipped as already in touch).",
        timeout=SLOW,
    )


def test_a_subject_longer_than_an_email_carries_is_refused_at_its_field(page: Page, user: OrgUser) -> None:
    user.client.post("/v1/icps", json=icp_body(minScore=0)).raise_for_status()
    sign_in_as(page, user)
    page.goto("/#/runs")
    page.get_by_text("Email template").click()
    subject = page.get_by_test_id("run-subject")
    subject.fill("x" * 999)
    page.get_by_test_id("run-start").click()
    expect(subject).to_have_attribute("aria-invalid", "true", timeout=SLOW)
    message = page.locator(f"#{subject.get_attribute('aria-describedby').split()[0]}")
    expect(message).to_contain_text("998")
    assert user.client.get("/v1/lead-runs").json()["total"] == 0  # refused before any run was made


def test_the_sequence_builder_focuses_the_first_bad_field_and_names_its_message(page: Page, user: OrgUser) -> None:
    sign_in_as(page, user)
    page.goto("/#/sequences/new")
    page.get_by_test_id("seq-name").fill(f"Builder {uuid.uuid4().hex[:6]}")
    page.get_by_test_id("seq-add-call_task").click()
    page.get_by_test_id("step-subject").last.fill("")  # a call task with no title
    page.get_by_test_id("step-body").first.fill("Hi {{ lead.fristName }}")  # an unknown variable
    page.get_by_test_id("seq-save").click()
    focused = page.locator(":focus")
    expect(focused).to_have_attribute("aria-invalid", "true", timeout=SLOW)
    described = focused.get_attribute("aria-describedby")
    assert described, "the field at fault names its message"
    expect(page.locator(f"#{described}")).to_be_visible()
    expect(page.locator(f"#{described}")).to_have_class(re.compile("field-error"))
    # Every field marked at fault names a message that is there.
    for field in page.locator('[aria-invalid="true"]').all():
        expect(page.locator(f"#{field.get_attribute('aria-describedby')}")).not_to_be_empty()
    assert page.locator('[aria-invalid="true"]').count() >= 1

    # Without Twilio, a text step is shown not set up and not offered.
    _twilio_not_set_up(page)
    page.reload()  # a new page asks for the providers again
    expect(page.get_by_test_id("seq-add-sms")).to_be_disabled(timeout=SLOW)
    expect(page.get_by_test_id("seq-add-sms")).to_contain_text("not set up")
    expect(page.get_by_test_id("seq-sms-not-set-up").get_by_role("link")).to_have_attribute("href", "#/settings/access")
    expect(page.get_by_test_id("step-channel").first.locator("option[value=sms]")).to_be_disabled()


def test_call_steps_count_their_tasks_and_the_list_names_its_window(page: Page, user: OrgUser) -> None:
    api, tag = user.client, uuid.uuid4().hex[:6]
    step = {"channel": "call_task", "subjectTemplate": f"Call {{{{ lead.firstName }}}} {tag}", "bodyTemplate": "Ask"}
    sequence = api.post("/v1/sequences", json={"name": f"Calls {tag}", "window": OPEN_WINDOW, "steps": [step]}).json()
    api.post(f"/v1/sequences/{sequence['id']}/activate").raise_for_status()
    leads = []
    for n in range(2):
        body = {"email": unique_email("caller"), "firstName": f"Pat{n}", "lastName": tag, "phone": f"+1415555014{n}"}
        made = api.post("/v1/leads", json=body)
        assert made.status_code == 201, made.text
        leads.append(made.json()["leadId"])
    api.post(f"/v1/sequences/{sequence['id']}/enrollments", json={"leadIds": leads}).raise_for_status()
    until(lambda: len(api.get("/v1/tasks").json()["tasks"]) == 2, timeout_s=30, what="both call tasks")
    sign_in_as(page, user)
    page.goto(f"/#/sequences/{sequence['id']}")
    row = page.get_by_test_id("progress-row").first
    expect(row.get_by_test_id("progress-tasks")).to_have_text("2", timeout=SLOW)
    expect(row.get_by_test_id("progress-sent")).to_have_text("0")
    page.goto("/#/sequences")
    expect(page.get_by_role("columnheader", name="Sending window")).to_be_visible(timeout=SLOW)
    expect(page.get_by_role("columnheader", name="Sends", exact=True)).to_have_count(0)


def test_enrolled_leads_are_unticked_so_the_next_batch_is_only_the_next(page: Page, user: OrgUser) -> None:
    api, tag = user.client, uuid.uuid4().hex[:6]
    step = {"channel": "email", "delayAmount": 2, "delayUnit": "hours", "subjectTemplate": "Hi", "bodyTemplate": "Hi"}
    sequence = api.post("/v1/sequences", json={"name": f"Ticks {tag}", "window": OPEN_WINDOW, "steps": [step]}).json()
    for first in ("Ana", "Ben"):
        api.post(
            "/v1/leads", json={"email": unique_email(first), "firstName": first, "lastName": tag}
        ).raise_for_status()
    sign_in_as(page, user)
    page.goto(f"/#/sequences/{sequence['id']}")
    page.get_by_test_id("enroll-open").click()
    page.get_by_test_id("enroll-lead-search").fill(tag)
    options = page.get_by_test_id("enroll-lead-option")
    expect(options).to_have_count(2, timeout=SLOW)
    options.filter(has_text="Ana").locator("input").check()
    page.get_by_test_id("enroll-submit").click()
    expect(page.get_by_test_id("enroll-result")).to_contain_text("1 enrolled")
    expect(options.filter(has_text="Ana").locator("input")).not_to_be_checked()
    expect(page.get_by_test_id("enroll-submit")).to_have_text("Enrolled")
    options.filter(has_text="Ben").locator("input").check()
    expect(page.get_by_test_id("enroll-submit")).to_have_text("Enroll 1 lead")
    page.get_by_test_id("enroll-submit").click()
    expect(page.get_by_test_id("enroll-result")).to_have_text(re.compile(r"^\s*1 enrolled\s*$"))


def _dead_letter(stack: Stack, org_id: str, error: str) -> None:
    """One failed job of the org written straight into the inbox's job table (made the long way, it takes every
    retry), with `error` as its error."""

    async def write() -> None:
        conn = await asyncpg.connect(stack.env["inbox"]["DATABASE_URL"])
        try:
            at = dt.datetime.now(dt.UTC)
            await conn.execute(
                "INSERT INTO inbox.job_executions (id, org_id, type, status, attempts, max_attempts, payload, error,"
                " created_at, started_at, finished_at) VALUES ($1, $2, 'inbox.send_sms', 'failed', 1, 5, '{}', $3,"
                " $4, $4, $4)",
                uuid.uuid4(), uuid.UUID(org_id), error, at,
            )  # fmt: skip
        finally:
            await conn.close()

    with ThreadPoolExecutor(1) as thread:  # a browser test's thread already runs Playwright's event loop
        thread.submit(asyncio.run, write()).result()


def test_a_long_dead_letter_keeps_its_actions_in_view_on_a_laptop(page: Page, stack: Stack, user: OrgUser) -> None:
    error = "sms refused: 21211 The 'To' number +14155550100 is not a valid phone number " * 12
    _dead_letter(stack, user.client.get("/v1/me").json()["orgId"], error.strip())
    page.set_viewport_size({"width": 1366, "height": 768})
    sign_in_as(page, user)
    # The home page counts it in words: "1 dead letter".
    expect(page.get_by_test_id("attention-queue")).to_contain_text("1 dead letter", timeout=SLOW)
    expect(page.get_by_test_id("attention-queue")).not_to_contain_text("1 dead letters")
    page.goto("/#/operations")
    row = page.get_by_test_id("dead-letter-row")
    expect(row).to_have_count(1, timeout=SLOW)
    for action in ("dead-letter-open", "dead-letter-replay"):
        box = row.get_by_test_id(action).bounding_box()
        assert box and box["x"] + box["width"] <= 1366, f"{action} is cut off at {box}"
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366
    shown = row.get_by_test_id("dead-letter-error")
    line = float(shown.evaluate("e => parseFloat(getComputedStyle(e).lineHeight) || 20"))
    assert shown.bounding_box()["height"] <= 3.5 * line  # three lines at most
    row.get_by_test_id("dead-letter-open").click()
    expect(page.get_by_test_id("dead-letter-drawer")).to_contain_text(error.strip()[-60:])
