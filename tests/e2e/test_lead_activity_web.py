"""A lead's page says where its sales stand (#18's review): after it was put in a sequence (a call task made), emailed,
texted, replied and answered, its page showed "new" and nothing else. Now its sequences (name, state, step), its
conversations (a link to each, the last message, needs reply) and its open call tasks, each linking to its page; its
status badge says it is the enrichment's, and its time zone says what is true. Headless Chromium, an org of its own."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from devstack.stack import Stack
from tests.e2e import test_web_client as web
from tests.e2e.helpers import OrgUser, org_user, unique_email, until
from tests.e2e.test_list_totals import call_sequence
from tests.e2e.test_mail_room import _captured, _send
from tests.e2e.test_runs_web import sign_in_as
from tests.e2e.test_sms import _number

pytestmark = pytest.mark.browser
browser, page = web.browser, web.page
SLOW = 30_000  # ms: the scheduler and the mail room work in the background


@pytest.fixture
def user(stack: Stack, base_url: str) -> Iterator[OrgUser]:
    with org_user(stack, base_url, "activity") as made:
        yield made


def test_a_lead_s_page_shows_its_sequences_conversations_and_calls(page: Page, user: OrgUser) -> None:
    api, tag = user.client, uuid.uuid4().hex[:6]
    email, phone = unique_email("unknown-activity"), _number()  # the sandbox finds no such person: enrichment fails
    lead = api.post("/v1/leads", json={"email": email, "firstName": "Ada", "lastName": tag, "phone": phone}).json()
    lead_id = lead["leadId"]
    other = {"email": unique_email("other"), "firstName": "Bo", "lastName": tag, "phone": _number()}
    other = api.post("/v1/leads", json=other).json()
    # A sequence whose first step is a call task: both leads (each with a number to call) get one; this lead's page
    # lists its own only.
    sequence = call_sequence(api, tag)
    enrolled = api.post(f"/v1/sequences/{sequence['id']}/enrollments", json={"leadIds": [lead_id, other["leadId"]]})
    assert enrolled.status_code in (200, 201), enrolled.text
    until(lambda: len(api.get("/v1/tasks").json()["tasks"]) == 2, SLOW / 1000, "both leads' call tasks")
    # Emailed, and the lead replied (which stops its enrollment); texted too.
    first = _send(api, uuid.uuid4().hex, to=email, leadId=lead_id, subject=f"Tuesday {tag}?", text="Free?").json()
    [mail] = until(lambda: _captured(api, first["rfc822MessageId"]), what="the email")
    assert api.post(f"/v1/captured-mail/{mail['id']}/reply", json={"text": "Yes, Tuesday."}).status_code == 202
    thread = until(
        lambda: (t := api.get(f"/v1/inbox/threads/{first['threadId']}").json())["needsReply"] and t, what="the reply"
    )
    texted = api.post("/v1/messages", json={"channel": "sms", "to": phone, "leadId": lead_id, "text": "Hi Ada"},
                      headers={"idempotency-key": uuid.uuid4().hex})  # fmt: skip
    assert texted.status_code == 202, texted.text

    sign_in_as(page, user)
    page.goto(f"/#/leads/{lead_id}")
    # The badge is the enrichment's, said so.
    expect(page.get_by_test_id("lead-status")).to_have_text("failed", timeout=SLOW)
    expect(page.get_by_test_id("lead-enrichment-status")).to_have_text("Enrichment: failed")
    expect(page.get_by_test_id("lead-time-zone")).to_have_text(
        "Not known (no location): sequences send in their own time zone"
    )
    expect(page.get_by_text(re.compile("the org’s"))).to_have_count(0)
    expect(page.get_by_test_id("lead-score-submit")).to_have_text("Score")  # never scored: not "Score again"

    # Its sequence, stopped by the reply, at the step it had reached.
    enrollment = page.get_by_test_id("lead-enrollment")
    expect(enrollment).to_have_count(1, timeout=SLOW)
    expect(enrollment).to_have_attribute("href", f"#/sequences/{sequence['id']}")
    expect(enrollment.get_by_test_id("lead-enrollment-sequence")).to_have_text(f"Calls {tag}")
    expect(enrollment.get_by_test_id("lead-enrollment-state")).to_have_text("replied")
    expect(enrollment.get_by_test_id("lead-enrollment-step")).to_have_text(" · 1 of 2 steps done")

    # Both conversations, each a link to itself; the email waits for an answer.
    threads = page.get_by_test_id("lead-thread")
    expect(threads).to_have_count(2)
    emailed = threads.filter(has_text=f"Tuesday {tag}?")
    expect(emailed).to_have_attribute("href", f"#/inbox/{thread['id']}?tab=all")
    expect(emailed.get_by_test_id("lead-thread-needs-reply")).to_have_text("Needs reply")
    expect(emailed.get_by_test_id("lead-thread-last")).to_have_text("They wrote: Yes, Tuesday.")
    texts = threads.filter(has_text="Text messages")
    expect(texts.get_by_test_id("lead-thread-last")).to_have_text("You wrote: Hi Ada")

    # Its own call task, not the other lead's, from its sequence.
    task = page.get_by_test_id("lead-task")
    expect(task).to_have_count(1)
    expect(task.get_by_test_id("lead-task-title")).to_have_text("Call Ada")
    expect(task).to_contain_text(f"from the sequence Calls {tag}")
    expect(task).to_have_attribute("href", "#/tasks")

    # Answered: the page says so as it happens (a live event names the lead), no reload.
    answered = api.post(f"/v1/inbox/threads/{thread['id']}/replies", json={"text": "Great, 10am."},
                        headers={"idempotency-key": uuid.uuid4().hex})  # fmt: skip
    assert answered.status_code == 202, answered.text
    expect(emailed.get_by_test_id("lead-thread-needs-reply")).to_have_count(0, timeout=SLOW)
    expect(emailed.get_by_test_id("lead-thread-last")).to_have_text("You wrote: Great, 10am.")

    # The conversation opens from here.
    emailed.click()
    expect(page.get_by_test_id("thread-title")).to_have_text(f"Tuesday {tag}?", timeout=SLOW)


def test_a_lead_with_no_activity_says_so_and_the_leads_table_names_its_status_column(page: Page, user: OrgUser) -> None:
    body = {"email": unique_email("quiet"), "firstName": "Cy", "lastName": "Quiet"}
    lead = user.client.post("/v1/leads", json=body).json()
    assert user.client.patch(f"/v1/leads/{lead['leadId']}", json={"location": "Texas"}).status_code == 200
    sign_in_as(page, user)
    page.goto(f"/#/leads/{lead['leadId']}")
    expect(page.get_by_test_id("lead-enrollments-empty")).to_have_text("Not enrolled in any sequence.", timeout=SLOW)
    expect(page.get_by_test_id("lead-threads-empty")).to_have_text("No conversation yet.")
    expect(page.get_by_test_id("lead-tasks-empty")).to_have_text("No open call task.")
    # Texas spans two time zones: the page says so rather than name the org's (there is none).
    expect(page.get_by_test_id("lead-time-zone")).to_have_text(
        "Not known: “Texas” names no single time zone, so sequences send in their own"
    )
    expect(page.get_by_test_id("lead-enrichment-status")).to_contain_text("Enrichment: ")

    page.get_by_test_id("lead-back").click()
    expect(page.get_by_test_id("lead-row")).to_have_count(1, timeout=SLOW)
    expect(page.get_by_role("columnheader", name="Enrichment")).to_be_visible()
    expect(page.get_by_role("columnheader", name="Status")).to_have_count(0)
    # The filter and the "Columns" menu name it the same way.
    expect(page.get_by_test_id("leads-filter-status")).to_have_accessible_name("Enrichment")
    menu = page.get_by_test_id("columns-menu")
    expect(menu.get_by_label("Enrichment")).to_have_attribute("data-testid", "column-status")
