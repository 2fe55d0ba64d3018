"""What a new user met on the pages, fixed (#18), in headless Chromium: a search run's page whose every figure
comes from one source and moves steadily, and that can be cancelled."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from devstack.stack import Stack
from tests.e2e import test_web_client as web
from tests.e2e.helpers import assert_problem, org_user, unique_email, until
from tests.e2e.test_icps import icp_body
from tests.fakes.apollo import FakeApollo

pytestmark = pytest.mark.browser
# The browser tests' own fixtures: one Chromium for the module, a fresh page per test that fails on a page error.
browser, page = web.browser, web.page
SLOW = 30_000  # ms

# Every figure of the watched run, read in one go from the DOM (one rendered moment): the bar, the pages,
# the Fetched tile, the status, and the run's row in the runs list.
SAMPLE = """() => {
  const q = (id) => document.querySelector(`[data-testid="${id}"]`);
  const row = document.querySelector('.row-selected [data-testid="search-run-row-summary"]');
  return {
    bar: q('search-progress')?.getAttribute('aria-valuenow'),
    pages: q('search-pages')?.textContent,
    tile: q('diag-fetched')?.textContent,
    status: q('search-status')?.textContent,
    row: row?.textContent,
  };
}"""


@pytest.fixture
def slow_apollo(fake_apollo: FakeApollo) -> Iterator[FakeApollo]:
    """Apollo answering each page after a while: a run to watch mid-way."""
    fake_apollo.page_delay_s = 1.0
    try:
        yield fake_apollo
    finally:
        fake_apollo.page_delay_s = 0.0


def _sign_in(page: Page) -> None:
    """web.sign_in, patient with a loaded machine (a sign-in's hash is slow on purpose)."""
    web.submit_sign_in(page, "demo")
    expect(page.get_by_test_id("signed-in-email")).to_have_text("demo@leadflood.local", timeout=SLOW)


def _figures(sample: dict[str, Any]) -> tuple[int, int, int]:
    """(bar, tile, list row) as numbers; the tile's text is exactly its number."""
    row = re.match(r"(\d+) fetched", sample["row"] or "")
    assert row, sample
    return int(sample["bar"]), int(re.sub(r"\D", "", sample["tile"])), int(row.group(1))


def _open_run(page: Page, client: httpx.Client, *, limit: int) -> tuple[dict[str, Any], str]:
    icp = client.post("/v1/icps", json=icp_body()).json()
    _sign_in(page)
    page.goto(f"/#/icps/{icp['id']}")
    page.get_by_test_id("search-source").select_option("apollo")
    page.get_by_test_id("search-limit").fill(str(limit))
    page.get_by_test_id("search-run").click()
    expect(page).to_have_url(re.compile(r"\?run="), timeout=SLOW)
    return icp, page.url.split("?run=")[1]


def test_a_search_run_s_figures_agree_at_every_moment_and_move_steadily(
    page: Page, client: httpx.Client, slow_apollo: FakeApollo
) -> None:
    _open_run(page, client, limit=250)  # 3 pages of 100, 50 and a second apart
    samples: list[dict[str, Any]] = []
    deadline = time.monotonic() + 60
    while True:
        sample = page.evaluate(SAMPLE)
        if sample["bar"] is not None and sample["row"] is not None:
            samples.append(sample)
            if sample["status"] == "completed":
                break
        assert time.monotonic() < deadline, f"the run did not complete: {samples[-3:]}"
        page.wait_for_timeout(25)  # the sampling rate, not a wait for the run

    seen = [_figures(s) for s in samples]
    disagreeing = [s for s, f in zip(samples, seen, strict=True) if len(set(f)) != 1]
    assert disagreeing == [], f"the page contradicted itself: {disagreeing[:3]}"
    fetched = [f[0] for f in seen]
    assert fetched == sorted(fetched), f"progress went back: {fetched}"
    assert fetched[-1] == 250
    # It moved page by page (every step shown), not from nothing to everything.
    assert {100, 200} <= set(fetched), sorted(set(fetched))
    pages = [int(s["pages"]) for s in samples]
    assert pages == sorted(pages) and pages[-1] == 3
    expect(page.get_by_test_id("search-cancel")).to_have_count(0)  # a finished run has nothing to cancel


def test_a_search_run_is_cancelled_from_its_page_and_stops_at_its_next_page(
    page: Page, client: httpx.Client, slow_apollo: FakeApollo
) -> None:
    icp, run_id = _open_run(page, client, limit=250)
    expect(page.get_by_test_id("diag-fetched")).to_have_text("100", timeout=SLOW)
    page.get_by_test_id("search-cancel").click()
    expect(page.get_by_test_id("search-status")).to_have_text("cancelled", timeout=SLOW)
    expect(page.get_by_test_id("search-cancelled")).to_be_visible()
    expect(page.get_by_test_id("search-cancel")).to_have_count(0)

    path = f"/v1/icps/{icp['id']}/search-runs/{run_id}"
    # The job stops at its next page (failed as stopped, saying why); the last page is never counted.
    job = until(
        lambda: (j := client.get(f"/v1/jobs/{client.get(path).json()['jobId']}").json())["status"] == "failed" and j,
        timeout_s=30,
        what="the search job to stop",
    )
    assert "cancelled" in job["error"]
    run = client.get(path).json()
    assert run["status"] == "cancelled" and run["finishedAt"]
    assert run["peopleFetched"] == run["diagnostics"]["fetched"] < 250
    assert run["pagesFetched"] < 3
    expect(page.get_by_test_id("diag-fetched")).to_have_text(str(run["diagnostics"]["fetched"]), timeout=SLOW)

    # A finished run cannot be cancelled: a 409 problem, in words.
    problem = assert_problem(client.post(f"{path}/cancel"), 409)
    assert "already finished" in problem["detail"]
    # The same search again today is a new run, not the cancelled one.
    again = client.post(f"/v1/icps/{icp['id']}/search", json={"source": "apollo", "limit": 250}).json()
    assert again["existing"] is False and again["runId"] != run_id


def test_cancelling_a_run_that_is_not_there_is_a_problem(client: httpx.Client) -> None:
    icp = client.post("/v1/icps", json=icp_body()).json()
    base = f"/v1/icps/{icp['id']}/search-runs"
    assert_problem(client.post(f"{base}/00000000-0000-4000-8000-000000000000/cancel"), 404)
    assert_problem(client.post(f"{base}/not-a-run/cancel"), 404)


def test_an_import_whose_every_row_failed_says_no_lead_was_imported(page: Page) -> None:
    _sign_in(page)
    page.get_by_test_id("nav-leads").click()
    csv_text = "Email,First Name,Last Name\n" + "\n".join(f"not-an-email-{n},A,B" for n in range(12))
    page.get_by_test_id("leads-import-file").set_input_files(
        {"name": "all-bad.csv", "mimeType": "text/csv", "buffer": csv_text.encode()}
    )
    result = page.get_by_test_id("leads-import-result")
    expect(result).to_be_visible(timeout=SLOW)
    expect(page.get_by_test_id("import-title")).to_have_text("Nothing imported")
    expect(page.get_by_test_id("import-summary")).to_have_text("No lead was imported: all 12 rows had errors.")
    expect(result).not_to_contain_text("Import finished")
    expect(page.get_by_test_id("import-error-row")).to_have_count(12)  # the row errors, by line
    expect(page.get_by_test_id("import-error-row").first).to_contain_text("2")

    # One good row among bad ones: finished, with errors, and how many of each.
    good = f"{uuid.uuid4().hex[:10]}@words.example"
    csv_text = "Email,First Name,Last Name\n" + f"{good},Grace,Hopper\n" + "not-an-email,A,B\nalso-not,C,D\n"
    page.get_by_test_id("leads-import-file").set_input_files(
        {"name": "some-bad.csv", "mimeType": "text/csv", "buffer": csv_text.encode()}
    )
    expect(page.get_by_test_id("import-title")).to_have_text("Import finished with errors", timeout=SLOW)
    expect(page.get_by_test_id("import-summary")).to_have_text(
        "1 lead imported (1 new, 0 updated); 2 rows had errors and were skipped."
    )


# Words the page used to show at once while enriching (the lead's, the job's, the history's): never now.
OTHER_STATUSES = re.compile(r"^(processing|running|queued)$")


def _new_lead(client: httpx.Client, tag: str) -> dict[str, Any]:
    created = client.post("/v1/leads", json={"email": unique_email(tag), "firstName": "Ada", "lastName": "Byron"})
    assert created.status_code == 201, created.text
    return created.json()


def test_an_enriching_lead_shows_one_status_in_words(page: Page, client: httpx.Client) -> None:
    _sign_in(page)
    # The sandbox takes 3 s over a `slow` address and fails a `flaky` one's first attempt: 6 s and a retry,
    # time to read the page mid-way on a loaded machine.
    created = _new_lead(client, "slow-flaky-words")
    page.goto(f"/#/leads/{created['lead']['id']}?job={created['jobId']}")
    expect(page.get_by_test_id("lead-status")).to_have_text("enriching", timeout=SLOW)
    expect(page.get_by_test_id("lead-status-detail")).to_be_visible()
    expect(page.get_by_text(OTHER_STATUSES).filter(visible=True)).to_have_count(0)
    expect(page.get_by_test_id("job-status")).to_be_hidden()  # the job's own status: under Details only
    expect(page.get_by_test_id("enrichment-row")).to_have_count(0)  # the run under way is the status above

    expect(page.get_by_test_id("lead-status")).to_have_text("enriched", timeout=SLOW)
    expect(page.get_by_test_id("lead-status-detail")).to_have_count(0)
    expect(page.get_by_test_id("enrichment-row")).to_have_count(1)
    page.get_by_test_id("job-ids").locator("summary").click()
    expect(page.get_by_test_id("job-status")).to_have_text("completed")


def test_a_failed_enrichment_says_its_error_once(page: Page, client: httpx.Client) -> None:
    created = _new_lead(client, "unknown-words")  # the sandbox finds no such person
    _sign_in(page)
    page.goto(f"/#/leads/{created['lead']['id']}?job={created['jobId']}")
    expect(page.get_by_test_id("lead-status")).to_have_text("failed", timeout=SLOW)
    expect(page.get_by_test_id("lead-error")).to_contain_text("no person found")
    expect(page.get_by_text(re.compile("no person found"))).to_have_count(1)  # not again for the job or history
    expect(page.get_by_test_id("enrichment-row")).to_have_count(1)
    expect(page.get_by_test_id("enrichment-row")).to_contain_text("see above")
    expect(page.get_by_test_id("job-error")).to_have_count(0)


def test_the_icp_s_weights_error_is_said_once(page: Page) -> None:
    """Weights adding up to 110, saved: "should add up to 100 (10 over)" under them and the server's "must add up
    to 100" under that said it twice. Once, in red, at the total."""
    _sign_in(page)
    page.goto("/#/icps/new")
    page.get_by_test_id("icp-name").fill(f"Weights {uuid.uuid4().hex[:6]}")
    page.get_by_test_id("icp-titles").fill("CEO")
    page.keyboard.press("Enter")
    page.get_by_test_id("icp-weight-title").fill("40")
    page.get_by_test_id("icp-save").click()
    note = page.get_by_test_id("icp-weights-note")
    expect(note).to_have_class(re.compile(r"\bfield-error\b"))  # refused: the total's own words, now the error
    expect(page.get_by_test_id("icp-weights-hint")).to_have_text("— should add up to 100 (10 over).")
    expect(page.get_by_text(re.compile(r"add up to 100"))).to_have_count(1)


def test_one_page_fetched_is_one_page(page: Page, client: httpx.Client) -> None:
    icp = client.post("/v1/icps", json=icp_body()).json()
    run = client.post(f"/v1/icps/{icp['id']}/search", json={"source": "sandbox", "limit": 10, "force": True}).json()
    _sign_in(page)
    page.goto(f"/#/icps/{icp['id']}?run={run['runId']}")
    expect(page.get_by_test_id("search-status")).to_have_text("completed", timeout=SLOW)
    expect(page.get_by_test_id("search-pages")).to_have_text("1")
    expect(page.get_by_test_id("search-pages").locator("xpath=..")).to_have_text("1 page fetched")


def test_a_text_conversation_is_named_by_its_lead(page: Page, client: httpx.Client) -> None:
    """A conversation by text was only a number, in the list and as its (empty) heading: the lead's name, when known."""
    number = f"+1415{uuid.uuid4().int % 10_000_000:07d}"
    lead = client.post("/v1/leads", json={"email": unique_email("texter"), "firstName": "Tess", "lastName": "Texter",
                                          "phone": number}).json()  # fmt: skip
    sent = client.post(
        "/v1/messages",
        json={"channel": "sms", "to": number, "leadId": lead["leadId"], "text": "Hi Tess, a quick question"},
        headers={"idempotency-key": uuid.uuid4().hex},
    )
    assert sent.status_code == 202, sent.text
    thread_id = sent.json()["threadId"]
    _sign_in(page)
    page.goto("/#/inbox?tab=all")
    item = page.get_by_test_id("thread-item").filter(has_text=number)
    expect(item.get_by_test_id("thread-item-name")).to_have_text("Tess Texter", timeout=SLOW)
    page.goto(f"/#/inbox/{thread_id}?tab=all")
    expect(page.get_by_test_id("thread-title")).to_have_text("Texts with Tess Texter")
    expect(page.get_by_test_id("thread-lead")).to_have_text("Tess Texter")


def test_an_empty_chart_claims_no_highest_bar(page: Page, stack: Stack, base_url: str) -> None:
    """A new org's Home: no lead and no email in its window, and its charts said "highest: 1"."""
    with org_user(stack, base_url, "empty-chart") as user:
        page.goto("/")
        page.get_by_test_id("login-email").fill(user.email)
        page.get_by_test_id("login-password").fill(user.password)
        page.get_by_test_id("login-submit").click()
        expect(page.get_by_test_id("dashboard")).to_be_visible(timeout=SLOW)
        expect(page.get_by_test_id("chart-mail-empty")).to_be_visible()
        expect(page.get_by_test_id("chart-leads")).to_be_visible()
        expect(page.get_by_text(re.compile(r"highest"))).to_have_count(0)
