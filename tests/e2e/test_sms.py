"""Texts through the mail room: sent once through Twilio's real API (the fake's request log is the witness),
answered by Twilio's signed webhook into the same thread, STOP honoured, a bad signature refused."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx

from conftest import OPTED_OUT_NUMBER, TWILIO_FROM
from devstack.stack import Stack
from leadflood.inbox.v1 import events_pb2
from tests.e2e.helpers import _stream_messages, assert_problem, until
from tests.fakes.twilio import FakeTwilio, incoming_sms


def _number() -> str:
    return f"+1415{uuid.uuid4().int % 10_000_000:07d}"


def _text(client: httpx.Client, to: str, body: str, key: str | None = None) -> httpx.Response:
    return client.post(
        "/v1/messages",
        json={"channel": "sms", "to": to, "text": body},
        headers={"idempotency-key": key or uuid.uuid4().hex},
    )


def _webhook(stack: Stack, base_url: str, **fields: Any) -> httpx.Response:
    signed = incoming_sms(f"{stack.url}/v1/inbound/sms", to_number=TWILIO_FROM, **fields)
    return httpx.post(f"{base_url}/v1/inbound/sms", content=signed.body, headers=signed.headers)


def test_a_text_is_sent_once_answered_in_its_thread_and_stop_is_honoured(
    stack: Stack, client: httpx.Client, base_url: str, fake_twilio: FakeTwilio
) -> None:
    number, body, key = _number(), f"Hi, a quick question {uuid.uuid4().hex[:6]}", uuid.uuid4().hex
    written = number.replace("+1415", "+1 (415) ")  # as a person types it: normalised to E.164
    first = _text(client, written, body, key)
    assert first.status_code == 202 and first.json()["outcome"] == "queued", first.text
    assert _text(client, written, body, key).json() == first.json()  # a retried POST: the same text
    sent = first.json()
    until(lambda: client.get(f"/v1/messages/{sent['messageId']}").json()["status"] == "sent", what="sent")
    assert [a.body for a in fake_twilio.accepted if a.to == number] == [body]

    reply = _webhook(stack, base_url, from_number=number, body="Sounds good, call me")
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/xml"), reply.text
    thread = client.get(f"/v1/inbox/threads/{sent['threadId']}").json()
    assert [m["direction"] for m in thread["messages"]] == ["out", "in"] and thread["needsReply"]
    assert thread["messages"][1]["text"] == "Sounds good, call me"

    forged = incoming_sms(f"{stack.url}/v1/inbound/sms", to_number=TWILIO_FROM, from_number=number, body="hi",
                          auth_token="not-the-token")  # fmt: skip
    assert_problem(httpx.post(f"{base_url}/v1/inbound/sms", content=forged.body, headers=forged.headers), 403)

    stop = incoming_sms(f"{stack.url}/v1/inbound/sms", to_number=TWILIO_FROM, from_number=number, body="STOP")
    for _ in range(2):  # Twilio retries a webhook it got no answer to: filed once
        assert httpx.post(f"{base_url}/v1/inbound/sms", content=stop.body, headers=stop.headers).status_code == 200
    assert len(client.get(f"/v1/inbox/threads/{sent['threadId']}").json()["messages"]) == 3
    refused = _text(client, number, "One more thing").json()
    assert refused["outcome"] == "suppressed" and "unsubscribed" in refused["reason"]
    assert [a.body for a in fake_twilio.accepted if a.to == number] == [body]
    data = asyncio.run(_stream_messages(stack.env["inbox"]["NATS_URL"], "inbox.recipient.unsubscribed"))
    assert [events_pb2.RecipientUnsubscribed.FromString(d).phone for d in data].count(number) == 1


def test_a_number_twilio_refuses_is_bounced_and_suppressed(client: httpx.Client) -> None:
    sent = _text(client, OPTED_OUT_NUMBER, "Hello").json()
    message = until(
        lambda: (m := client.get(f"/v1/messages/{sent['messageId']}").json())["status"] == "bounced" and m,
        what="bounced",
    )
    assert "21610" in message["error"]
    assert _text(client, OPTED_OUT_NUMBER, "Hello again").json()["outcome"] == "suppressed"


def test_a_bad_number_is_refused_before_anything_is_stored(client: httpx.Client) -> None:
    body = assert_problem(_text(client, "555-0100", "Hello"), 422)
    assert [e["field"] for e in body["errors"]] == ["to.phone"]
