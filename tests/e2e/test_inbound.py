"""Replies, auto-replies and bounces come back into the right thread, labelled for what they are; a reply is
answered in place. Inbound mail arrives through the real SMTP listener (a lead's reply written from the
captured mail) or the webhook, and a message delivered twice is filed once."""

from __future__ import annotations

import asyncio
import uuid
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

import httpx

from devstack.stack import Stack
from leadflood.inbox.v1 import events_pb2
from tests.e2e.helpers import _stream_messages, assert_problem, unique_email, until

SECRET = "test-inbound-secret-0123456789"


def _email_lead(client: httpx.Client, subject: str) -> tuple[dict, dict, str]:
    """(the send's answer, its captured copy, the lead's address) for a new lead emailed once."""
    address = unique_email("inbound")
    lead = client.post("/v1/leads", json={"email": address, "firstName": "Ada", "lastName": "L"}).json()
    sent = client.post(
        "/v1/messages",
        json={"to": address, "leadId": lead["leadId"], "subject": subject, "text": "Shall we talk on Tuesday?"},
        headers={"idempotency-key": uuid.uuid4().hex},
    ).json()

    def captured() -> dict | None:
        mail = client.get("/v1/captured-mail", params={"limit": 200}).json()["mail"]
        return next((m for m in mail if m["messageId"] == sent["rfc822MessageId"]), None)

    return sent, until(captured, what="the captured email"), address


def _thread(client: httpx.Client, thread_id: str) -> dict:
    return client.get(f"/v1/inbox/threads/{thread_id}").json()


def _events(stack: Stack, subject: str, message_type: Any) -> list[Any]:
    data = asyncio.run(_stream_messages(stack.env["inbox"]["NATS_URL"], subject))
    return [message_type.FromString(d) for d in data]


def test_a_lead_s_reply_lands_in_its_thread_needing_a_reply_and_is_answered_in_place(
    stack: Stack, client: httpx.Client
) -> None:
    sent, mail, address = _email_lead(client, "Tuesday?")
    written = client.post(f"/v1/captured-mail/{mail['id']}/reply", json={"text": "Yes, Tuesday works for me."})
    assert written.status_code == 202, written.text

    def replied() -> dict | None:
        thread = _thread(client, sent["threadId"])
        return thread if thread["messageCount"] == 2 else None

    thread = until(replied, what="the reply in its thread")
    [reply] = [m for m in thread["messages"] if m["direction"] == "in"]
    assert reply["kind"] == "reply" and not reply["unknownSender"], thread["messages"]
    assert reply["text"] == "Yes, Tuesday works for me."  # the quoted history left out
    assert reply["from"] == address.lower()
    assert thread["needsReply"] and thread["unread"]
    listed = client.get("/v1/inbox/threads", params={"filter": "needs_reply"}).json()
    assert sent["threadId"] in [t["id"] for t in listed["threads"]] and listed["counts"]["needsReply"] >= 1

    received = [
        e
        for e in _events(stack, "inbox.message.received", events_pb2.MessageReceived)
        if e.thread_id == sent["threadId"]
    ]
    assert len(received) == 1 and received[0].in_reply_to.message_id == sent["messageId"]

    answer = client.post(
        f"/v1/inbox/threads/{sent['threadId']}/replies",
        json={"text": "Great, I'll send an invite."},
        headers={"idempotency-key": uuid.uuid4().hex},
    )
    assert answer.status_code == 202 and answer.json()["outcome"] == "queued", answer.text
    after = _thread(client, sent["threadId"])
    assert not after["needsReply"] and after["messages"][-1]["direction"] == "out"
    until(lambda: _thread(client, sent["threadId"])["messages"][-1]["status"] == "sent", what="the answer sent")
    read = client.patch(f"/v1/inbox/threads/{sent['threadId']}", json={"unread": False}).json()
    assert not read["unread"]


def test_an_out_of_office_is_labelled_and_never_counts_as_a_reply(stack: Stack, client: httpx.Client) -> None:
    sent, mail, _ = _email_lead(client, "Coffee next week?")
    client.post(f"/v1/captured-mail/{mail['id']}/reply", json={"text": "I am away until Monday.", "outOfOffice": True})
    thread = until(lambda: (t := _thread(client, sent["threadId"]))["messageCount"] == 2 and t, what="the auto-reply")
    [answer] = [m for m in thread["messages"] if m["direction"] == "in"]
    assert answer["kind"] == "auto_reply" and not thread["needsReply"], thread["messages"]
    received = _events(stack, "inbox.message.received", events_pb2.MessageReceived)
    assert sent["threadId"] not in [e.thread_id for e in received]


def _dsn(original_message_id: str, recipient: str) -> bytes:
    """A delivery status notification (RFC 3464) for one of our messages: 5.1.1, the user is unknown."""
    boundary = f"dsn-{uuid.uuid4().hex}"
    return f"""From: Mail Delivery System <MAILER-DAEMON@mx.example.net>
To: outreach@leadflood.local
Subject: Undelivered Mail Returned to Sender
Date: {formatdate()}
Message-ID: <{boundary}@mx.example.net>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"

--{boundary}
Content-Type: text/plain

This is the mail system. Your message could not be delivered to <{recipient}>.

--{boundary}
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net

Final-Recipient: rfc822; {recipient}
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 user unknown

--{boundary}
Content-Type: text/rfc822-headers

Message-ID: {original_message_id}
To: {recipient}
Subject: Hello

--{boundary}--
""".replace("\n", "\r\n").encode()


def test_a_bounce_by_webhook_marks_the_message_bounced_and_suppresses_the_address_once(
    stack: Stack, client: httpx.Client, base_url: str
) -> None:
    sent, _, address = _email_lead(client, "Hello")
    until(lambda: client.get(f"/v1/messages/{sent['messageId']}").json()["status"] == "sent", what="sent")
    dsn = _dsn(sent["rfc822MessageId"], address)
    auth = {"authorization": f"Bearer {SECRET}", "content-type": "message/rfc822"}
    assert_problem(httpx.post(f"{base_url}/v1/inbound/email", content=dsn), 401)
    assert_problem(
        httpx.post(f"{base_url}/v1/inbound/email", content=dsn, headers={**auth, "authorization": "Bearer wrong"}), 401
    )
    first = httpx.post(f"{base_url}/v1/inbound/email", content=dsn, headers=auth)
    assert first.status_code == 202 and first.json()["accepted"], first.text
    again = httpx.post(f"{base_url}/v1/inbound/email", content=dsn, headers=auth)  # the provider retries its webhook
    assert again.status_code == 202 and not again.json()["accepted"]

    until(lambda: client.get(f"/v1/messages/{sent['messageId']}").json()["status"] == "bounced", what="bounced")
    thread = _thread(client, sent["threadId"])
    assert [m["kind"] for m in thread["messages"]] == [None, "bounce"] and not thread["needsReply"]
    refused = client.post(
        "/v1/messages",
        json={"to": address, "subject": "Again", "text": "x"},
        headers={"idempotency-key": uuid.uuid4().hex},
    ).json()
    assert refused["outcome"] == "suppressed" and "bounced" in refused["reason"]
    bounced = [
        e
        for e in _events(stack, "inbox.message.bounced", events_pb2.MessageBounced)
        if e.message.message_id == sent["messageId"]
    ]
    assert len(bounced) == 1 and bounced[0].status_code == "5.1.1"


def test_a_reply_from_someone_else_stays_in_the_thread_flagged(
    stack: Stack, client: httpx.Client, base_url: str
) -> None:
    sent, _, _ = _email_lead(client, "Intro")
    other = EmailMessage()
    other["From"] = "Colleague <colleague@elsewhere.example>"
    other["To"] = "outreach@leadflood.local"
    other["Subject"] = "Re: Intro"
    other["Message-ID"] = f"<{uuid.uuid4().hex}@elsewhere.example>"
    other["In-Reply-To"] = sent["rfc822MessageId"]
    other.set_content("Ada forwarded this to me; I handle purchasing.")
    auth = {"authorization": f"Bearer {SECRET}"}
    assert httpx.post(f"{base_url}/v1/inbound/email", content=bytes(other), headers=auth).status_code == 202
    thread = until(lambda: (t := _thread(client, sent["threadId"]))["messageCount"] == 2 and t, what="the reply")
    theirs = [m for m in thread["messages"] if m["from"] == "colleague@elsewhere.example"]
    assert len(theirs) == 1 and theirs[0]["unknownSender"], thread["messages"]
