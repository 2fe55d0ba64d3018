"""A dry run sends nothing, so it is no conversation (issue #18): on the real stack, a lead run's dry-run emails and a
dry-run text are read back by their ids (what the run's receipts name) but never listed, counted or charted in the
inbox; a dry run aimed at a real conversation leaves it as it was, and the real answer after it threads under what
the lead really received."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from devstack.stack import Stack
from tests.e2e.helpers import org_user, unique_email, until
from tests.e2e.test_lead_runs import all_receipts, finished, make_run
from tests.e2e.test_mail_room import _captured, _send
from tests.e2e.test_sms import _number


def inbox(client: httpx.Client) -> dict[str, Any]:
    """The Inbox's "All" tab as the page reads it: its threads, its total and its tabs' counts."""
    return client.get("/v1/inbox/threads", params={"filter": "all"}).json()


def sent_figure(client: httpx.Client) -> int:
    return client.get("/v1/dashboard", params={"days": 1}).json()["totals"]["sent"]


def dry_run_emails(client: httpx.Client) -> dict[str, dict[str, Any]]:
    """A finished dry run's email receipts (each naming the message it stored), by lead id."""
    run = make_run(client, limit=3, dryRun=True, channels={"email": "send"})
    assert client.post(f"/v1/lead-runs/{run['id']}/jobs").status_code == 202
    assert finished(client, run["id"])["state"] == "completed"
    emails = {
        lead_id: receipt
        for lead_id, receipts in all_receipts(client, run["id"]).items()
        for receipt in receipts
        if receipt["kind"] == "email" and receipt["status"] == "simulated"
    }
    assert emails and all(r["simulated"] for r in emails.values()), emails
    return emails


def test_a_lead_run_s_dry_run_is_reviewed_by_its_receipts_and_never_in_the_inbox(stack: Stack, base_url: str) -> None:
    with org_user(stack, base_url, "dry-inbox") as user:
        client = user.client
        emails = dry_run_emails(client)
        for receipt in emails.values():
            message = client.get(f"/v1/messages/{receipt['target']}")
            assert message.status_code == 200, message.text
            assert message.json()["status"] == "simulated" and message.json()["threadId"] == ""
        text = client.post(
            "/v1/messages",
            json={"channel": "sms", "to": _number(), "text": "Hi from a dry run", "dryRun": True},
            headers={"idempotency-key": uuid.uuid4().hex},
        ).json()
        assert (text["outcome"], text["threadId"]) == ("simulated", "")
        listed = inbox(client)
        assert (listed["threads"], listed["total"]) == ([], 0)
        assert listed["counts"] == {"needsReply": 0, "unread": 0}
        assert sent_figure(client) == 0

        # A real email to one of the run's leads is then the inbox's one conversation, and the one email sent.
        lead_id = next(iter(emails))
        to = client.get(f"/v1/leads/{lead_id}").json()["email"]
        real = _send(client, uuid.uuid4().hex, to=to, leadId=lead_id, subject="A real hello", text="Hello").json()
        assert real["outcome"] == "queued" and real["threadId"]
        until(lambda: _captured(client, real["rfc822MessageId"]), what="the real email")
        assert [t["id"] for t in inbox(client)["threads"]] == [real["threadId"]]
        assert client.get(f"/v1/inbox/threads/{real['threadId']}").json()["messageCount"] == 1
        until(lambda: sent_figure(client) == 1, what="the dashboard's sent figure to count the real email")


def test_a_dry_run_aimed_at_a_conversation_leaves_it_and_the_real_answer_threads_under_what_was_sent(
    stack: Stack, base_url: str
) -> None:
    with org_user(stack, base_url, "dry-thread") as user:
        client = user.client
        to = unique_email("conversation")
        lead = client.post("/v1/leads", json={"email": to, "firstName": "Ada", "lastName": "L"}).json()
        first = _send(client, uuid.uuid4().hex, to=to, leadId=lead["leadId"], subject="Tuesday?", text="Free?").json()
        [mail] = until(lambda: _captured(client, first["rfc822MessageId"]), what="the first email")
        answered = client.post(f"/v1/captured-mail/{mail['id']}/reply", json={"text": "Yes, Tuesday works."})
        assert answered.status_code == 202, answered.text
        thread = until(
            lambda: (t := client.get(f"/v1/inbox/threads/{first['threadId']}").json())["messageCount"] == 2 and t,
            what="the lead's reply in the thread",
        )
        assert thread["needsReply"]

        dry = _send(
            client, uuid.uuid4().hex, to=to, leadId=lead["leadId"], threadId=first["threadId"], subject="Re: Tuesday?",
            text="(dry run) See you then", dryRun=True,
        ).json()  # fmt: skip
        assert (dry["outcome"], dry["threadId"]) == ("simulated", "")
        after = client.get(f"/v1/inbox/threads/{first['threadId']}").json()
        assert (after["messageCount"], after["needsReply"], after["lastMessageAt"]) == (
            2, True, thread["lastMessageAt"],
        )  # fmt: skip
        assert inbox(client)["counts"]["needsReply"] == 1

        reply = client.post(
            f"/v1/inbox/threads/{first['threadId']}/replies",
            json={"text": "Great, see you Tuesday."},
            headers={"idempotency-key": uuid.uuid4().hex},
        ).json()
        [sent] = until(lambda: _captured(client, reply["rfc822MessageId"]), what="the real answer")
        headers = {n.lower(): v for n, v in client.get(f"/v1/captured-mail/{sent['id']}").json()["headers"]}
        # Under the lead's reply, which answers the first email: never the dry run's Message-ID, which nobody got.
        assert dry["rfc822MessageId"] not in headers["references"] + headers["in-reply-to"]
        assert first["rfc822MessageId"] in headers["references"]
