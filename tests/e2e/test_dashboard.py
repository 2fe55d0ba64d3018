"""The home dashboard's figures agree with the lists they link to: leads with the leads list, emails sent,
replies and bounces with the messages list of that category (over the window and day by day), a sequence's
row with the tiles (emails; its texts apart); bad windows are a 422 problem."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from conftest import OPTED_OUT_NUMBER
from devstack.stack import Stack
from gateway.routes.dashboard import Dashboard, MessagePage
from tests.e2e.helpers import OrgUser, assert_problem, org_user, unique_email, until
from tests.e2e.test_sequences import OPEN_WINDOW

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


def test_a_sequence_s_row_counts_its_emails_as_the_tiles_do_and_its_texts_apart(stack: Stack, base_url: str) -> None:
    """A sequence that emails, texts (one number refused by Twilio) and emails again later: its row's sent,
    replies and bounces are the tiles' (emails), its texts beside them; the refused text is said in words."""
    tag = uuid.uuid4().hex[:8]
    steps = [
        {"channel": "email", "subjectTemplate": f"Row {{{{ lead.firstName }}}} {tag}", "bodyTemplate": "Hello"},
        {"channel": "sms", "bodyTemplate": f"A text {tag}"},
        {"channel": "email", "delayAmount": 2, "delayUnit": "hours", "subjectTemplate": "Again", "bodyTemplate": "Hi"},
    ]
    with org_user(stack, base_url, "rows") as user:
        client = user.client
        sequence = client.post("/v1/sequences", json={"name": f"Row {tag}", "window": OPEN_WINDOW, "steps": steps})
        assert sequence.status_code == 201, sequence.text
        seq = f"/v1/sequences/{sequence.json()['id']}"
        client.post(f"{seq}/activate").raise_for_status()
        people = {"Rea": OPTED_OUT_NUMBER, "Tex": f"+1415{uuid.uuid4().int % 10_000_000:07d}"}
        leads = {}
        for name, phone in people.items():
            body = {"email": unique_email(name.lower()), "firstName": name, "lastName": "Row", "phone": phone}
            leads[name] = client.post("/v1/leads", json=body).json()["lead"]
        enrolled = client.post(f"{seq}/enrollments", json={"leadIds": [lead["id"] for lead in leads.values()]})
        assert len(enrolled.json()["enrolled"]) == 2, enrolled.text

        # Twilio refuses Rea's number: her enrollment stops, saying so in words for a text, its code once.
        def rea() -> dict[str, Any] | None:
            listed = client.get(f"{seq}/enrollments").json()["enrollments"]
            found = next(e for e in listed if e["leadId"] == leads["Rea"]["id"])
            return found if found["state"] == "bounced" else None

        stopped = until(rea, 30, "Rea's enrollment stopped by the refused text")
        assert stopped["stopReason"].startswith("the text could not be delivered: ")
        assert stopped["stopReason"].endswith("(Twilio 21610)") and stopped["stopReason"].count("21610") == 1
        assert "email" not in stopped["stopReason"] and "sms refused" not in stopped["stopReason"]

        mail = until(lambda: (m := _mail(client, f"Row Tex {tag}")) and m, 30, "Tex's email")
        assert client.post(f"/v1/captured-mail/{mail['id']}/reply", json={"text": "Sure."}).status_code == 202

        def settled() -> dict[str, Any] | None:
            board = dashboard(client)
            [row] = board["sequences"]
            done = board["totals"]["sent"] == 2 and board["totals"]["replied"] == 1 and row["replied"] == 1
            return board if done and row["textsSent"] == 2 else None

        board = until(settled, 30, "both emails, both texts and the reply counted")
        Dashboard.model_validate(board)
        totals, [row] = board["totals"], board["sequences"]
        assert (row["sent"], row["replied"], row["bounced"]) == (totals["sent"], totals["replied"], totals["bounced"])
        assert (row["sent"], row["bounced"], row["replyRate"]) == (2, 0, totals["replyRate"])
        assert (row["textsSent"], row["textsReplied"], row["textsUndelivered"]) == (2, 0, 1)


def _mail(client: httpx.Client, subject: str) -> dict[str, Any] | None:
    mail = client.get("/v1/captured-mail", params={"limit": 200}).json()["mail"]
    return next((m for m in mail if m["subject"] == subject), None)
