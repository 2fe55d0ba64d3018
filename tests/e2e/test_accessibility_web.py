"""Every page of the web client with data on it, checked by axe-core (pinned in gateway/web/package.json and
served by the gateway at /vendor/axe-core/, never a CDN): no serious or critical violation (#18).

The same run saves a full-page screenshot of every page, and of the top bar at 390, 800, 1,024, 1,280 and
1,440 px, into `.local/screenshots/pages/` at the repository's root (ignored by git, kept after the run,
as test_live_web.py keeps the dashboard's)."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from devstack.stack import ROOT
from tests.e2e import test_web_client as web
from tests.e2e.helpers import unique_email, until
from tests.e2e.test_icps import icp_body
from tests.e2e.test_inbound import _email_lead
from tests.e2e.test_lead_runs import make_run
from tests.e2e.test_search_runs import wait_run
from tests.e2e.test_sequences import _sequence_body
from tests.e2e.test_web_client import sign_in

pytestmark = pytest.mark.browser
browser, page = web.browser, web.page

SHOTS = Path(ROOT) / ".local" / "screenshots" / "pages"
MAIN_JS = Path(ROOT) / "gateway" / "web" / "src" / "main.js"
SLOW = 20_000  # ms: a first page on a machine running several suites at once
# What the top bar is checked and pictured at (#18): a phone, a small tablet, a laptop, wide screens.
WIDTHS = (390, 800, 1024, 1280, 1440)


def routes() -> list[str]:
    """Every path in main.js's ROUTES: the test fails for a page added without being checked here."""
    return re.findall(r"\{ path: '([^']+)'", MAIN_JS.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def data(base_url: str, demo_token: str) -> dict[str, str]:
    """An id for each page that shows one thing, in the demo org, with real data around it."""
    with httpx.Client(base_url=base_url, headers={"authorization": f"Bearer {demo_token}"}, timeout=30) as client:
        icp = client.post("/v1/icps", json=icp_body()).json()
        run = client.post(f"/v1/icps/{icp['id']}/search", json={"source": "sandbox", "limit": 20, "force": True}).json()
        wait_run(client, icp["id"], run["runId"])
        lead = client.get("/v1/leads", params={"searchRunId": run["runId"], "filtered": "all", "limit": 1}).json()
        sequence = client.post("/v1/sequences", json=_sequence_body(uuid.uuid4().hex[:6]))
        assert sequence.status_code == 201, sequence.text
        sent, mail, _ = _email_lead(client, f"Accessible {uuid.uuid4().hex[:6]}")
        lead_run = make_run(client, limit=3, dryRun=True)
        assert client.post(f"/v1/lead-runs/{lead_run['id']}/jobs").status_code == 202
        invited = client.post("/v1/invitations", json={"email": unique_email("a11y"), "role": "member"})
        assert invited.status_code == 201, invited.text
        return {
            "/icps/:id": f"/icps/{icp['id']}?run={run['runId']}",
            "/leads/:id": f"/leads/{lead['items'][0]['id']}",
            "/sequences/:id": f"/sequences/{sequence.json()['id']}",
            "/inbox/:id": f"/inbox/{sent['threadId']}",
            "/mail/:id": f"/mail/{mail['id']}",
            "/runs/:id": f"/runs/{lead_run['id']}",
            "/join/:token": "/join/" + invited.json()["inviteUrl"].split("#/join/")[1],
        }


def serious_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is, each with the elements at fault."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.add_script_tag(url="/vendor/axe-core/axe.min.js")
    found = page.evaluate(
        """async () => (await axe.run(document, { resultTypes: ['violations'] })).violations
            .filter((v) => v.impact === 'serious' || v.impact === 'critical')
            .map((v) => ({ id: v.id, impact: v.impact, help: v.help,
                           nodes: v.nodes.slice(0, 5).map((n) => n.target.join(' ') + ': ' + n.failureSummary) }))"""
    )
    return found


def shoot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def shown(page: Page) -> None:
    """The page has drawn itself: its heading is there and nothing is still loading."""
    expect(page.locator("main h1").first).to_be_visible(timeout=SLOW)
    expect(page.locator("main .spinner")).to_have_count(0, timeout=SLOW)


def test_every_page_has_no_serious_accessibility_violation(
    browser: Browser, base_url: str, data: dict[str, str]
) -> None:
    paths = {route: data.get(route, route) for route in routes()}
    assert set(data) <= set(paths), "a page with an id in its path is no longer in ROUTES"
    found: dict[str, list[dict[str, Any]]] = {}
    errors: list[str] = []
    for dark in (False, True):  # both colour schemes: contrast differs
        context = browser.new_context(base_url=base_url, color_scheme="dark" if dark else "light")
        opened = context.new_page()
        opened.on("pageerror", lambda exc: errors.append(str(exc)))
        for route in ("/login", "/join/:token"):  # the pages seen signed out
            opened.goto(f"/#{paths[route]}")
            shown(opened)
            found[f"{route} {'dark' if dark else 'light'}"] = serious_violations(opened)
            if not dark:
                shoot(opened, route.strip("/").replace("/", "_").replace(":", ""))
        sign_in(opened)
        for route, path in paths.items():
            if route in ("/login", "/join/:token"):
                continue
            opened.goto(f"/#{path}")
            expect(opened.locator("main")).to_be_visible()
            shown(opened)
            found[f"{route} {'dark' if dark else 'light'}"] = serious_violations(opened)
            if not dark:
                shoot(opened, route.strip("/").replace("/", "_").replace(":", "") or "home")
        context.close()
    assert errors == [], f"the pages raised: {errors}"
    failing = {page: v for page, v in found.items() if v}
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS / "axe-violations.json").write_text(json.dumps(failing, indent=2), encoding="utf-8")
    assert failing == {}, f"serious or critical violations (all in {SHOTS / 'axe-violations.json'}): {failing}"


def test_the_top_bar_holds_one_line_at_every_width(browser: Browser, base_url: str, data: dict[str, str]) -> None:
    """From a phone to a wide screen the bar is one line (no wrap, no sideways scroll); a picture at each of
    WIDTHS. Under 1,280 px the less used items wait behind "More" (under 641, everything behind "Menu"). `data`
    gives the leads table rows of its own, so the test does not depend on what ran before it."""
    context = browser.new_context(base_url=base_url, viewport={"width": 1440, "height": 900})
    opened = context.new_page()
    sign_in(opened)
    opened.goto("/#/leads")
    expect(opened.get_by_test_id("lead-row").first).to_be_visible(timeout=SLOW)
    bar = opened.locator(".topbar")
    for width in range(390, 1441, 10):
        opened.set_viewport_size({"width": width, "height": 900})
        height = until(lambda: bar.bounding_box(), what="the top bar laid out")["height"]
        assert height <= 64, f"at {width} px the top bar is {height} px high (wrapped)"
        wide = opened.evaluate("document.documentElement.scrollWidth")
        assert wide <= width, f"at {width} px the page is {wide} px wide"
        visible = [box for link in opened.locator(".topbar .nav-link:visible").all() if (box := link.bounding_box())]
        assert len({round(box["y"]) for box in visible}) <= 1, f"at {width} px the menu's links are on several rows"
        if width in WIDTHS:
            shoot(opened, f"topbar-{width}")
    # Every page stays reachable: at 1,024 behind "More", which opens and closes with Escape.
    opened.set_viewport_size({"width": 1024, "height": 900})
    expect(opened.get_by_test_id("nav-settings")).to_be_hidden()
    opened.get_by_test_id("nav-more").click()
    expect(opened.get_by_test_id("nav-settings")).to_be_visible()
    opened.keyboard.press("Escape")
    expect(opened.get_by_test_id("nav-settings")).to_be_hidden()
    expect(opened.get_by_test_id("nav-more")).to_be_focused()
    opened.get_by_test_id("nav-more").click()
    opened.get_by_test_id("nav-tasks").click()
    expect(opened).to_have_url(re.compile(r"#/tasks$"))
    expect(opened.get_by_test_id("nav-tasks")).to_be_hidden()  # closed on the way
    expect(opened.get_by_test_id("nav-more")).to_have_class(re.compile(r"\bactive\b"))
    # At 1,440 every item shows, with no "More".
    opened.set_viewport_size({"width": 1440, "height": 900})
    expect(opened.get_by_test_id("nav-more")).to_be_hidden()
    for testid in ("nav-home", "nav-leads", "nav-settings", "nav-mail", "signed-in-email"):
        expect(opened.get_by_test_id(testid)).to_be_visible()
    context.close()


# Every text box, list box and text area on the page, drawn by the stylesheet rather than the browser's defaults:
# the page's font (or its monospace one, a template's), the scheme's surface behind it and its border around it
# (the accent's while focused, the danger colour's when refused). The tag input's own box is the one drawn for it.
CONTROLS = """async () => {
  // A box just focused is still turning its border to the accent's: read it once it has.
  await Promise.all(document.getAnimations().filter((a) => a instanceof CSSTransition).map((a) => a.finished));
  const probe = (style) => {
    const el = document.createElement('div');
    el.style.cssText = style;
    document.body.append(el);
    const got = getComputedStyle(el);
    const out = { bg: got.backgroundColor, border: got.borderTopColor, font: got.fontFamily };
    el.remove();
    return out;
  };
  const surfaces = [probe('background: var(--surface)').bg, probe('background: var(--surface-2)').bg];
  const borders = ['--border', '--accent', '--danger-fg'].map((v) => probe(`border: 1px solid var(${v})`).border);
  const fonts = [getComputedStyle(document.body).fontFamily, probe('font-family: var(--mono)').font];
  const text = getComputedStyle(document.body).color;
  const boxes = document.querySelectorAll(
    'input:not([type=checkbox], [type=radio], [type=range], [type=file], [type=hidden]), select, textarea');
  return [...boxes].filter((el) => el.getClientRects().length && !el.closest('.tag-input')).flatMap((el) => {
    const s = getComputedStyle(el);
    const faults = [];
    if (!surfaces.includes(s.backgroundColor)) faults.push(`background ${s.backgroundColor}`);
    if (!borders.includes(s.borderTopColor)) faults.push(`border ${s.borderTopColor}`);
    if (parseFloat(s.borderTopLeftRadius) < 6) faults.push(`corners ${s.borderTopLeftRadius}`);
    if (!fonts.includes(s.fontFamily)) faults.push(`font ${s.fontFamily}`);
    if (s.color !== text) faults.push(`text ${s.color}`);
    const name = el.dataset.testid || el.id || el.name || el.outerHTML.slice(0, 60);
    return faults.length ? [`${name}: ${faults.join(', ')}`] : [];
  });
}"""


def _sideways(page: Page) -> int:
    """How far the page scrolls sideways, in px (0: it fits the screen)."""
    width, shown = page.evaluate("[document.scrollingElement.scrollWidth, document.scrollingElement.clientWidth]")
    return max(0, width - shown)


def test_every_page_fits_a_phone_and_draws_its_form_controls_in_both_schemes(
    browser: Browser, base_url: str, client: httpx.Client, data: dict[str, str]
) -> None:
    """At 390 px no page scrolls sideways: a visually hidden "Actions" header, absolutely placed past its table's
    edge outside the table's own scroller, made the lead page, a sequence's, Team and Tasks 104-498 px wider than
    the screen, with the Tasks page's "Done" off it. And in light and dark every text box, list box and text area is
    the stylesheet's: the inbox's reply box, the suppression list's boxes and the Home page's window were the
    browser's own (white on a dark page), the reply box a few characters wide."""
    tag = uuid.uuid4().hex[:6]
    # Rows in the tables with an "Actions" column: a call task (Tasks, the sequence's enrollments), and a lead with
    # what enrichment found (the lead page's table of values).
    call = {"channel": "call_task", "subjectTemplate": f"Call {{{{ lead.firstName }}}} {tag}", "bodyTemplate": "Ask"}
    sequence = client.post("/v1/sequences", json=_sequence_body(tag, **call)).json()
    body = {
        "email": unique_email("phone"),
        "firstName": "Pia",
        "lastName": "Phone",
        "companyName": "Wide Tables",
        "phone": "+14155550142",
    }  # a phone: a call step makes a task only for a lead with a number to call
    lead = client.post("/v1/leads", json=body).json()["leadId"]  # enriched at once (sandbox)
    client.post(f"/v1/sequences/{sequence['id']}/activate").raise_for_status()
    client.post(f"/v1/sequences/{sequence['id']}/enrollments", json={"leadIds": [lead]}).raise_for_status()
    until(lambda: client.get("/v1/tasks", params={"sequenceId": sequence["id"]}).json()["tasks"], what="the call task")
    until(lambda: client.get(f"/v1/leads/{lead}").json()["providerValues"], what="what enrichment found")
    paths = {route: data.get(route, route) for route in routes() if route != "/login"}
    paths |= {"/sequences/:id": f"/sequences/{sequence['id']}", "/leads/:id": f"/leads/{lead}"}

    wide: dict[str, int] = {}
    unstyled: dict[str, list[str]] = {}
    for dark in (False, True):
        scheme = "dark" if dark else "light"
        context = browser.new_context(base_url=base_url, viewport={"width": 390, "height": 844}, color_scheme=scheme)
        opened = context.new_page()
        sign_in(opened)
        for route, path in paths.items():
            opened.goto(f"/#{path}")
            shown(opened)
            if over := _sideways(opened):
                wide[f"{route} {scheme}"] = over
            if faults := opened.evaluate(CONTROLS):
                unstyled[f"{route} {scheme}"] = faults
        # The invitation link, shown once an invitation is made.
        opened.goto("/#/settings/team")
        opened.get_by_test_id("invite-email").fill(unique_email("styled"))
        opened.get_by_test_id("invite-submit").click()
        expect(opened.get_by_test_id("invite-link")).to_be_visible()
        if faults := opened.evaluate(CONTROLS):
            unstyled[f"invitation link {scheme}"] = faults
        if dark:
            # The reply box fills its conversation's width (it was a few characters wide, beside its label).
            opened.goto(f"/#{paths['/inbox/:id']}")
            reply = opened.get_by_test_id("reply-text").bounding_box()
            thread = opened.get_by_test_id("thread").bounding_box()
            assert reply and thread and reply["width"] > 0.8 * thread["width"], (reply, thread)
            # The Tasks page's "Done", brought into view within its table's own scroller, is on the screen.
            opened.goto("/#/tasks")
            done = opened.get_by_test_id("task-complete").first
            done.scroll_into_view_if_needed()
            box = done.bounding_box()
            assert box and 0 <= box["x"] and box["x"] + box["width"] <= 390, f"Done is off the screen: {box}"
            assert _sideways(opened) == 0
        context.close()
    assert wide == {}, f"pages wider than a 390 px screen (px too wide): {wide}"
    assert unstyled == {}, f"form controls the stylesheet does not draw: {unstyled}"
