"""Every table says how many it holds, as the server counted them (#18), in Chromium: each list page of an org of
its own shows its total, a searched list its matches, and "Load more" keeps the total while adding rows (the dead
letters of every service merged, the sequences too); a saved lead view's filters changed and saved over it; the
Team page's tables one tab stop per row, the arrow keys within and between rows, a role changed from its row's own
form."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page, expect

from devstack.stack import Stack
from tests.e2e import test_web_client as web
from tests.e2e.helpers import OrgUser, create_user, org_user, unique_email, until
from tests.e2e.test_icps import icp_body
from tests.e2e.test_leads_table_web import create_leads
from tests.e2e.test_list_totals import call_sequence, dead_letters, new_leads, send_email
from tests.e2e.test_runs_web import sign_in_as
from tests.e2e.test_sequences import OPEN_WINDOW
from tests.e2e.test_web_client import sign_in

pytestmark = pytest.mark.browser
# The browser tests' own fixtures: one Chromium for the module, a fresh page per test that fails on a page error.
browser, page = web.browser, web.page
SLOW = 20_000  # ms: a first page on a machine running several suites at once


@pytest.fixture
def user(stack: Stack, base_url: str) -> Iterator[OrgUser]:
    with org_user(stack, base_url, "totals-web") as made:
        yield made


def test_each_list_shows_the_server_s_total(page: Page, user: OrgUser) -> None:
    c, tag = user.client, uuid.uuid4().hex[:6]
    icp = c.post("/v1/icps", json=icp_body(minScore=0)).json()
    for _ in range(51):  # a page and one more: created, not started
        assert c.post("/v1/lead-runs", json={"icpId": icp["id"], "limit": 1}).status_code == 201
    c.post(f"/v1/icps/{icp['id']}/search", json={"source": "sandbox", "limit": 5}).raise_for_status()
    for address in (f"gone-{tag}@example.com", f"kept-{tag}@example.com"):
        c.post("/v1/suppressions", json={"address": address}).raise_for_status()
    for n in range(2):
        send_email(c, unique_email(f"reader{n}"), f"Shown {tag} {n}")
    sequence = call_sequence(c, tag)
    c.post(f"/v1/sequences/{sequence['id']}/enrollments", json={"leadIds": new_leads(c, 2)}).raise_for_status()
    until(lambda: c.get("/v1/tasks").json()["total"] == 2, 30, "the two call tasks")
    until(lambda: c.get("/v1/captured-mail").json()["total"] == 2, 30, "the two emails captured")
    mailboxes = len(c.get("/v1/mailboxes").json()["mailboxes"])
    sign_in_as(page, user)

    page.goto("/#/runs")
    expect(page.get_by_test_id("runs-total")).to_have_text("51 runs", timeout=SLOW)
    expect(page.get_by_test_id("run-row")).to_have_count(50)
    expect(page.get_by_test_id("runs-total-shown")).to_have_text("· 50 shown")
    page.get_by_test_id("runs-load-more").click()
    expect(page.get_by_test_id("run-row")).to_have_count(51)
    expect(page.get_by_test_id("runs-total")).to_have_text("51 runs")  # kept: the later page is not counted again
    expect(page.get_by_test_id("runs-total-shown")).to_have_count(0)
    expect(page.get_by_test_id("runs-load-more")).to_have_count(0)

    page.goto("/#/icps")
    expect(page.get_by_test_id("icps-total")).to_have_text("1 ICP", timeout=SLOW)
    page.goto(f"/#/icps/{icp['id']}")
    expect(page.get_by_test_id("search-runs-total")).to_have_text("1 run", timeout=SLOW)

    page.goto("/#/settings")
    expect(page.get_by_test_id("suppressions-total")).to_have_text("2 suppressed addresses", timeout=SLOW)
    expect(page.get_by_test_id("mailboxes-total")).to_have_text(f"{mailboxes} mailbox{'' if mailboxes == 1 else 'es'}")
    page.get_by_test_id("suppression-search").fill("gone")  # searched on the server, once typing pauses
    expect(page.get_by_test_id("suppressions-total")).to_have_text("1 suppressed address matches")
    expect(page.get_by_test_id("suppression-row")).to_have_count(1)

    page.goto("/#/mail")
    expect(page.get_by_test_id("mail-total")).to_have_text("2 emails", timeout=SLOW)
    page.goto("/#/inbox?tab=all")
    expect(page.get_by_test_id("inbox-total")).to_have_text("2 conversations", timeout=SLOW)
    page.get_by_test_id("inbox-tab-needs_reply").click()
    expect(page.get_by_test_id("inbox-total")).to_have_text("0 conversations")

    page.goto("/#/sequences")
    expect(page.get_by_test_id("sequences-total")).to_have_text("1 sequence", timeout=SLOW)
    page.goto(f"/#/sequences/{sequence['id']}")
    expect(page.get_by_test_id("enrollments-total")).to_have_text("2 enrollments", timeout=SLOW)
    page.get_by_test_id("enrollments-filter").select_option("replied")  # counted by the filter, on the server
    expect(page.get_by_test_id("enrollments-total")).to_have_text("0 enrollments")
    page.goto("/#/tasks")
    expect(page.get_by_test_id("tasks-total")).to_have_text("2 tasks to do", timeout=SLOW)
    page.get_by_test_id("task-complete").first.click()
    expect(page.get_by_test_id("tasks-total")).to_have_text("1 task to do")  # counted again after the change
    page.get_by_test_id("tasks-tab-done").click()
    expect(page.get_by_test_id("tasks-total")).to_have_text("1 task done")

    page.goto("/#/settings/team")
    expect(page.get_by_test_id("members-total")).to_have_text("1 person", timeout=SLOW)
    expect(page.get_by_test_id("audit-total")).to_have_text("0 entries")
    page.goto("/#/settings/access")
    expect(page.get_by_test_id("credentials-total")).to_have_text("0 credentials", timeout=SLOW)


def test_the_dead_letters_show_their_total_and_load_the_next_page(page: Page, stack: Stack, user: OrgUser) -> None:
    """51 dead letters in two services, a run of them made in one microsecond in both: the Operations page says so,
    shows the first 50, and "Load more" brings the 51st, each service's every one once (while the page refreshes
    itself every 2 s)."""
    moment = dt.datetime.now(dt.UTC).replace(microsecond=0)
    spread = [moment - dt.timedelta(milliseconds=n) for n in range(21)]
    dead_letters(stack, user.client.get("/v1/me").json()["orgId"], {
        "leads": [moment] * 5 + spread, "inbox": [moment] * 4 + spread,
    })  # fmt: skip
    sign_in_as(page, user)
    page.goto("/#/operations")
    total, rows = page.get_by_test_id("dead-letters-total"), page.get_by_test_id("dead-letter-row")
    expect(total).to_have_text("51 dead letters", timeout=SLOW)
    expect(rows).to_have_count(50)
    expect(page.get_by_test_id("dead-letters-total-shown")).to_have_text("· 50 shown")
    page.get_by_test_id("dead-letters-load-more").click()
    expect(rows).to_have_count(51)
    expect(total).to_have_text("51 dead letters")  # kept: the later page is not counted again
    expect(page.get_by_test_id("dead-letters-total-shown")).to_have_count(0)
    expect(page.get_by_test_id("dead-letters-load-more")).to_have_count(0)
    types = page.get_by_test_id("dead-letter-type")
    expect(types.filter(has_text="leads.test")).to_have_count(26)
    expect(types.filter(has_text="inbox.test")).to_have_count(25)
    expect(page.get_by_test_id("dead-letters-unavailable")).to_have_count(0)


def test_the_sequences_page_loads_the_next_page(page: Page, user: OrgUser) -> None:
    step = {"channel": "email", "subjectTemplate": "Hi", "bodyTemplate": "Hello"}
    for n in range(51):
        body = {"name": f"Sequence {n:02d}", "window": OPEN_WINDOW, "steps": [step]}
        assert user.client.post("/v1/sequences", json=body).status_code == 201
    sign_in_as(page, user)
    page.goto("/#/sequences")
    rows = page.get_by_test_id("sequence-row")
    expect(page.get_by_test_id("sequences-total")).to_have_text("51 sequences", timeout=SLOW)
    expect(rows).to_have_count(50)
    expect(rows.first).to_contain_text("Sequence 50")  # newest first
    page.get_by_test_id("sequences-load-more").click()
    expect(rows).to_have_count(51)
    expect(rows.last).to_contain_text("Sequence 00")
    expect(page.get_by_test_id("sequences-load-more")).to_have_count(0)


def test_a_view_s_changed_filters_are_saved_over_it(page: Page, client: httpx.Client) -> None:
    company = f"Over {uuid.uuid4().hex[:8]}"
    create_leads(client, company, 3)
    word, name = company.split()[1], f"Mine {uuid.uuid4().hex[:6]}"
    sign_in(page)
    page.goto(f"/#/leads?q={word}&filtered=all")
    expect(page.get_by_test_id("lead-row")).to_have_count(3, timeout=SLOW)
    expect(page.get_by_test_id("views-save-over")).to_have_count(0)  # nothing to save over yet
    page.get_by_test_id("views-save").click()
    page.get_by_test_id("views-name").fill(name)
    page.get_by_test_id("views-form-submit").click()
    expect(page.get_by_test_id("views-select").locator("option:checked")).to_have_text(name)
    expect(page.get_by_test_id("views-save-over")).to_have_count(0)  # the view on screen is the saved one

    page.get_by_test_id("leads-sort").select_option("lastName")  # the table moves away from the view
    expect(page.get_by_test_id("views-select").locator("option:checked")).to_have_text("Unsaved view")
    save_over = page.get_by_test_id("views-save-over")
    expect(save_over).to_have_text(f"Save over “{name}”")
    save_over.click()
    expect(page.get_by_test_id("views-said")).to_have_text(f"Saved over “{name}”.")
    expect(page.get_by_test_id("views-select").locator("option:checked")).to_have_text(name)
    expect(save_over).to_have_count(0)
    saved = next(v for v in client.get("/v1/views").json()["views"] if v["name"] == name)
    assert (saved["sort"], saved["filters"]) == ("lastName", {"q": word, "filtered": "all"})

    page.goto("/#/leads")  # applied afresh, the view brings the sort saved over it
    page.get_by_test_id("views-select").select_option(label=name)
    expect(page.get_by_test_id("leads-sort")).to_have_value("lastName", timeout=SLOW)
    assert client.delete(f"/v1/views/{saved['id']}").status_code == 204


def test_the_team_tables_have_one_tab_stop_per_row(page: Page, stack: Stack, user: OrgUser) -> None:
    org = f"totals-web {user.email}"  # the org org_user made
    others = [unique_email("teammate") for _ in range(2)]
    for email in others:
        create_user(stack, email, uuid.uuid4().hex, org=org, role="member")
    for _ in range(2):
        user.client.post("/v1/invitations", json={"email": unique_email("invitee")}).raise_for_status()
    sign_in_as(page, user)
    page.goto("/#/settings/team")
    rows = page.get_by_test_id("member-row")
    expect(rows).to_have_count(3, timeout=SLOW)
    expect(page.get_by_test_id("members-total")).to_have_text("3 people")
    stop = [rows.nth(i).get_by_test_id("member-email") for i in range(3)]
    stop[0].focus()
    page.keyboard.press("Tab")
    expect(stop[1]).to_be_focused()  # not row 1's buttons: the next row
    page.keyboard.press("Tab")
    expect(stop[2]).to_be_focused()
    page.keyboard.press("Shift+Tab")
    expect(stop[1]).to_be_focused()
    page.keyboard.press("ArrowRight")  # within the row: its buttons
    change = rows.nth(1).get_by_test_id("member-change-role")
    expect(change).to_be_focused()
    page.keyboard.press("ArrowRight")
    expect(rows.nth(1).get_by_test_id("member-remove")).to_be_focused()
    page.keyboard.press("ArrowDown")  # to the next row's stop
    expect(stop[2]).to_be_focused()
    page.keyboard.press("ArrowUp")
    expect(stop[1]).to_be_focused()

    # A role is changed in the row's own form (never by an arrow key on a list box), and focus comes back.
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")
    role = rows.nth(1).get_by_test_id("member-role")
    expect(role).to_be_focused()
    role.select_option("viewer")
    rows.nth(1).get_by_test_id("member-role-save").click()
    expect(rows.nth(1).get_by_test_id("member-role-text")).to_have_text("viewer")
    expect(change).to_be_focused()
    changed = rows.nth(1).get_by_test_id("member-email").inner_text()
    assert {u["email"]: u["role"] for u in user.client.get("/v1/users").json()["users"]}[changed] == "viewer"

    invitations = page.get_by_test_id("invitation-row")
    expect(invitations).to_have_count(2)
    expect(page.get_by_test_id("invitations-total")).to_have_text("2 invitations waiting")
    invitations.nth(0).get_by_test_id("invitation-email").focus()
    page.keyboard.press("Tab")
    expect(invitations.nth(1).get_by_test_id("invitation-email")).to_be_focused()  # not the Withdraw button
    page.keyboard.press("ArrowRight")
    expect(invitations.nth(1).get_by_test_id("invitation-withdraw")).to_be_focused()

    # The audit log's rows hold nothing to act on: none is a tab stop.
    expect(page.get_by_test_id("audit-row").first).to_be_visible()
    stops = page.get_by_test_id("audit-log").locator("tbody [tabindex='0'], tbody a[href], tbody button")
    expect(stops).to_have_count(0)
    expect(page.get_by_test_id("audit-total")).to_have_text(re.compile(r"^\d+ entr(y|ies)$"))
