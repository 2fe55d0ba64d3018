"""The leads table (#18): its total, and bulk actions on the rows ticked (enrich, export, delete), in Chromium;
the total, the selection's export and the bulk routes over HTTP, bad input included.

Sorting by a header (aria-sort) and the 390 px layout are tested in test_web_client.py
(test_the_leads_table_sorts_by_its_headers_and_uses_a_wide_screen, test_on_a_phone_the_filters_fold_...)."""

from __future__ import annotations

import csv
import io
import re
import uuid

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e import test_web_client as web
from tests.e2e.helpers import unique_email, until
from tests.e2e.test_icps import icp_body
from tests.e2e.test_search_runs import wait_run
from tests.e2e.test_web_client import sign_in

pytestmark = pytest.mark.browser
# The browser tests' own fixtures: one Chromium for the module, a fresh page per test that fails on a page error.
browser, page = web.browser, web.page


def create_leads(client: httpx.Client, company: str, count: int) -> list[str]:
    ids = []
    for i in range(count):
        body = {"email": unique_email("bulk"), "firstName": f"Bulk{i}", "lastName": "Lead", "companyName": company}
        created = client.post("/v1/leads", json=body)
        assert created.status_code == 201, created.text
        ids.append(created.json()["leadId"])
    return ids


def test_the_list_counts_its_leads_on_the_first_page_only(client: httpx.Client) -> None:
    icp = client.post("/v1/icps", json=icp_body()).json()
    run = client.post(f"/v1/icps/{icp['id']}/search", json={"source": "sandbox", "limit": 60, "force": True}).json()
    wait_run(client, icp["id"], run["runId"])
    params = {"searchRunId": run["runId"], "filtered": "all", "limit": 20}
    first = client.get("/v1/leads", params=params).json()
    matching = client.get("/v1/leads/export.csv", params={"searchRunId": run["runId"], "filtered": "all"}).text
    assert first["total"] == len(list(csv.DictReader(io.StringIO(matching)))) > 20
    assert first["totalCapped"] is False
    second = client.get("/v1/leads", params={**params, "cursor": first["nextCursor"]}).json()
    assert (second["total"], second["totalCapped"]) == (None, False)  # a cursor page is not counted again


def test_the_table_shows_the_total(page: Page, client: httpx.Client) -> None:
    company = f"Counted {uuid.uuid4().hex[:8]}"
    create_leads(client, company, 3)
    sign_in(page)
    page.goto(f"/#/leads?q={company.split()[1]}&filtered=all")
    # The first page on a loaded machine (several suites at once) took over the default 5 s.
    expect(page.get_by_test_id("leads-total")).to_have_text("3 leads", timeout=20_000)
    expect(page.get_by_test_id("leads-count")).to_have_text("3 shown")


def test_bulk_enrich_export_and_delete_the_selection(page: Page, client: httpx.Client) -> None:
    company = f"Bulk {uuid.uuid4().hex[:8]}"
    ids = create_leads(client, company, 3)
    # Creating a lead starts its enrichment: let those finish, so the bulk one starts three new ones.
    until(
        lambda: all(client.get(f"/v1/leads/{i}").json()["status"] in ("enriched", "failed") for i in ids),
        20,
        "the leads' first enrichment",
    )
    sign_in(page)
    page.goto(f"/#/leads?q={company.split()[1]}&filtered=all")
    rows = page.get_by_test_id("lead-row")
    expect(rows).to_have_count(3, timeout=20_000)
    page.get_by_test_id("leads-select-all").check()
    expect(page.get_by_test_id("leads-selected-count")).to_have_text("3 selected")

    page.get_by_test_id("leads-bulk-enrich").click()
    expect(page.get_by_test_id("leads-bulk-result")).to_have_text("3 enrichments started")

    with page.expect_download() as download:
        page.get_by_test_id("leads-bulk-export").click()
    exported = list(csv.DictReader(io.StringIO(open(download.value.path(), encoding="utf-8").read())))
    assert sorted(row["id"] for row in exported) == sorted(ids)
    expect(page.get_by_test_id("leads-bulk-result")).to_have_text("3 leads exported")

    rows.first.get_by_test_id("lead-select").uncheck()  # keep one
    kept = rows.first.get_by_role("link").inner_text()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_test_id("leads-bulk-delete").click()
    expect(page.get_by_test_id("leads-bulk-result")).to_have_text("2 deleted")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(kept)
    expect(page.get_by_test_id("leads-total")).to_have_text("1 lead")
    assert sum(client.get(f"/v1/leads/{i}").status_code == 404 for i in ids) == 2


def test_bulk_enrich_shows_the_rows_enriched_without_a_reload(page: Page, client: httpx.Client) -> None:
    """Leads a search found ("new"), enriched from the table: their status moved only after a reload; each row
    follows its lead's enrichment as it ends (the live stream names the leads), on the same page."""
    icp = client.post("/v1/icps", json=icp_body(minScore=0)).json()
    run = client.post(f"/v1/icps/{icp['id']}/search", json={"source": "sandbox", "limit": 6, "force": True}).json()
    wait_run(client, icp["id"], run["runId"])
    sign_in(page)
    page.goto(f"/#/leads?searchRunId={run['runId']}&filtered=all&hasEmail=yes")
    statuses = page.get_by_test_id("lead-row-status")
    expect(statuses.first).to_be_visible(timeout=20_000)
    count = statuses.count()
    expect(statuses).to_have_text(["new"] * count)
    page.evaluate("window.__samePage = true")  # gone if anything reloads the page
    page.get_by_test_id("leads-select-all").check()
    page.get_by_test_id("leads-bulk-enrich").click()
    expect(page.get_by_test_id("leads-bulk-result")).to_have_text(re.compile(rf"^{count} enrichments? started"))
    expect(statuses).to_have_text([re.compile(r"^(enriched|failed)$")] * count, timeout=20_000)
    assert page.evaluate("window.__samePage === true")


def test_a_declined_delete_deletes_nothing(page: Page, client: httpx.Client) -> None:
    company = f"Kept {uuid.uuid4().hex[:8]}"
    ids = create_leads(client, company, 2)
    sign_in(page)
    page.goto(f"/#/leads?q={company.split()[1]}&filtered=all")
    expect(page.get_by_test_id("lead-row")).to_have_count(2, timeout=20_000)
    page.get_by_test_id("leads-select-all").check()
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_test_id("leads-bulk-delete").click()
    expect(page.get_by_test_id("lead-row")).to_have_count(2)
    assert all(client.get(f"/v1/leads/{i}").status_code == 200 for i in ids)


def test_bulk_routes_refuse_bad_input_and_count_the_missing(client: httpx.Client) -> None:
    for path in ("/v1/leads/bulk-delete", "/v1/leads/bulk-enrich"):
        for body in ({"leadIds": ["not-an-id"]}, {"leadIds": []}, {"leadIds": [str(uuid.uuid4())] * 501}, {}):
            refused = client.post(path, json=body)
            assert refused.status_code == 422, (path, body, refused.text)
            assert refused.headers["content-type"].startswith("application/problem+json")
    gone = client.post("/v1/leads/bulk-delete", json={"leadIds": [str(uuid.uuid4())]})
    assert gone.json() == {"deleted": 0, "notFound": 1}
    missing = client.post("/v1/leads/bulk-enrich", json={"leadIds": [str(uuid.uuid4())]})
    assert (missing.status_code, missing.json()) == (
        202,
        {"started": 0, "alreadyRunning": 0, "notFound": 1, "refused": 0, "refusedBecause": []},
    )
    for ids in ("nope", "-" * 36, ",".join(str(uuid.uuid4()) for _ in range(101))):
        refused = client.get("/v1/leads/export.csv", params={"ids": ids})
        assert refused.status_code == 422, refused.text
    other_org_or_none = client.get("/v1/leads/export.csv", params={"ids": str(uuid.uuid4())})
    assert other_org_or_none.status_code == 200 and other_org_or_none.text.count("\n") == 1  # the header only


def test_on_a_phone_the_selection_s_actions_fit_the_screen(
    browser: Browser, base_url: str, client: httpx.Client
) -> None:
    company = f"Phone {uuid.uuid4().hex[:8]}"
    create_leads(client, company, 2)
    context = browser.new_context(base_url=base_url, viewport={"width": 390, "height": 844})
    try:
        phone = context.new_page()
        sign_in(phone)
        phone.goto(f"/#/leads?q={company.split()[1]}&filtered=all")
        expect(phone.get_by_test_id("leads-total")).to_have_text("2 leads", timeout=20_000)
        phone.get_by_test_id("leads-select-all").check()
        for action in ("leads-enroll", "leads-bulk-enrich", "leads-bulk-export", "leads-bulk-delete"):
            box = phone.get_by_test_id(action).bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390, f"{action} is off the screen: {box}"
        wide = phone.evaluate("document.documentElement.scrollWidth")
        assert wide <= 390, f"the page is {wide} px wide on a 390 px screen"
    finally:
        context.close()


def test_on_a_wide_screen_the_top_bar_is_one_line(browser: Browser, base_url: str) -> None:
    context = browser.new_context(base_url=base_url, viewport={"width": 1440, "height": 900})
    try:
        wide = context.new_page()
        sign_in(wide)
        wide.goto("/#/leads")
        expect(wide.get_by_test_id("sign-out")).to_be_visible()
        bar = wide.locator(".topbar-inner").evaluate("e => e.getBoundingClientRect().height")
        assert bar <= 60, f"the top bar is {bar} px high on a 1440 px screen"
        links = wide.locator(".topbar .nav-link").evaluate_all("links => links.map(l => l.getBoundingClientRect().top)")
        assert links and max(links) - min(links) < 5, f"the menu wraps: {links}"
    finally:
        context.close()
