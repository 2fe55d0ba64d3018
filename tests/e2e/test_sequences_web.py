"""The sequence page in headless Chromium: its progress per step and per A/B variant, kept current as sends
and a reply happen in the background."""

from __future__ import annotations

import uuid

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.helpers import unique_email, until
from tests.e2e.test_web_client import browser, page, sign_in  # noqa: F401  (its fixtures, shared)

pytestmark = pytest.mark.browser
OPEN_WINDOW = {"days": [1, 2, 3, 4, 5, 6, 7], "startTime": "00:00", "endTime": "23:59", "timeZone": "UTC"}


def test_the_sequence_page_shows_progress_per_step_and_variant(page: Page, client: httpx.Client) -> None:  # noqa: F811
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
