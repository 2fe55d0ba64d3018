"""The leads created on a day (#18): the home dashboard's bar for a day links to the leads list filtered to that day
(it linked to every lead), in the browser's time zone as the bar counts it; the list's filter is in its URL
(`createdFrom`, `createdTo`: days) and in the REST API (`createdFrom`, `createdBefore`: instants)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Browser, expect

from devstack.stack import Stack
from tests.e2e import test_web_client as web
from tests.e2e.helpers import OrgUser, assert_problem, org_user, unique_email
from tests.e2e.test_runs_web import sign_in_as

pytestmark = pytest.mark.browser
browser, page = web.browser, web.page
SLOW = 30_000  # ms
# The reader's zone: fourteen hours from UTC, so its day is often not UTC's and a bar counted in UTC would not match.
ZONE = "Pacific/Kiritimati"
LEADS = 3


@pytest.fixture
def user(stack: Stack, base_url: str) -> Iterator[OrgUser]:
    """An org of its own with LEADS leads, all created today."""
    with org_user(stack, base_url, "by-day") as made:
        for n in range(LEADS):
            body = {"email": unique_email("day"), "firstName": f"Day{n}", "lastName": "Lead"}
            made.client.post("/v1/leads", json=body).raise_for_status()
        yield made


def day_bounds(day: dt.date, zone: str) -> dict[str, str]:
    """The API's bounds for one day in `zone`: its midnight and the next one, with their offsets."""
    start = dt.datetime.combine(day, dt.time(), ZoneInfo(zone))
    return {"createdFrom": start.isoformat(), "createdBefore": (start + dt.timedelta(days=1)).isoformat()}


def listed(client: httpx.Client, **params: Any) -> int:
    reply = client.get("/v1/leads", params={"filtered": "all", **params})
    assert reply.status_code == 200, reply.text
    return reply.json()["total"]


def test_the_leads_list_filters_by_the_moments_a_day_spans(user: OrgUser) -> None:
    api = user.client
    today = dt.datetime.now(ZoneInfo(ZONE)).date()
    assert listed(api) == LEADS
    assert listed(api, **day_bounds(today, ZONE)) == LEADS
    assert listed(api, **day_bounds(today - dt.timedelta(days=1), ZONE)) == 0
    assert listed(api, createdFrom=day_bounds(today, ZONE)["createdBefore"]) == 0  # only an upper bound open
    assert listed(api, createdBefore=day_bounds(today, ZONE)["createdFrom"]) == 0  # only a lower bound open
    # The same as the dashboard counts that day, in the same zone.
    board = api.get("/v1/dashboard", params={"days": 7, "timeZone": ZONE}).json()
    assert next(d for d in board["days"] if d["day"] == today.isoformat())["leads"] == LEADS
    # The export and the enrol-all-matching read the same filter.
    exported = api.get("/v1/leads/export.csv", params={"filtered": "all", **day_bounds(today, ZONE)})
    assert exported.status_code == 200 and len(exported.text.strip().splitlines()) == LEADS + 1
    # A moment without its offset is ambiguous, and a range that ends before it starts is empty by mistake.
    naive = api.get("/v1/leads", params={"createdFrom": f"{today}T00:00:00"})
    assert [e["field"] for e in assert_problem(naive, 422)["errors"]] == ["createdFrom"]
    backwards = day_bounds(today, ZONE)
    backwards = {"createdFrom": backwards["createdBefore"], "createdBefore": backwards["createdFrom"]}
    reply = api.get("/v1/leads", params=backwards)
    assert [e["field"] for e in assert_problem(reply, 422)["errors"]] == ["createdFrom"]


def test_a_day_s_bar_opens_the_leads_created_that_day(browser: Browser, base_url: str, user: OrgUser) -> None:
    today = dt.datetime.now(ZoneInfo(ZONE)).date()
    yesterday = today - dt.timedelta(days=1)
    context = browser.new_context(base_url=base_url, timezone_id=ZONE)
    try:
        opened = context.new_page()
        sign_in_as(opened, user)
        opened.goto("/#/dashboard?days=7")
        bar = opened.get_by_test_id(f"bar-leads-{today}")
        expect(bar).to_have_attribute("data-value", str(LEADS), timeout=SLOW)
        expect(opened.get_by_test_id(f"bar-leads-{yesterday}")).to_have_attribute("data-value", "0")
        bar.click()
        expect(opened).to_have_url(re.compile(rf"#/leads\?createdFrom={today}&createdTo={today}&filtered=all$"))
        rows = opened.get_by_test_id("lead-row")
        expect(rows).to_have_count(LEADS, timeout=SLOW)

        # Yesterday's bar (no leads, so no height to click): its link, followed, shows no lead.
        opened.goto("/#/dashboard?days=7")
        href = opened.get_by_test_id(f"bar-leads-{yesterday}").get_attribute("href", timeout=SLOW)
        assert href == f"#/leads?createdFrom={yesterday}&createdTo={yesterday}&filtered=all", href
        opened.goto(f"/{href}")
        expect(opened.get_by_text("No leads match these filters.")).to_be_visible(timeout=SLOW)
        expect(rows).to_have_count(0)
        # "Clear filters" lets every lead back in.
        opened.get_by_role("button", name="Clear filters").click()
        expect(rows).to_have_count(LEADS, timeout=SLOW)
    finally:
        context.close()
