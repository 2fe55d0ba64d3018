"""A new user's first day, the journey of #18, in Chromium: sign in, describe an ICP, search and watch the run's
progress move steadily to done (never back, the bar and every counter agreeing at every moment), open its leads,
enrich and enroll a selection in a sequence, apply a provider's value on a lead's page and see its score move, and
find all of it on the dashboard. Each step is checked where it took effect (over the API, in the captured mail), and
pictured into `.local/screenshots/journey/` (ignored by git, kept after the run, beside the other web tests' pictures).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from devstack.stack import ROOT, Stack
from tests.e2e import test_pages_in_words_web as words
from tests.e2e import test_web_client as web
from tests.e2e.helpers import OrgUser, org_user, until
from tests.e2e.test_runs_web import sign_in_as

pytestmark = pytest.mark.browser
# The browser tests' own fixtures (one Chromium for the module, a fresh page per test that fails on a page error),
# and Apollo's fake answering a page a second: a run slow enough to be watched page by page.
browser, page, slow_apollo = web.browser, web.page, words.slow_apollo
SHOTS = Path(ROOT) / ".local" / "screenshots" / "journey"
SLOW = 30_000  # ms: a run, a send, a live refresh on a machine running several suites at once
PEOPLE = 250  # everyone Apollo's fake knows: three pages of 100, 100 and 50
PICKED = 4  # the leads the user ticks in the table
INDUSTRIES = ("Software", "Retail")

# Every figure of the watched run, read at each change of the page (a MutationObserver: every rendered moment,
# not a sample every so often): the bar, its caption, the pages, the tiles, the status, and the run's row.
WATCH = """() => {
  window.__moments = [];
  const q = (id) => document.querySelector(`[data-testid="${id}"]`);
  const text = (id) => q(id)?.textContent ?? null;
  const take = () => {
    const bar = q('search-progress');
    if (!bar) return;
    window.__moments.push({
      bar: bar.getAttribute('aria-valuenow'), max: bar.getAttribute('aria-valuemax'),
      drawn: bar.querySelector('.progress-fill')?.style.width ?? null,
      caption: bar.parentElement.querySelector('.progress-caption strong')?.textContent ?? null,
      pages: text('search-pages'), status: text('search-status'),
      tiles: Object.fromEntries(['fetched', 'duplicates', 'created', 'updated', 'failed', 'filtered']
        .map((name) => [name, text(`diag-${name}`)])),
      row: document.querySelector('.row-selected [data-testid="search-run-row-summary"]')?.textContent ?? null,
    });
  };
  new MutationObserver(take).observe(document.body, { subtree: true, childList: true, characterData: true,
                                                      attributes: true });
}"""


FULL_BAR = """() => {
  const bar = document.querySelector('[data-testid="search-progress"]');
  const fill = bar?.querySelector('.progress-fill');
  return fill && Math.abs(fill.getBoundingClientRect().width - bar.clientWidth) < 1;
}"""


@pytest.fixture
def user(stack: Stack, base_url: str) -> Iterator[OrgUser]:
    """A new user in an org of its own: every figure the dashboard shows is this journey's."""
    with org_user(stack, base_url, "journey") as made:
        yield made


def shot(page: Page, step: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{step}.png"), full_page=True)


def _number(text: str | None) -> int:
    """A tile's or caption's figure ("1,000" reads 1000); an empty tile is 0."""
    digits = re.sub(r"\D", "", text or "")
    return int(digits) if digits else 0


def _row_counts(row: str) -> dict[str, int]:
    """The runs list's summary, "250 fetched · 250 created", as {"fetched": 250, "created": 250}."""
    return {name: int(n) for n, name in re.findall(r"(\d+) (\w+)", row)}


def check_progress(moments: list[dict[str, Any]]) -> list[int]:
    """Every moment the run's page showed agrees with itself, and the figures only ever grow; the people fetched,
    moment by moment."""
    fetched, pages = [], []
    for moment in moments:
        tiles = {name: _number(value) for name, value in moment["tiles"].items()}
        bar = int(moment["bar"])
        assert int(moment["max"]) == PEOPLE, moment
        assert bar == _number(moment["caption"]) == tiles["fetched"], f"the bar and the counters disagree: {moment}"
        # As drawn: the share of the limit fetched (rounded as the page rounds it), full once the run is done.
        share = 100 if moment["status"] == "completed" else int(bar * 100 / PEOPLE + 0.5)
        assert moment["drawn"] == f"{share}%", moment
        assert tiles["fetched"] == tiles["duplicates"] + tiles["created"] + tiles["updated"] + tiles["failed"], moment
        if moment["row"] is not None:  # the runs list beside it says the same
            row = _row_counts(moment["row"])
            assert all(row.get(name, 0) == tiles[name] for name in ("fetched", "created", "updated")), moment
        fetched.append(bar)
        pages.append(_number(moment["pages"]))
    assert any(moment["row"] for moment in moments), "the runs list never showed the run"
    assert fetched == sorted(fetched), f"progress went back: {fetched}"
    assert pages == sorted(pages), f"the pages went back: {pages}"
    return fetched


def enrollments(client: httpx.Client, sequence_id: str) -> list[dict[str, Any]]:
    return client.get(f"/v1/sequences/{sequence_id}/enrollments", params={"limit": 200}).json()["enrollments"]


def test_a_new_user_s_first_day_from_sign_in_to_the_dashboard(page: Page, user: OrgUser, slow_apollo: Any) -> None:
    api, tag = user.client, uuid.uuid4().hex[:6]
    page.set_viewport_size({"width": 1440, "height": 900})

    # 1. Sign in: a new org's home says there is nothing yet.
    sign_in_as(page, user)
    expect(page.get_by_test_id("dashboard")).to_be_visible()
    expect(page.get_by_test_id("figure-leads")).to_have_text("0", timeout=SLOW)
    shot(page, "01-signed-in")

    # 2. Describe who to reach.
    page.get_by_test_id("nav-icps").click()
    page.get_by_test_id("icp-new").click()
    icp_name = f"VP Sales {tag}"
    page.get_by_test_id("icp-name").fill(icp_name)
    page.get_by_test_id("icp-titles").fill("VP Sales")
    page.get_by_test_id("icp-titles").press("Enter")
    page.get_by_test_id("icp-seniority-vp").check()
    for industry in INDUSTRIES:
        page.get_by_test_id("icp-industries").fill(industry)
        page.get_by_test_id("icp-industries").press("Enter")
    for place in ("Berlin", "London"):
        page.get_by_test_id("icp-locations").fill(place)
        page.get_by_test_id("icp-locations").press("Enter")
    page.get_by_test_id("icp-size-min").fill("50")
    page.get_by_test_id("icp-size-max").fill("1000")
    page.get_by_test_id("icp-save").click()
    expect(page).to_have_url(re.compile(r"#/icps/[0-9a-f-]{36}"), timeout=SLOW)
    [icp] = [i for i in api.get("/v1/icps").json()["items"] if i["name"] == icp_name]
    assert (icp["industries"], icp["minScore"], icp["companySizeMax"]) == (list(INDUSTRIES), 50, 1000)
    shot(page, "02-icp-created")

    # 3. Search, and watch every moment of the run's page until it is done.
    page.evaluate(WATCH)
    page.get_by_test_id("search-source").select_option("apollo")
    page.get_by_test_id("search-limit").fill(str(PEOPLE))
    page.get_by_test_id("search-run").click()
    expect(page).to_have_url(re.compile(r"\?run="), timeout=SLOW)
    run_id = page.url.split("?run=")[1]
    expect(page.get_by_test_id("search-status")).to_have_text("completed", timeout=60_000)
    fetched = check_progress(page.evaluate("() => window.__moments"))
    assert fetched[-1] == PEOPLE
    # It moved page by page, each step shown, rather than from nothing to everything.
    assert {100, 200} <= set(fetched), sorted(set(fetched))
    expect(page.get_by_test_id("search-pages")).to_have_text("3")
    run = api.get(f"/v1/icps/{icp['id']}/search-runs/{run_id}").json()
    created = run["diagnostics"]["created"]
    assert created == PEOPLE and run["peopleFetched"] == PEOPLE  # Apollo's fake knows each person once
    expect(page.get_by_test_id("diag-created")).to_have_text(str(created))
    # The picture once the bar's fill has finished sliding to its end (a CSS transition).
    page.wait_for_function(FULL_BAR, timeout=SLOW)
    shot(page, "03-search-done")

    # 4. A sequence whose one email goes out as soon as a lead is enrolled, any day, any hour.
    page.get_by_test_id("nav-sequences").click()
    page.get_by_test_id("sequence-new").click()
    sequence_name = f"First touch {tag}"
    page.get_by_test_id("seq-name").fill(sequence_name)
    for day in (6, 7):  # Monday to Friday are ticked already
        page.get_by_test_id(f"seq-day-{day}").check()
    page.get_by_test_id("seq-start").fill("00:00")
    page.get_by_test_id("seq-end").fill("23:59")
    page.get_by_test_id("seq-zone").fill("UTC")
    step = page.get_by_test_id("step-card").first
    step.get_by_test_id("step-subject").fill(f"Hello {{{{ lead.firstName }}}} {tag}")
    step.get_by_test_id("step-body").fill("Hi {{ lead.firstName }} of {{ lead.companyName }}, shall we talk?")
    page.get_by_test_id("seq-save").click()
    expect(page.get_by_test_id("sequence-state")).to_have_text("draft", timeout=SLOW)
    page.get_by_test_id("seq-activate").click()
    expect(page.get_by_test_id("sequence-state")).to_have_text("active")
    sequence_id = page.url.split("#/sequences/")[1].split("?")[0]
    shot(page, "04-sequence-active")

    # 5. The run's leads: tick a few, enrich them, and enroll them in the sequence.
    page.goto(f"/#/icps/{icp['id']}?run={run_id}")
    page.get_by_test_id("search-view-leads").click()
    rows = page.get_by_test_id("lead-row")
    expect(rows).to_have_count(50, timeout=SLOW)  # a page of the run's leads, every one at or above the minimum
    expect(page.get_by_test_id("leads-total")).to_have_text(f"{created} leads")
    picked = []
    for n in range(PICKED):
        rows.nth(n).get_by_test_id("lead-select").check()
        picked.append(rows.nth(n).get_by_role("link").first.get_attribute("href").split("#/leads/")[1])
    expect(page.get_by_test_id("leads-selected-count")).to_have_text(f"{PICKED} selected")
    page.get_by_test_id("leads-bulk-enrich").click()
    expect(page.get_by_test_id("leads-bulk-result")).to_have_text(f"{PICKED} enrichments started", timeout=SLOW)
    page.get_by_test_id("leads-enroll").click()
    page.get_by_test_id("enroll-sequence").select_option(label=f"{sequence_name} (active)")
    page.get_by_test_id("enroll-confirm").click()
    expect(page.get_by_test_id("enroll-result")).to_contain_text(f"{PICKED} enrolled", timeout=SLOW)
    shot(page, "05-leads-enrolled")

    # The enrollments exist, one a lead ticked, and each lead got the first email.
    assert sorted(e["leadId"] for e in enrollments(api, sequence_id)) == sorted(picked)
    addresses = {api.get(f"/v1/leads/{lead_id}").json()["email"] for lead_id in picked}

    def mailed() -> list[dict[str, Any]] | None:
        mail = api.get("/v1/captured-mail", params={"limit": 200}).json()["mail"]
        ours = [m for m in mail if m["subject"].endswith(tag)]
        return ours if len(ours) == PICKED else None

    mail = until(mailed, 60, "the sequence's first email to each lead enrolled")
    assert {address for m in mail for address in m["to"]} == addresses
    assert all(re.fullmatch(rf"Hello \S+ {tag}", m["subject"]) for m in mail), [m["subject"] for m in mail]

    # 6. A lead's page: the provider's industry, applied, moves the score by the industry rule's weight.
    leads = until(
        lambda: (
            (found := [api.get(f"/v1/leads/{i}").json() for i in picked])
            and all(lead["status"] == "enriched" for lead in found)
            and found
        ),
        60,
        "the ticked leads enriched",
    )

    def industry_offered(lead: dict[str, Any]) -> str | None:
        """The provider's industry when it is one the ICP wants and the lead's own is not."""
        value = next((v for v in lead["providerValues"] if v["field"] == "industry" and v["state"] == "offered"), {})
        own_matched = next(r["matched"] for r in lead["scoreExplanation"] if r["rule"] == "industry")
        wanted = value.get("value", "").lower() in {i.lower() for i in INDUSTRIES}
        return value["value"] if wanted and not own_matched else None

    # Which of the leads the provider places in a wanted industry is the provider's to say (by the company's
    # domain), and which rows come first is the scores' ties' to say: when none of those ticked is, more of the
    # run's leads are enriched over the API until one is.
    lead = next((lead for lead in leads if industry_offered(lead)), None)
    if lead is None:
        listed = api.get("/v1/leads", params={"searchRunId": run_id, "limit": 50}).json()["items"]
        more = [found["id"] for found in listed if found["id"] not in picked]
        api.post("/v1/leads/bulk-enrich", json={"leadIds": more}).raise_for_status()
        lead = until(
            lambda: next((found for i in more if industry_offered(found := api.get(f"/v1/leads/{i}").json())), None),
            60,
            "a lead the provider places in a wanted industry",
        )
    before, weight = lead["score"], icp["weights"]["industry"]
    page.goto(f"/#/leads?searchRunId={run_id}")
    page.get_by_test_id("lead-row").filter(has=page.locator(f'a[href$="{lead["id"]}"]')).get_by_role(
        "link"
    ).first.click()
    expect(page.get_by_test_id("lead-score")).to_have_text(str(before), timeout=SLOW)
    industry = page.get_by_test_id("lead-enrichment").locator('[data-field="industry"]')
    expect(industry.get_by_test_id("provider-value-holds")).to_have_text("The lead’s own")
    industry.get_by_test_id("provider-apply").click()
    expect(page.get_by_test_id("provider-apply-result")).to_have_text(
        f"Applied industry. Score {before} → {before + weight}."
    )
    expect(page.get_by_test_id("lead-score")).to_have_text(str(before + weight))
    expect(industry.get_by_test_id("provider-value-holds")).to_have_text("Same")
    stored = api.get(f"/v1/leads/{lead['id']}").json()
    assert stored["industry"] == industry_offered(lead) and stored["score"] == before + weight
    assert sum(r["weight"] for r in stored["scoreExplanation"] if r["matched"]) == stored["score"]
    shot(page, "06-lead-enrichment-applied")

    # 7. Home: what happened, in figures that agree with the API.
    def board() -> dict[str, Any] | None:
        figures = api.get("/v1/dashboard", params={"days": 7, "timeZone": "UTC"}).json()
        return figures if figures["totals"]["sent"] == PICKED else None

    totals = until(board, 60, "the emails counted as sent")["totals"]
    assert (totals["leads"], totals["leadsInWindow"]) == (created, created)
    page.get_by_test_id("nav-home").click()
    expect(page.get_by_test_id("figure-leads")).to_have_text(str(created), timeout=SLOW)
    expect(page.get_by_test_id("figure-sent")).to_have_text(str(PICKED), timeout=SLOW)
    sequence_row = page.get_by_test_id("seq-figure-row").filter(has_text=sequence_name)
    expect(sequence_row.get_by_test_id("seq-figure-enrolled")).to_have_text(str(PICKED))
    expect(sequence_row.get_by_test_id("seq-figure-sent")).to_have_text(str(PICKED))
    leads_today = page.locator("[data-testid^='bar-leads-']").evaluate_all(
        "(bars) => bars.map((b) => Number(b.dataset.value || 0))"
    )
    assert sum(leads_today) == created, leads_today
    shot(page, "07-dashboard")
