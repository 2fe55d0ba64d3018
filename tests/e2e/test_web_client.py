"""The web client in headless Chromium: sign in, create a lead, watch it become enriched without a reload."""

from __future__ import annotations

import re
import shutil
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Page, Route, expect, sync_playwright

from tests.e2e.helpers import unique_email, until
from tests.e2e.test_icps import icp_body
from tests.e2e.test_search_runs import wait_run

# Flags that keep Chromium off the closed network and working as root.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    assert executable, "Debian's chromium is required for the browser tests (make test installs it)"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, base_url: str) -> Iterator[Page]:
    context = browser.new_context(base_url=base_url)
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    yield opened
    context.close()
    assert errors == [], f"the page raised: {errors}"


def submit_sign_in(page: Page, password: str) -> None:
    page.goto("/")
    page.get_by_test_id("login-email").fill("demo@leadflood.local")
    page.get_by_test_id("login-password").fill(password)
    page.get_by_test_id("login-submit").click()


def sign_in(page: Page) -> None:
    submit_sign_in(page, "demo")
    expect(page.get_by_test_id("signed-in-email")).to_have_text("demo@leadflood.local")


def test_sign_in_create_a_lead_and_watch_it_enrich(page: Page) -> None:
    sign_in(page)
    page.get_by_test_id("nav-new-lead").click()
    email = unique_email("browser")
    page.get_by_test_id("lead-email").fill(email)
    page.get_by_test_id("lead-first-name").fill("Grace")
    page.get_by_test_id("lead-last-name").fill("Hopper")
    page.get_by_test_id("lead-company").fill("Navy")
    page.get_by_test_id("lead-title").fill("Director of Engineering")
    url_before = page.url
    page.get_by_test_id("lead-submit").click()

    expect(page.get_by_test_id("lead-status")).to_have_text("enriched", timeout=20_000)
    expect(page.get_by_test_id("job-status")).to_have_text("completed")
    expect(page.get_by_test_id("job-attempts")).to_have_text("1/3")
    expect(page.get_by_test_id("lead-enrichment")).to_contain_text("example.com")
    assert page.url != url_before and "#/leads/" in page.url  # navigated in-page, no reload
    # Internal ids live under "Details", not in the main view.
    lead_id = page.url.split("#/leads/")[1].split("?")[0]
    expect(page.get_by_text(lead_id)).not_to_be_visible()
    expect(page.get_by_text("leads.enrich")).not_to_be_visible()
    page.get_by_test_id("lead-ids").locator("summary").click()
    expect(page.get_by_test_id("lead-ids")).to_contain_text(lead_id)
    page.get_by_test_id("job-ids").locator("summary").click()
    expect(page.get_by_test_id("job-ids")).to_contain_text("leads.enrich")


def test_wrong_password_shows_the_error(page: Page) -> None:
    submit_sign_in(page, "wrong")
    error = page.get_by_test_id("login-error")
    expect(error).to_contain_text("wrong email or password")
    expect(error).not_to_contain_text("Unauthorized")
    # The request id is for support: folded under "Details", not in the message.
    expect(error.get_by_test_id("problem-request-id")).to_be_hidden()
    error.get_by_text("Details").click()
    expect(error.get_by_test_id("problem-request-id")).to_be_visible()


def test_an_empty_sign_in_is_checked_in_the_browser(page: Page) -> None:
    posted: list[str] = []
    page.on("request", lambda request: posted.append(request.url) if request.method == "POST" else None)
    page.goto("/")
    page.get_by_test_id("login-submit").click()
    email, password = page.get_by_test_id("login-email"), page.get_by_test_id("login-password")
    expect(email).to_be_focused()
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(password).to_have_attribute("aria-invalid", "true")
    expect(page.locator(".field-error")).to_have_text(["Enter your email", "Enter your password"])
    expect(page.get_by_test_id("login-error")).to_have_count(0)  # said at the fields, once
    email.fill("demo@leadflood.local")
    page.get_by_test_id("login-submit").click()
    expect(password).to_be_focused()
    expect(page.locator(".field-error")).to_have_text(["Enter your password"])
    assert posted == []  # nothing was sent to be told so


def test_a_lead_s_errors_are_said_once_at_their_field_in_words(page: Page) -> None:
    sign_in(page)
    page.get_by_test_id("nav-new-lead").click()
    page.get_by_test_id("lead-submit").click()  # empty: checked here, no round trip
    expect(page.get_by_test_id("lead-email")).to_be_focused()
    expect(page.locator(".field-error")).to_have_count(3)
    expect(page.get_by_test_id("lead-form-error")).to_have_count(0)

    # A rule only the server knows: its answer lands at the field, once, and focus goes there.
    page.get_by_test_id("lead-first-name").fill("A")
    page.get_by_test_id("lead-last-name").fill("B")
    page.get_by_test_id("lead-email").fill("a@b")
    page.get_by_test_id("lead-first-name").focus()
    page.get_by_test_id("lead-submit").click()
    expect(page.get_by_test_id("lead-email")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_test_id("lead-email")).to_be_focused()
    expect(page.locator(".field-error")).to_have_count(1)
    expect(page.get_by_text("It should have a period")).to_have_count(1)
    expect(page.get_by_test_id("lead-form-error")).to_have_count(0)
    text = page.locator("main").inner_text()
    assert "Unprocessable" not in text and "_" not in text


def test_create_an_icp_run_a_search_and_read_the_scored_leads(page: Page) -> None:
    sign_in(page)
    page.get_by_test_id("nav-icps").click()
    page.get_by_test_id("icp-new").click()
    name = f"Browser ICP {uuid.uuid4().hex[:6]}"
    page.get_by_test_id("icp-name").fill(name)
    for title in ("VP Sales", "Head of Sales"):
        page.get_by_test_id("icp-titles").fill(title)
        page.get_by_test_id("icp-titles").press("Enter")
    page.get_by_test_id("icp-seniority-vp").check()
    page.get_by_test_id("icp-industries").fill("Software")
    page.get_by_test_id("icp-industries").press("Enter")
    page.get_by_test_id("icp-min-score").fill("60")
    page.get_by_test_id("icp-save").click()

    page.get_by_test_id("search-limit").fill("2000")
    page.get_by_test_id("search-run").click()
    expect(page.get_by_test_id("search-status")).to_have_text("completed", timeout=30_000)
    names = ("fetched", "duplicates", "filtered", "with-email", "without-email", "created", "updated", "failed")
    counters = {name: int(page.get_by_test_id(f"diag-{name}").inner_text()) for name in names}
    assert counters["fetched"] == 2000
    assert (
        counters["fetched"] == counters["duplicates"] + counters["failed"] + counters["created"] + counters["updated"]
    )
    assert counters["filtered"] > 0 and counters["without-email"] > 0

    # The same search again the same day is recognised, not run twice.
    page.get_by_test_id("search-run").click()
    expect(page.get_by_test_id("search-reused")).to_be_visible()

    # Forced, it runs again over the same people: no lead made twice, every one merged.
    shown_run = page.locator('section[aria-label="Search run"] h2 .mono')
    first_run = shown_run.inner_text()
    page.get_by_test_id("search-force").check()
    page.get_by_test_id("search-run").click()
    expect(page.get_by_test_id("search-run-row")).to_have_count(2)
    expect(shown_run).not_to_have_text(first_run)  # the tiles below are the new run's
    expect(page.get_by_test_id("diag-fetched")).to_have_text("2000", timeout=30_000)
    expect(page.get_by_test_id("search-status")).to_have_text("completed", timeout=30_000)
    assert page.get_by_test_id("diag-created").inner_text() == "0"
    assert int(page.get_by_test_id("diag-updated").inner_text()) == counters["created"] + counters["updated"]

    page.get_by_test_id("search-view-leads").first.click()
    expect(page.get_by_test_id("lead-row").first).to_be_visible()
    shown = page.get_by_test_id("lead-row").count()
    assert 0 < shown <= 50
    page.get_by_test_id("lead-row").first.get_by_role("link").first.click()
    expect(page.get_by_test_id("score-row")).to_have_count(6)
    expect(page.get_by_test_id("lead-score")).to_be_visible()

    # Edit it by hand: the change shows, and is marked as the user's own.
    page.get_by_test_id("lead-edit").click()
    page.get_by_test_id("lead-edit-title").fill("Chief Revenue Officer")
    page.get_by_test_id("lead-edit-save").click()
    expect(page.get_by_text("Chief Revenue Officer").first).to_be_visible()

    # Enrich it from its page: the job runs and the history shows it, without a reload.
    page.get_by_test_id("lead-enrich").click()
    expect(page.get_by_test_id("enrichment-row")).to_have_count(1, timeout=20_000)
    expect(page.get_by_test_id("enrichment-row").first).to_contain_text("completed", timeout=20_000)


def test_leads_of_a_deleted_icp_say_so(page: Page, client: httpx.Client) -> None:
    icp = client.post("/v1/icps", json=icp_body()).json()
    started = client.post(f"/v1/icps/{icp['id']}/search", json={"source": "sandbox", "limit": 100}).json()
    assert wait_run(client, icp["id"], started["runId"])["status"] == "completed"
    lead = client.get("/v1/leads", params={"icpId": icp["id"], "limit": 1}).json()["items"][0]
    assert client.delete(f"/v1/icps/{icp['id']}").status_code == 204  # its leads stay, still naming it

    sign_in(page)
    page.goto(f"/#/leads/{lead['id']}")
    expect(page.get_by_test_id("lead-icp-deleted")).to_be_visible()
    expect(page.get_by_test_id("lead-score")).to_be_visible()

    page.goto(f"/#/leads?icpId={icp['id']}")
    expect(page.get_by_test_id("lead-row").first).to_be_visible()
    expect(page.get_by_test_id("leads-filter-icp").locator("option:checked")).to_have_text("Deleted ICP")


def test_import_a_csv_and_read_its_errors_by_line(page: Page) -> None:
    sign_in(page)
    page.get_by_test_id("nav-leads").click()
    good = unique_email("web-import")
    rows = [f"{good},Grace,Hopper"] + ["not-an-email,A,B"] * 1005  # more errors than the list shows
    csv_text = "Email,First Name,Last Name\n" + "\n".join(rows)
    page.get_by_test_id("leads-import-file").set_input_files(
        {"name": "people.csv", "mimeType": "text/csv", "buffer": csv_text.encode()}
    )
    expect(page.get_by_test_id("leads-import-result")).to_be_visible(timeout=20_000)
    expect(page.get_by_test_id("import-created")).to_have_text("1")
    expect(page.get_by_test_id("import-failed")).to_have_text("1005")
    expect(page.get_by_test_id("import-error-row")).to_have_count(1000)
    expect(page.get_by_test_id("import-error-row").first).to_contain_text("3")  # the first bad row's line
    expect(page.get_by_test_id("import-errors-truncated")).to_contain_text("first 1,000 of 1,005")
    expect(page.get_by_test_id("leads-import-state")).to_have_text("Import CSV")  # ready for the next file


def test_a_csv_over_the_row_limit_says_nothing_was_imported(page: Page, client: httpx.Client) -> None:
    sign_in(page)
    page.get_by_test_id("nav-leads").click()
    good = unique_email("web-too-long")
    csv_text = "email,firstName,lastName\n" + f"{good},Too,Long\n" + "x,y,z\n" * 100_000
    page.get_by_test_id("leads-import-file").set_input_files(
        {"name": "long.csv", "mimeType": "text/csv", "buffer": csv_text.encode()}
    )
    expect(page.get_by_test_id("leads-import-error")).to_contain_text("nothing was imported", timeout=60_000)
    expect(page.get_by_test_id("leads-import-result")).to_contain_text("Import failed")
    listed = client.get("/v1/leads", params={"q": good.split("@")[0], "filtered": "all"}).json()["items"]
    assert listed == []  # its first row, a good one, was not kept either


def test_an_import_cancelled_during_its_upload_imports_nothing(page: Page, client: httpx.Client) -> None:
    sign_in(page)
    page.get_by_test_id("nav-leads").click()
    tag = uuid.uuid4().hex[:10]
    csv_text = "email,firstName,lastName\n" + "".join(f"c{n}.{tag}@cancel.example,Can,Cel{n}\n" for n in range(20_000))
    # A slow line (200 kB/s for a 0.9 MB file), so the upload is still going when Cancel is pressed.
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": 200_000},
    )
    page.get_by_test_id("leads-import-file").set_input_files(
        {"name": "slow.csv", "mimeType": "text/csv", "buffer": csv_text.encode()}
    )
    expect(page.get_by_test_id("leads-import-state")).to_contain_text("Importing…")
    page.get_by_test_id("leads-import-cancel").click()
    expect(page.get_by_test_id("leads-import-result")).to_contain_text("Import cancelled")
    expect(page.get_by_test_id("leads-import-cancelled")).to_contain_text("nothing was imported")
    expect(page.get_by_test_id("leads-import-state")).to_have_text("Import CSV")  # ready for the next file
    page.wait_for_timeout(1500)  # a service that took the cut-off for the end of the file would have written by now
    listed = client.get("/v1/leads", params={"q": tag, "filtered": "all"}).json()["items"]
    assert listed == []


def test_email_a_lead_and_read_what_it_received_in_the_captured_mail(page: Page, client: httpx.Client) -> None:
    email = unique_email("mailview")
    lead = client.post("/v1/leads", json={"email": email, "firstName": "Grace", "lastName": "Hopper"}).json()
    sign_in(page)
    page.goto(f"/#/leads/{lead['leadId']}")
    subject = f"Hello Grace {uuid.uuid4().hex[:6]}"
    page.get_by_test_id("email-subject").fill(subject)
    page.get_by_test_id("email-text").fill("Shall we talk on Tuesday?")
    page.get_by_test_id("email-send").click()
    expect(page.get_by_test_id("email-sent")).to_contain_text("Sent to the mail room")
    page.get_by_test_id("nav-mail").click()
    item = page.get_by_test_id("mail-item").filter(has_text=subject)
    expect(item).to_have_count(1, timeout=15_000)  # it arrives while the page refreshes itself
    item.click()
    headers = page.get_by_test_id("mail-headers")
    expect(headers).to_contain_text("List-Unsubscribe-Post")
    expect(headers).to_contain_text("List-Unsubscribe=One-Click")
    expect(headers).to_contain_text(email)
    expect(page.get_by_test_id("mail-text")).to_contain_text("Shall we talk on Tuesday?")


def test_a_lead_s_reply_reaches_the_inbox_and_is_answered_there(page: Page, client: httpx.Client) -> None:
    email = unique_email("inboxview")
    lead = client.post("/v1/leads", json={"email": email, "firstName": "Ken", "lastName": "Thompson"}).json()
    sign_in(page)
    page.goto(f"/#/leads/{lead['leadId']}")
    subject = f"Unix chat {uuid.uuid4().hex[:6]}"
    page.get_by_test_id("email-subject").fill(subject)
    page.get_by_test_id("email-text").fill("Do you have a minute?")
    page.get_by_test_id("email-send").click()
    expect(page.get_by_test_id("email-sent")).to_contain_text("Sent to the mail room")
    page.get_by_test_id("nav-mail").click()
    item = page.get_by_test_id("mail-item").filter(has_text=subject)
    expect(item).to_have_count(1, timeout=15_000)
    item.click()
    page.get_by_test_id("lead-reply-text").fill("Sure, call me at noon.")
    page.get_by_test_id("lead-reply-send").click()
    expect(page.get_by_test_id("lead-reply-done")).to_contain_text("Reply sent")

    page.get_by_test_id("nav-inbox").click()
    row = page.get_by_test_id("thread-item").filter(has_text=subject)
    expect(row).to_have_count(1, timeout=15_000)  # the inbox refreshes itself as the reply is filed
    expect(row).to_contain_text("Sure, call me at noon.")
    row.click()
    messages = page.get_by_test_id("thread-message")
    expect(messages).to_have_count(2)
    expect(messages.nth(1)).to_contain_text("Reply")
    page.get_by_test_id("reply-text").fill("Noon it is.")
    page.get_by_test_id("reply-send").click()
    expect(messages).to_have_count(3)
    expect(messages.nth(2).get_by_test_id("message-status")).to_have_text("sent", timeout=15_000)


def test_a_draft_is_read_edited_and_sent_from_its_thread(page: Page, client: httpx.Client) -> None:
    to, subject = unique_email("draftview"), f"Availability {uuid.uuid4().hex[:6]}"
    headers = {"idempotency-key": uuid.uuid4().hex}
    first = client.post("/v1/messages", json={"to": to, "subject": subject, "text": "Hello"}, headers=headers).json()
    drafted = client.post(
        "/v1/messages", json={"to": to, "subject": subject, "text": "When are you free?", "threadId": first["threadId"],
                              "draft": True}, headers={"idempotency-key": uuid.uuid4().hex},
    ).json()  # fmt: skip
    sign_in(page)
    page.goto(f"/#/inbox/{first['threadId']}")
    review = page.get_by_test_id("draft-review")
    expect(review.get_by_test_id("draft-text")).to_have_value("When are you free?")
    review.get_by_test_id("draft-text").fill("Are you free on Tuesday at 10?")
    review.get_by_test_id("draft-send").click()
    messages = page.get_by_test_id("thread-message")
    expect(page.get_by_test_id("draft-review")).to_have_count(0)  # no longer a draft
    expect(messages.nth(1).get_by_test_id("message-status")).to_have_text("sent", timeout=15_000)
    expect(messages.nth(1)).to_contain_text("Are you free on Tuesday at 10?")
    sent = client.get(f"/v1/messages/{drafted['messageId']}").json()
    assert sent["status"] == "sent" and sent["text"] == "Are you free on Tuesday at 10?"


def test_add_a_mailbox_and_keep_the_suppression_list_in_settings(page: Page) -> None:
    sign_in(page)
    page.get_by_test_id("nav-settings").click()
    address = f"team-{uuid.uuid4().hex[:6]}@acme.example.com"
    page.get_by_test_id("mailbox-fromAddress").fill(address)
    page.get_by_test_id("mailbox-smtpHost").fill("smtp.acme.example.com")
    page.get_by_test_id("mailbox-timeZone").fill("Nowhere/Else")
    page.get_by_test_id("mailbox-add").click()
    expect(page.locator(".field.has-error")).to_contain_text("IANA time zone")  # said at the field, once
    page.get_by_test_id("mailbox-timeZone").fill("Europe/Berlin")
    page.get_by_test_id("mailbox-add").click()
    row = page.get_by_test_id("mailbox-row").filter(has_text=address)
    expect(row).to_contain_text("0 of 200")
    expect(row).to_contain_text("Europe/Berlin")

    blocked = unique_email("blocked")
    page.get_by_test_id("suppression-address").fill(blocked)
    page.get_by_test_id("suppression-add").click()
    suppressed = page.get_by_test_id("suppression-row").filter(has_text=blocked)
    expect(suppressed).to_contain_text("Added by hand")
    page.once("dialog", lambda dialog: dialog.accept())
    suppressed.get_by_role("button", name="Remove").click()
    expect(suppressed).to_have_count(0)


def test_build_a_sequence_enroll_a_lead_from_the_lead_table_and_read_its_first_email(
    page: Page, client: httpx.Client
) -> None:
    email = unique_email("sequenced")
    created = client.post("/v1/leads", json={"email": email, "firstName": "Grace", "lastName": "Hopper",
                                             "companyName": "Navy"})  # fmt: skip
    assert created.status_code == 201, created.text
    tag, name = uuid.uuid4().hex[:6], f"Browser sequence {uuid.uuid4().hex[:6]}"
    sign_in(page)
    page.get_by_test_id("nav-sequences").click()
    page.get_by_test_id("sequence-new").click()
    page.get_by_test_id("seq-name").fill(name)
    for day in (6, 7):  # every day, all day: the step goes at once whenever the test runs
        page.get_by_test_id(f"seq-day-{day}").check()
    page.get_by_test_id("seq-start").fill("00:00")
    page.get_by_test_id("seq-end").fill("23:59")
    page.get_by_test_id("seq-zone").fill("UTC")
    step = page.get_by_test_id("step-card").first
    step.get_by_test_id("step-subject").fill(f"Hello {{{{ lead.fristName }}}} {tag}")
    step.get_by_test_id("step-body").fill("Hi {{ lead.firstName }}, shall we talk?")
    page.get_by_test_id("seq-save").click()
    expect(step.locator(".field.has-error")).to_contain_text("unknown variable lead.fristName")  # at the field
    step.get_by_test_id("step-subject").fill(f"Hello {{{{ lead.firstName }}}} {tag}")
    page.get_by_test_id("seq-save").click()
    expect(page.get_by_test_id("sequence-state")).to_have_text("draft")

    # The saved draft previews its step for a sample lead, then for the lead chosen, as the template changes.
    expect(step.get_by_test_id("step-preview-subject")).to_have_text(f"Hello Ada {tag}")
    page.get_by_text("Preview for one of your leads").click()
    page.get_by_test_id("preview-lead-search").fill(email.split("@")[0])
    page.get_by_test_id("preview-lead-option").filter(has_text=email).click()
    expect(step.get_by_test_id("step-preview-subject")).to_have_text(f"Hello Grace {tag}")
    step.get_by_test_id("step-body").fill("Hi {{ lead.firstName }} of {{ lead.companyName }}, shall we talk?")
    expect(step.get_by_test_id("step-preview-body")).to_have_text("Hi Grace of Navy, shall we talk?")
    step.get_by_test_id("step-body").fill("Hi {{ lead.nope }}")
    expect(step.get_by_test_id("step-preview-error")).to_contain_text("unknown variable lead.nope")
    step.get_by_test_id("step-body").fill("Hi {{ lead.firstName }} of {{ lead.companyName }}, shall we talk?")
    expect(page.get_by_test_id("seq-activate")).to_be_disabled()  # what is shown is not saved yet
    page.get_by_test_id("seq-save").click()
    expect(page.get_by_test_id("seq-saved")).to_be_visible()
    page.get_by_test_id("seq-activate").click()
    expect(page.get_by_test_id("sequence-state")).to_have_text("active")
    sequence_url = page.url

    page.goto(f"/#/leads?q={email.split('@')[0]}")
    row = page.get_by_test_id("lead-row").filter(has_text=email)
    expect(row).to_have_count(1)
    row.get_by_test_id("lead-select").check()
    expect(page.get_by_test_id("leads-selected-count")).to_have_text("1 selected")
    page.get_by_test_id("leads-enroll").click()
    page.get_by_test_id("enroll-sequence").select_option(label=f"{name} (active)")
    page.get_by_test_id("enroll-confirm").click()
    expect(page.get_by_test_id("enroll-result")).to_contain_text("1 enrolled")

    page.get_by_test_id("nav-mail").click()
    item = page.get_by_test_id("mail-item").filter(has_text=f"Hello Grace {tag}")
    expect(item).to_have_count(1, timeout=15_000)  # the captured mail refreshes itself as it arrives
    item.click()
    expect(page.get_by_test_id("mail-headers")).to_contain_text("List-Unsubscribe=One-Click")
    expect(page.get_by_test_id("mail-text")).to_contain_text("Hi Grace of Navy, shall we talk?")

    page.goto(sequence_url)
    enrollment = page.get_by_test_id("enrollment-row").filter(has_text="Grace Hopper")
    expect(enrollment.get_by_test_id("enrollment-state")).to_have_text("completed")  # its one step sent
    expect(enrollment.get_by_test_id("enrollment-why")).to_have_text("Every step done")


def test_enroll_every_lead_matching_the_filter_from_the_lead_table(page: Page, client: httpx.Client) -> None:
    icp = client.post("/v1/icps", json=icp_body()).json()
    run = client.post(f"/v1/icps/{icp['id']}/search", json={"source": "sandbox", "limit": 120, "force": True}).json()
    wait_run(client, icp["id"], run["runId"])
    window = {"days": [1, 2, 3, 4, 5, 6, 7], "startTime": "00:00", "endTime": "23:59", "timeZone": "UTC"}
    step = {"channel": "email", "delayAmount": 2, "delayUnit": "hours", "subjectTemplate": "Hi", "bodyTemplate": "Hi"}
    name = f"Matching {uuid.uuid4().hex[:6]}"
    sequence = client.post("/v1/sequences", json={"name": name, "window": window, "steps": [step]}).json()
    sign_in(page)
    page.goto(f"/#/leads?searchRunId={run['runId']}&hasEmail=yes&filtered=all")
    page.get_by_test_id("leads-enroll-matching").click()
    page.get_by_test_id("enroll-sequence").select_option(sequence["id"])
    page.get_by_test_id("enroll-confirm").click()
    result = page.get_by_test_id("enroll-matching-result")
    expect(result).to_contain_text("enrolled", timeout=30_000)
    enrolled = client.get(f"/v1/sequences/{sequence['id']}/enrollments", params={"limit": 200}).json()["enrollments"]
    assert enrolled and result.inner_text().startswith(f"{len(enrolled)} enrolled")


def test_no_page_is_wider_than_a_phone(browser: Browser, base_url: str) -> None:
    context = browser.new_context(base_url=base_url, viewport={"width": 390, "height": 844})
    try:
        phone = context.new_page()
        sign_in(phone)
        for path in ("#/icps", "#/leads", "#/inbox", "#/mail", "#/sequences", "#/tasks", "#/settings"):
            phone.goto(f"/{path}")
            expect(phone.locator("main")).to_be_visible()
            phone.wait_for_load_state("networkidle")
            width = phone.evaluate("document.scrollingElement.scrollWidth")
            assert width <= 390, f"{path} is {width} px wide on a 390 px screen"
    finally:
        context.close()


def test_the_api_docs_load_with_nothing_from_outside_the_gateway(page: Page, base_url: str) -> None:
    own = urlsplit(base_url).netloc
    outside: list[str] = []

    def only_the_gateway(route: Route) -> None:
        if urlsplit(route.request.url).netloc == own or route.request.url.startswith("data:"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_the_gateway)
    page.goto("/docs")
    # Swagger UI parses a 1.5 MB bundle and the whole document: seconds on a loaded 2-core machine.
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Lead Flood API", timeout=30_000)
    expect(page.get_by_role("button", name="Authorize")).to_be_visible()  # the bearer scheme
    expect(page.locator(".opblock-tag-section").first).to_be_visible()  # the routes, from /openapi.json
    page.wait_for_load_state("networkidle")
    assert outside == []


def test_back_from_a_lead_keeps_the_user_s_place_in_the_list(page: Page, client: httpx.Client) -> None:
    icp = client.post("/v1/icps", json=icp_body()).json()
    run = client.post(f"/v1/icps/{icp['id']}/search", json={"source": "sandbox", "limit": 300, "force": True}).json()
    wait_run(client, icp["id"], run["runId"])
    query = {"searchRunId": run["runId"], "filtered": "all", "limit": 500}
    assert len(client.get("/v1/leads", params=query).json()["items"]) > 150
    sign_in(page)
    page.goto(f"/#/leads?searchRunId={run['runId']}&filtered=all&sort=lastName")
    rows = page.get_by_test_id("lead-row")
    expect(rows).to_have_count(50)
    for loaded in (100, 150):
        page.get_by_test_id("leads-load-more").click()
        expect(rows).to_have_count(loaded)
    list_url = page.url
    target = rows.nth(120)
    target.scroll_into_view_if_needed()
    assert page.evaluate("window.scrollY") > 0
    name = target.get_by_role("link").first.inner_text()
    target.get_by_role("link").first.click()
    expect(page.get_by_test_id("lead-status")).to_be_visible()

    page.go_back()  # the browser's Back: the 150 rows, where they were, with the same filters
    expect(rows).to_have_count(150)
    assert page.url == list_url
    # The user's place: the row they opened is on their screen again (not at the top of the first page).
    # Not an exact scrollY or pixel: what arrives above the table afterwards (the saved views) moves both by
    # the browser's scroll anchoring, by amounts that vary with timing; the row stays in view.
    expect(rows.nth(120)).to_be_in_viewport()
    assert page.evaluate("window.scrollY") > 0
    expect(rows.nth(120).get_by_role("link").first).to_have_text(name)

    rows.nth(130).get_by_role("link").first.click()
    page.get_by_test_id("lead-back").click()  # the lead page's own "← Leads" does the same
    expect(rows).to_have_count(150)
    assert page.url == list_url
    expect(page.get_by_test_id("leads-filter-filtered")).to_have_value("all")


# Resolves once the page's scroll has not moved for a few frames: a keyboard scroll is animated.
SCROLL_SETTLED = """() => new Promise((done) => {
  let last = -1, still = 0;
  const tick = () => {
    still = scrollY === last ? still + 1 : 0;
    last = scrollY;
    if (still >= 5) done(scrollY); else requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
})"""


@pytest.mark.parametrize("scroll", ["End", "PageDown", "wheel"])
def test_back_from_a_lead_keeps_the_place_however_the_user_scrolled(
    browser: Browser, base_url: str, client: httpx.Client, scroll: str
) -> None:
    """Scrolled by the keyboard (End, PageDown) or the wheel, a while before opening a lead: Back and "← Leads"
    return to that place. The place was kept by a listener that heard the page go (the rows gone, the scroll
    clamped to 0) before it was stopped, so 3 times in 4 the list came back at its top."""
    icp = client.post("/v1/icps", json=icp_body()).json()
    run = client.post(f"/v1/icps/{icp['id']}/search", json={"source": "sandbox", "limit": 120, "force": True}).json()
    wait_run(client, icp["id"], run["runId"])
    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 800})
    try:
        page = context.new_page()
        sign_in(page)
        page.goto(f"/#/leads?searchRunId={run['runId']}&filtered=all&sort=lastName")
        rows = page.get_by_test_id("lead-row")
        expect(rows).to_have_count(50, timeout=20_000)
        page.get_by_test_id("leads-load-more").click()
        expect(rows).to_have_count(100)
        for back in ("history", "link"):
            page.locator("main h1").click()  # the keys scroll the page, not a field
            if scroll == "wheel":
                page.mouse.move(640, 400)
                page.mouse.wheel(0, 3000)
            else:
                for _ in range(4 if scroll == "PageDown" else 1):
                    page.keyboard.press(scroll)
            y = page.evaluate(SCROLL_SETTLED)
            assert y > 1000, f"{scroll} scrolled the list to {y}"
            # The row in the middle of the screen, opened where it is (nothing scrolls it into view first).
            middle = page.evaluate(
                "[...document.querySelectorAll('[data-testid=lead-row]')].indexOf("
                "document.elementFromPoint(640, 400).closest('tr'))"
            )
            assert middle >= 0
            opened = rows.nth(middle)
            name = opened.get_by_role("link").first.inner_text()
            opened.get_by_role("link").first.click()
            expect(page.get_by_test_id("lead-status")).to_be_visible()
            if back == "history":
                page.go_back()
            else:
                page.get_by_test_id("lead-back").click()
            expect(rows).to_have_count(100)
            assert page.evaluate(SCROLL_SETTLED) == pytest.approx(y, abs=80), f"back by {back}: not where the user was"
            expect(rows.filter(has_text=name).first).to_be_in_viewport()
    finally:
        context.close()


def test_the_leads_table_sorts_by_its_headers_and_uses_a_wide_screen(
    browser: Browser, base_url: str, client: httpx.Client
) -> None:
    icp = client.post("/v1/icps", json=icp_body()).json()
    run = client.post(f"/v1/icps/{icp['id']}/search", json={"source": "sandbox", "limit": 60, "force": True}).json()
    wait_run(client, icp["id"], run["runId"])
    context = browser.new_context(base_url=base_url, viewport={"width": 1440, "height": 900})
    try:
        page = context.new_page()
        sign_in(page)
        page.goto(f"/#/leads?searchRunId={run['runId']}&filtered=all")
        rows = page.get_by_test_id("lead-row")
        expect(rows.first).to_be_visible()
        width = page.locator(".table-wrap").first.evaluate("e => e.getBoundingClientRect().width")
        assert width > 1100, f"the table is {width} px wide on a 1440 px screen"
        cut = page.locator(".cell-clip").evaluate_all(
            "cells => cells.filter(c => c.scrollWidth > c.clientWidth).length"
        )
        assert cut == 0, f"{cut} emails cut off at 1440 px"

        page.get_by_test_id("sort-score").click()
        expect(page).to_have_url(re.compile(r"sort=-score"))
        expect(page.locator("th[aria-sort=descending]")).to_contain_text("Score")
        until(lambda: scores(page) == sorted(scores(page), reverse=True) and scores(page), 10, "scores high to low")
        page.get_by_test_id("sort-score").click()
        expect(page).to_have_url(re.compile(r"sort=score"))
        expect(page.locator("th[aria-sort=ascending]")).to_contain_text("Score")
        until(lambda: scores(page) == sorted(scores(page)) and scores(page), 10, "scores low to high")
        expect(page.get_by_test_id("leads-sort")).to_have_value("score")  # the sort box agrees
    finally:
        context.close()


def scores(page: Page) -> list[int]:
    return [int(text) for text in page.get_by_test_id("lead-row-score").all_inner_texts() if text.strip().isdigit()]


def test_on_a_phone_the_filters_fold_and_the_top_bar_is_one_line(browser: Browser, base_url: str) -> None:
    context = browser.new_context(base_url=base_url, viewport={"width": 390, "height": 844})
    try:
        phone = context.new_page()
        sign_in(phone)
        phone.goto("/#/leads")
        expect(phone.get_by_test_id("leads-filter-q")).to_be_hidden()
        bar = phone.locator(".topbar-inner").evaluate("e => e.getBoundingClientRect().height")
        assert bar <= 60, f"the top bar is {bar} px high on a 390 px screen"
        phone.get_by_test_id("leads-filters-toggle").click()
        expect(phone.get_by_test_id("leads-filter-q")).to_be_visible()
        phone.get_by_test_id("menu-toggle").click()
        phone.get_by_test_id("nav-icps").click()  # the menu opens below the bar
        expect(phone).to_have_url(re.compile(r"#/icps$"))
        expect(phone.get_by_test_id("nav-icps")).to_be_hidden()  # and closes on the way
        # Escape closes it, as it does "More", from its button or from a link in it; focus back on "Menu".
        menu = phone.get_by_test_id("menu-toggle")
        for focus_in in ("button", "link"):
            menu.click()
            expect(menu).to_have_attribute("aria-expanded", "true")
            if focus_in == "link":
                phone.get_by_test_id("nav-leads").focus()
            phone.keyboard.press("Escape")
            expect(phone.get_by_test_id("nav-leads")).to_be_hidden()
            expect(menu).to_have_attribute("aria-expanded", "false")
            expect(menu).to_be_focused()
    finally:
        context.close()
