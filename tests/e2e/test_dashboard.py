"""The home dashboard's figures agree with the lists they link to: leads with the leads list, emails sent,
replies and bounces with the messages list of that category (over the window and day by day); bad windows
are a 422 problem."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from devstack.stack import Stack
from gateway.routes.dashboard import Dashboard, MessagePage
from tests.e2e.helpers import OrgUser, assert_problem, org_user, unique_email, until

ZONE = "Europe/Paris"


def all_pages(client: httpx.Client, path: str, key: str, **params: Any) -> list[dict[str, Any]]:
    items, cursor = [], ""
    while True:
        page = client.get(path, params={**params, **({"cursor": cursor} if cursor else {})}).json()
        items += page[key]
        if not (cursor := page.get("nextCursor")):
            return items


def email_lead(client: httpx.Client, subject: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A new lead emailed once: (the send's answer, its captured copy)."""
    address = unique_email("dash")
    lead = client.post("/v1/leads", json={"email": address, "firstName": "Dee", "lastName": "Ash"}).json()
    sent = client.post(
        "/v1/messages",
        json={"to": address, "leadId": lead["leadId"], "subject": subject, "text": "A short note."},
        headers={"idempotency-key": uuid.uuid4().hex},
    ).json()

    def captured() -> dict[str, Any] | None:
        mail = client.get("/v1/captured-mail", params={"limit": 200}).json()["mail"]
        return next((m for m in mail if m["messageId"] == sent["rfc822MessageId"]), None)

    return sent, until(captured, 30, "the captured email")


def populate(client: httpx.Client) -> list[dict[str, Any]]:
    """Three leads emailed, one of whom replies: three sent, one reply. Returns the sends."""
    sends = [email_lead(client, f"Figures {n}") for n in range(3)]
    sent, mail = sends[0]
    assert client.post(f"/v1/captured-mail/{mail['id']}/reply", json={"text": "Yes please."}).status_code == 202
    until(lambda: client.get(f"/v1/inbox/threads/{sent['threadId']}").json()["messageCount"] == 2, 30, "the reply")
    return [s for s, _ in sends]


@pytest.fixture(scope="module")
def figured(stack: Stack, base_url: str) -> Iterator[OrgUser]:
    """A user of an org of its own with three emails sent and one reply (and the three leads)."""
    with org_user(stack, base_url, "dash") as user:
        populate(user.client)
        yield user


def dashboard(client: httpx.Client, days: int = 7) -> dict[str, Any]:
    reply = client.get("/v1/dashboard", params={"days": days, "timeZone": ZONE})
    assert reply.status_code == 200, reply.text
    return reply.json()


def test_every_figure_agrees_with_the_list_it_links_to(figured: OrgUser) -> None:
    client = figured.client

    def counted() -> dict[str, Any] | None:
        board = dashboard(client)
        return board if board["totals"]["sent"] == 3 else None

    board = until(counted, 30, "three sends counted")
    Dashboard.model_validate(board)  # what /openapi.json documents (extra fields refused)
    totals = board["totals"]
    assert (totals["sent"], totals["replied"], totals["bounced"]) == (3, 1, 0)
    assert totals["replyRate"] == round(1 / 3, 4)
    today = dt.datetime.now(ZoneInfo(ZONE)).date().isoformat()
    assert board["window"] == {"days": 7, "timeZone": ZONE, "first": board["days"][0]["day"], "last": today}
    assert len(board["days"]) == 7

    for category in ("sent", "replied", "bounced"):
        listed = all_pages(client, "/v1/inbox/messages", "messages", category=category, days=7, timeZone=ZONE, limit=2)
        page = client.get("/v1/inbox/messages", params={"category": category, "days": 7, "timeZone": ZONE}).json()
        MessagePage.model_validate(page)
        assert totals[category] == page["total"] == len(listed), category
        assert sum(day[category] for day in board["days"]) == totals[category]
        for day in board["days"]:
            one_day = {"category": category, "days": 7, "timeZone": ZONE, "day": day["day"]}
            assert client.get("/v1/inbox/messages", params=one_day).json()["total"] == day[category], (category, day)
    sent_list = all_pages(client, "/v1/inbox/messages", "messages", category="sent", days=7, timeZone=ZONE)
    assert all(m["status"] in ("sent", "bounced") for m in sent_list)
    [reply] = client.get("/v1/inbox/messages", params={"category": "replied", "timeZone": ZONE}).json()["messages"]
    assert reply["kind"] == "reply" and reply["subject"].startswith("Re: Figures")

    leads = all_pages(client, "/v1/leads", "items", filtered="all", limit=500)
    assert totals["leads"] == len(leads) == 3 and totals["leadsInWindow"] == 3
    assert sum(day["leads"] for day in board["days"]) == 3
    assert board["sequences"] == [] and board["runs"] == []
    assert board["queue"]["openAlerts"] == 0 and not board["queue"]["breached"]


def test_another_org_s_mail_is_not_counted(figured: OrgUser, client: httpx.Client) -> None:
    mine = dashboard(figured.client)["totals"]
    email_lead(client, "The demo org's own")  # the demo org sends one more
    assert dashboard(figured.client)["totals"] == mine


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"days": 0}, "days"),
        ({"days": 91}, "days"),
        ({"timeZone": "Mars/Olympus"}, "time_zone"),
        ({"days": "many"}, "days"),
    ],
)
def test_a_bad_window_is_a_422(client: httpx.Client, params: dict[str, Any], field: str) -> None:
    body = assert_problem(client.get("/v1/dashboard", params=params), 422)
    assert any(field in e["field"] or e["field"].endswith("timeZone") for e in body["errors"]), body


def test_a_bad_list_request_is_a_4xx(client: httpx.Client) -> None:
    assert_problem(client.get("/v1/inbox/messages"), 422)  # which category: required
    assert_problem(client.get("/v1/inbox/messages", params={"category": "spam"}), 422)
    assert_problem(client.get("/v1/inbox/messages", params={"category": "sent", "day": "2001-01-01"}), 422)
    assert_problem(client.get("/v1/inbox/messages", params={"category": "sent", "day": "yesterday"}), 422)
    assert_problem(client.get("/v1/inbox/messages", params={"category": "sent", "cursor": "garbage"}), 422)
    assert_problem(httpx.get(f"{client.base_url}/v1/dashboard"), 401)
