"""What sequences add to the web client, in headless Chromium: the sequence page's progress per step and per
A/B variant, kept current as sends and a reply happen in the background; a lead's phone number (for SMS steps)
on the new-lead form, the lead's page and its edit form; Enroll cannot be pressed twice for the same choice;
the sequence's page and the tasks name their leads without asking for each lead."""

from __future__ import annotations

import re
import uuid
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Page, Request, expect

from tests.e2e import test_web_client as web
from tests.e2e.helpers import unique_email, until
from tests.e2e.test_web_client import sign_in

pytestmark = pytest.mark.browser
# The browser tests' own fixtures: one Chromium for the module, a fresh page per test that fails on a page error.
browser, page = web.browser, web.page
OPEN_WINDOW = {"days": [1, 2, 3, 4, 5, 6, 7], "startTime": "00:00", "endTime": "23:59", "timeZone": "UTC"}


def test_the_sequence_page_shows_progress_per_step_and_variant(page: Page, client: httpx.Client) -> None:
    tag = uuid.uuid4().hex[:6]
    variants = [
        {"name": "short", "weight": 1, "subjectTemplate": f"Short {{{{ lead.firstName }}}} {tag}", "bodyTemplate": "a"},
        {"name": "long", "weight": 1, "subjectTemplate": f"Long {{{{ lead.firstName }}}} {tag}", "bodyTemplate": "b"},
    ]
    steps = [
        {"channel": "email", "variants": variants},
        {"channel": "email", "delayAmount": 2, "subjectTemplate": "Again", "bodyTemplate": "Any thoughts?"},
    ]
    sequence = client.post("/v1/sequences", json={"name": f"Progress {tag}", "window": OPEN_WINDOW,
                                                   "steps": steps}).json()  # fmt: skip
    leads = []
    for n in range(4):
        body = {"email": unique_email(f"progress{n}"), "firstName": f"P{n}", "lastName": "T", "companyName": "Acme"}
        created = client.post("/v1/leads", json=body)
        assert created.status_code == 201, created.text
        leads.append(created.json()["lead"])
    client.post(f"/v1/sequences/{sequence['id']}/activate").raise_for_status()
    client.post(f"/v1/sequences/{sequence['id']}/enrollments", json={"leadIds": [lead["id"] for lead in leads]})

    sign_in(page)
    page.goto(f"/#/sequences/{sequence['id']}")
    rows = page.get_by_test_id("progress-row")
    expect(rows).to_have_count(4)  # two steps, the first with its two variants
    expect(rows.nth(0).get_by_test_id("progress-label")).to_have_text("1. Email")
    expect(rows.nth(0).get_by_test_id("progress-sent")).to_have_text("4", timeout=15_000)  # refreshed as sent
    stats = client.get(f"/v1/sequences/{sequence['id']}/stats").json()
    for row, variant in zip((rows.nth(1), rows.nth(2)), stats["steps"][0]["variants"], strict=True):
        expect(row.get_by_test_id("progress-label")).to_have_text(f"↳ {variant['name']}")
        expect(row.get_by_test_id("progress-sent")).to_have_text(str(variant["sent"]))
    expect(rows.nth(3).get_by_test_id("progress-label")).to_have_text("2. Email")
    expect(rows.nth(3).get_by_test_id("progress-sent")).to_have_text("0")

    # P0 replies from the captured mail: the first step's row counts it, and the summary says so.
    def p0_mail() -> dict | None:
        mail = client.get("/v1/captured-mail", params={"limit": 200}).json()["mail"]
        return next((m for m in mail if m["subject"] in (f"Short P0 {tag}", f"Long P0 {tag}")), None)

    mail = until(p0_mail, what="P0's first email")
    client.post(f"/v1/captured-mail/{mail['id']}/reply", json={"text": "Tell me more"}).raise_for_status()
    expect(rows.nth(0).get_by_test_id("progress-replied")).to_have_text("1", timeout=15_000)
    expect(page.get_by_test_id("progress-summary")).to_contain_text("4 enrolled")
    expect(page.get_by_test_id("progress-summary")).to_contain_text("1 replied")
    replied_row = rows.nth(1) if mail["subject"].startswith("Short") else rows.nth(2)  # the variants in order
    expect(replied_row.get_by_test_id("progress-replied")).to_have_text("1")


def test_a_lead_s_phone_is_given_on_the_new_lead_form_shown_on_its_page_and_edited(page: Page) -> None:
    sign_in(page)
    page.get_by_test_id("nav-new-lead").click()
    page.get_by_test_id("lead-email").fill(unique_email("phoned"))
    page.get_by_test_id("lead-first-name").fill("Phoebe")
    page.get_by_test_id("lead-last-name").fill("Caller")
    page.get_by_test_id("lead-phone").fill("415 555 0123")  # no country code
    page.get_by_test_id("lead-submit").click()
    expect(page.get_by_test_id("lead-phone")).to_have_attribute("aria-invalid", "true")
    expect(page.locator(".field.has-error")).to_contain_text("not a phone number in international form")
    page.get_by_test_id("lead-phone").fill("+1 (415) 555-0123")
    page.get_by_test_id("lead-submit").click()
    expect(page.get_by_test_id("lead-phone")).to_have_text("+14155550123")  # the lead's page, in E.164

    page.get_by_test_id("lead-edit").click()
    page.get_by_test_id("lead-edit-phone").fill("+44 20 7946 0958")
    page.get_by_test_id("lead-edit-save").click()
    expect(page.get_by_test_id("lead-phone")).to_have_text("+442079460958")


def _leads(client: httpx.Client, tag: str, count: int, *, phones: bool = False) -> list[dict]:
    """`count` new leads of the company "Co<tag>" (a search for it finds them alone), with a phone each if asked (a
    call step makes a task only for a lead with a number to call)."""
    made = []
    for n in range(count):
        body = {
            "email": unique_email(f"w{n}"),
            "firstName": f"Wil{n}",
            "lastName": f"Son{tag}",
            "companyName": f"Co{tag}",
        } | ({"phone": f"+1415555{n + 150:04d}"} if phones else {})
        created = client.post("/v1/leads", json=body)
        assert created.status_code == 201, created.text
        made.append(created.json()["lead"])
    return made


def test_enroll_cannot_be_pressed_twice_for_the_same_leads(page: Page, client: httpx.Client) -> None:
    tag = uuid.uuid4().hex[:6]
    step = {"channel": "email", "delayAmount": 2, "delayUnit": "hours", "subjectTemplate": "Hi", "bodyTemplate": "Hi"}
    name = f"Once {tag}"
    sequence = client.post("/v1/sequences", json={"name": name, "window": OPEN_WINDOW, "steps": [step]}).json()
    client.post(f"/v1/sequences/{sequence['id']}/activate").raise_for_status()
    leads = _leads(client, tag, 4)
    enrollments = f"/v1/sequences/{sequence['id']}/enrollments"
    posted: list[str] = []
    page.on("request", lambda r: posted.append(r.url) if r.method == "POST" and r.url.endswith(enrollments) else None)

    sign_in(page)
    page.goto(f"/#/leads?q=Co{tag}")
    rows = page.get_by_test_id("lead-row")
    expect(rows).to_have_count(4)
    for n in range(3):
        rows.nth(n).get_by_test_id("lead-select").check()
    page.get_by_test_id("leads-enroll").click()
    page.get_by_test_id("enroll-sequence").select_option(label=f"{name} (active)")
    confirm = page.get_by_test_id("enroll-confirm")
    expect(confirm).to_have_text("Enroll 3 leads")
    confirm.click()
    expect(page.get_by_test_id("enroll-result")).to_contain_text("3 enrolled")
    # Pressed: it stays so for this choice, and a click does nothing.
    expect(confirm).to_be_disabled()
    expect(confirm).to_have_text("Enrolled")
    confirm.click(force=True)
    expect(page.get_by_test_id("enroll-done-hint")).to_be_visible()
    assert len(posted) == 1
    assert client.get(enrollments, params={"limit": 200}).json()["total"] == 3

    # A new choice (a fourth lead) can be enrolled: those enrolled already are skipped, saying how many and why.
    rows.nth(3).get_by_test_id("lead-select").check()
    expect(confirm).to_be_enabled()
    confirm.click()
    result = page.get_by_test_id("enroll-result")
    expect(result).to_contain_text("1 enrolled · 3 skipped")
    expect(result.get_by_test_id("enroll-skipped")).to_have_text(
        [re.compile(r"^3 already enrolled in this sequence: ")]
    )
    expect(confirm).to_be_disabled()
    assert len(posted) == 2
    listed = client.get(enrollments, params={"limit": 200}).json()
    assert listed["total"] == 4 and sorted(e["leadId"] for e in listed["enrollments"]) == sorted(
        lead["id"] for lead in leads
    )


def test_the_sequence_page_and_the_tasks_name_leads_without_a_request_per_lead(
    page: Page, client: httpx.Client
) -> None:
    tag = uuid.uuid4().hex[:6]
    call = {"channel": "call_task", "subjectTemplate": f"Call {{{{ lead.firstName }}}} {tag}", "bodyTemplate": "Ask"}
    sequence = client.post(
        "/v1/sequences", json={"name": f"Named {tag}", "window": OPEN_WINDOW, "steps": [call]}
    ).json()
    client.post(f"/v1/sequences/{sequence['id']}/activate").raise_for_status()
    leads = _leads(client, tag, 30, phones=True)
    enrolled = client.post(
        f"/v1/sequences/{sequence['id']}/enrollments", json={"leadIds": [lead["id"] for lead in leads]}
    )
    assert len(enrolled.json()["enrolled"]) == 30, enrolled.text

    def every_task() -> bool:
        tasks = client.get("/v1/tasks", params={"sequenceId": sequence["id"], "limit": 200}).json()["tasks"]
        return len(tasks) == 30

    until(every_task, what="a call task for each lead")
    gone = leads[0]  # deleted after its task was made: the task stays, its lead named as deleted
    assert client.delete(f"/v1/leads/{gone['id']}").status_code == 204

    asked: list[str] = []

    def lead_requests(request: Request) -> None:
        if urlsplit(request.url).path.startswith("/v1/leads"):
            asked.append(request.url)

    page.on("request", lead_requests)
    sign_in(page)
    page.goto(f"/#/sequences/{sequence['id']}")
    rows = page.get_by_test_id("enrollment-row")
    expect(rows).to_have_count(30)
    expect(rows.filter(has_text=f"Wil7 Son{tag}")).to_have_count(1)  # named, from the list itself
    expect(rows.filter(has_text=leads[7]["email"])).to_have_count(1)
    expect(rows.get_by_test_id("lead-deleted")).to_have_count(1)  # the deleted one, said so
    page.wait_for_load_state("networkidle")
    assert len(asked) <= 2, asked

    asked.clear()
    page.goto("/#/tasks")
    tasks = page.get_by_test_id("task-row").filter(has_text=tag)
    expect(tasks.filter(has_text=f"Wil7 Son{tag}")).to_have_count(1, timeout=15_000)
    expect(tasks.get_by_test_id("lead-deleted")).to_have_count(1)
    page.wait_for_load_state("networkidle")
    assert len(asked) <= 2, asked
