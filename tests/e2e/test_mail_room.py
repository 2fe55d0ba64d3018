"""The mail room end to end: an email sent through the inbox reaches a real SMTP server once, threaded, with
RFC 8058 one-click unsubscribe; a scanner's GET changes nothing and the POST suppresses the address; a worker
killed mid-send sends it once. Counted by the SMTP servers that received them, not by our own records."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from typing import Any

import asyncpg
import grpc
import httpx
import pytest

from devstack.stack import Stack
from leadflood.inbox.v1 import delivery_pb2, delivery_pb2_grpc, events_pb2
from leadflood_platform import identity
from tests.e2e.helpers import _stream_messages, assert_problem, org_user, unique_email, until
from tests.fakes.smtp_witness import Witness


def _send(client: httpx.Client, key: str, **body: Any) -> httpx.Response:
    return client.post("/v1/messages", json=body, headers={"idempotency-key": key})


def _captured(client: httpx.Client, message_id: str) -> list[dict]:
    return [
        m for m in client.get("/v1/captured-mail", params={"limit": 200}).json()["mail"] if m["messageId"] == message_id
    ]


async def _count_captured(stack: Stack, message_id: str) -> int:
    assert stack.postgres is not None
    conn = await asyncpg.connect(stack.postgres.admin_dsn().rsplit("/", 1)[0] + "/leadflood")
    try:
        return await conn.fetchval("SELECT count(*) FROM inbox.captured_mail WHERE rfc822_message_id = $1", message_id)
    finally:
        await conn.close()


def test_an_email_is_captured_once_threaded_with_one_click_unsubscribe(stack: Stack, client: httpx.Client) -> None:
    to, key = unique_email("mailroom"), uuid.uuid4().hex
    first = _send(client, key, to=to, toName="Ada Lovelace", subject="Quick question", text="Hi Ada")
    assert first.status_code == 202, first.text
    sent = first.json()
    assert sent["outcome"] == "queued" and not sent["existing"]
    again = _send(client, key, to=to, toName="Ada Lovelace", subject="Quick question", text="Hi Ada")  # a retried POST
    assert again.status_code == 202 and again.json() == sent  # the same answer: the same message
    changed = _send(client, key, to=to, subject="Another question", text="Hi Ada")  # the key, reused for another
    assert changed.status_code == 422 and changed.headers["content-type"] == "application/problem+json"

    [mail] = until(lambda: _captured(client, sent["rfc822MessageId"]), what="the captured email")
    detail = client.get(f"/v1/captured-mail/{mail['id']}").json()
    headers = {name.lower(): value for name, value in detail["headers"]}
    assert headers["message-id"] == sent["rfc822MessageId"]
    assert headers["list-unsubscribe-post"] == "List-Unsubscribe=One-Click"
    link, mailto = (part.strip(" <>") for part in headers["list-unsubscribe"].split(","))
    assert link.startswith(f"{stack.url}/v1/unsubscribe/") and mailto.startswith("mailto:unsubscribe+")
    assert detail["text"].strip() == "Hi Ada" and detail["to"] == [to]
    until(lambda: client.get(f"/v1/messages/{sent['messageId']}").json()["status"] == "sent", what="status sent")

    follow = _send(
        client, uuid.uuid4().hex, to=to, subject="Re: Quick question", text="Following up", threadId=sent["threadId"]
    )
    [again_mail] = until(lambda: _captured(client, follow.json()["rfc822MessageId"]), what="the follow-up")
    follow_headers = {n.lower(): v for n, v in client.get(f"/v1/captured-mail/{again_mail['id']}").json()["headers"]}
    assert follow_headers["in-reply-to"] == sent["rfc822MessageId"]
    assert follow_headers["references"] == sent["rfc822MessageId"]
    # Once each, as the SMTP server stored them.
    assert asyncio.run(_count_captured(stack, sent["rfc822MessageId"])) == 1

    # A link scanner's GET changes nothing; the one-click POST suppresses the address; a later send is not sent.
    path = link.removeprefix(stack.url)
    for _ in range(3):
        page = httpx.get(f"{stack.url}{path}")
        assert page.status_code == 200 and "<form method=post" in page.text and to in page.text
    last = _send(client, uuid.uuid4().hex, to=to, subject="Still there?", text="x").json()
    assert last["outcome"] == "queued"
    one_click = httpx.post(f"{stack.url}{path}", content=b"List-Unsubscribe=One-Click",
                           headers={"content-type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert one_click.status_code == 200 and "You are unsubscribed" in one_click.text
    assert httpx.post(f"{stack.url}{path}").status_code == 200  # again: still unsubscribed, no second event
    refused = _send(client, uuid.uuid4().hex, to=to, subject="Still there?", text="x").json()
    assert refused["outcome"] == "suppressed" and "unsubscribed" in refused["reason"]
    assert "You are unsubscribed" in httpx.get(f"{stack.url}{path}").text
    assert_problem(httpx.get(f"{stack.url}/v1/unsubscribe/forged.token"), 404)

    nats_url = stack.env["inbox"]["NATS_URL"]
    events = [
        events_pb2.RecipientUnsubscribed.FromString(d)
        for d in asyncio.run(_stream_messages(nats_url, "inbox.recipient.unsubscribed"))
    ]
    [unsubscribed] = [e for e in events if e.email == to]
    assert unsubscribed.thread_id == last["threadId"]  # what it answers: the last email sent to the address
    sent_events = [
        events_pb2.MessageSent.FromString(d) for d in asyncio.run(_stream_messages(nats_url, "inbox.message.sent"))
    ]
    assert [e.message.message_id for e in sent_events].count(sent["messageId"]) == 1


def test_a_draft_is_kept_in_its_thread_as_a_draft_and_never_sent(stack: Stack, client: httpx.Client) -> None:
    to, key = unique_email("draft"), uuid.uuid4().hex
    drafted = _send(client, key, to=to, subject="Availability?", text="Are you free on Tuesday?", draft=True)
    assert drafted.status_code == 202, drafted.text
    draft = drafted.json()
    assert draft["outcome"] == "drafted" and draft["status"] == "draft" and draft["rfc822MessageId"].startswith("<")
    again = _send(client, key, to=to, subject="Availability?", text="Are you free on Tuesday?", draft=True).json()
    assert again == draft  # a retried POST: the same draft
    # A real send in the same thread reaches the SMTP server; by then the draft would have too, had it gone.
    sent = _send(client, uuid.uuid4().hex, to=to, subject="Availability?", text="Sent", threadId=draft["threadId"])
    [mail] = until(lambda: _captured(client, sent.json()["rfc822MessageId"]), what="the sent email")
    assert asyncio.run(_count_captured(stack, draft["rfc822MessageId"])) == 0
    headers = {n.lower(): v for n, v in client.get(f"/v1/captured-mail/{mail['id']}").json()["headers"]}
    assert "in-reply-to" not in headers  # nobody has the draft: nothing may answer it
    thread = client.get(f"/v1/inbox/threads/{draft['threadId']}").json()
    by_id = {m["id"]: m for m in thread["messages"]}
    assert by_id[draft["messageId"]]["status"] == "draft" and by_id[draft["messageId"]]["sentAt"] is None


def test_bad_sends_are_refused_with_a_problem(client: httpx.Client) -> None:
    assert_problem(client.post("/v1/messages", json={"to": "a@b.co", "subject": "s", "text": "t"}), 422)  # no key
    bad = _send(client, uuid.uuid4().hex, to="a@b.co", subject="Hi\r\nBcc: all@example.com", text="t")
    body = assert_problem(bad, 422)
    assert [e["field"] for e in body["errors"]] == ["subject"]
    assert_problem(_send(client, uuid.uuid4().hex, to="not-an-address", subject="s", text="t"), 422)


# --- the independent witness: an SMTP server of the test's own ------------------------------------


def _org_of(token: str) -> str:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["org"]


def _witness_mailbox(client: httpx.Client, port: int) -> str:
    """A mailbox of the org that sends to the witness (not the default: the org's other sends go on as before).

    An org's first mailbox is its default: one send first makes sure the local default mailbox is that one.
    """
    assert _send(client, uuid.uuid4().hex, to=unique_email("first"), subject="First", text="x").status_code == 202
    created = client.post(
        "/v1/mailboxes",
        json={"fromAddress": f"witness-{uuid.uuid4().hex[:8]}@acme.example.com", "fromName": "Witness",
              "smtpHost": "127.0.0.1", "smtpPort": port, "smtpStarttls": False, "dailyCap": 1000},
    )  # fmt: skip
    assert created.status_code == 201, created.text
    return created.json()["id"]


async def _grpc_send(stack: Stack, org_id: str, mailbox: str, key: str) -> delivery_pb2.SendMessageResponse:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{stack.config.ports.grpc['inbox']}") as channel:
        stub = delivery_pb2_grpc.DeliveryServiceStub(channel)
        request = delivery_pb2.SendMessageRequest(
            idempotency_key=key, channel=delivery_pb2.CHANNEL_EMAIL, mailbox_id=mailbox,
            to=delivery_pb2.Recipient(email=unique_email("kill")), subject="Once", text_body="Exactly once.",
            origin="test",
        )  # fmt: skip
        return await stub.SendMessage(request, metadata=identity.metadata_for(org_id), timeout=10)


async def _grpc_send_many(
    stack: Stack, org_id: str, requests: list[delivery_pb2.SendMessageRequest]
) -> delivery_pb2.SendMessagesResponse:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{stack.config.ports.grpc['inbox']}") as channel:
        stub = delivery_pb2_grpc.DeliveryServiceStub(channel)
        batch = delivery_pb2.SendMessagesRequest(requests=requests)
        return await stub.SendMessages(batch, metadata=identity.metadata_for(org_id), timeout=10)


def test_a_batch_of_sends_reaches_the_smtp_server_once_per_key(
    stack: Stack, client: httpx.Client, demo_token: str, witness: tuple[Witness, int]
) -> None:
    handler, port = witness
    org, mailbox = _org_of(demo_token), _witness_mailbox(client, port)

    def one(key: str, to: str) -> delivery_pb2.SendMessageRequest:
        return delivery_pb2.SendMessageRequest(
            idempotency_key=key, channel=delivery_pb2.CHANNEL_EMAIL, mailbox_id=mailbox,
            to=delivery_pb2.Recipient(email=to), subject="Batch", text_body="One of many.", origin="test",
        )  # fmt: skip

    keys = [f"test:{uuid.uuid4()}" for _ in range(3)]
    batch = [one(keys[0], unique_email("batch")), one(keys[1], unique_email("batch")), one(keys[0], "x@y.example")]
    replies = asyncio.run(_grpc_send_many(stack, org, batch)).responses
    assert [r.outcome for r in replies] == [delivery_pb2.SEND_OUTCOME_QUEUED] * 3
    assert replies[2].existing and replies[2].message_id == replies[0].message_id
    for reply in replies[:2]:
        until(lambda r=reply: client.get(f"/v1/messages/{r.message_id}").json()["status"] == "sent", what="sent")
    assert handler.accepted.count(replies[0].rfc822_message_id) == 1
    assert handler.accepted.count(replies[1].rfc822_message_id) == 1

    # One request the inbox would refuse: the whole batch is refused, naming it, and nothing is stored.
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        asyncio.run(_grpc_send_many(stack, org, [one(keys[2], unique_email("batch")), one(keys[2] + "b", "nope")]))
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "requests[1]" in refused.value.details()
    assert not asyncio.run(_grpc_send_many(stack, org, [one(keys[2], unique_email("batch"))])).responses[0].existing


def test_a_worker_killed_mid_send_and_a_retried_call_send_exactly_one_email(
    stack: Stack, client: httpx.Client, demo_token: str, witness: tuple[Witness, int]
) -> None:
    handler, port = witness
    org = _org_of(demo_token)
    mailbox = _witness_mailbox(client, port)
    key = f"test:{uuid.uuid4()}"
    handler.hold.clear()  # the next session stops at RCPT, inside the SMTP conversation
    sent = asyncio.run(_grpc_send(stack, org, mailbox, key))
    assert sent.outcome == delivery_pb2.SEND_OUTCOME_QUEUED
    assert handler.holding.wait(20), "the worker never reached the SMTP server"
    stack.supervisor.kill("inbox-worker")  # mid-send: the server has not accepted the message
    handler.hold.set()
    again = asyncio.run(_grpc_send(stack, org, mailbox, key))  # the caller retries its call meanwhile
    assert again.existing and again.message_id == sent.message_id
    stack.start_worker("inbox")
    until(lambda: client.get(f"/v1/messages/{sent.message_id}").json()["status"] == "sent", what="the resend")
    assert handler.accepted.count(sent.rfc822_message_id) == 1

    # Killed right after the message is marked sent: its redelivery finds it sent and sends nothing.
    second = asyncio.run(_grpc_send(stack, org, mailbox, f"test:{uuid.uuid4()}"))
    until(lambda: client.get(f"/v1/messages/{second.message_id}").json()["status"] == "sent", what="sent")
    stack.supervisor.kill("inbox-worker")
    stack.start_worker("inbox")
    third = asyncio.run(_grpc_send(stack, org, mailbox, f"test:{uuid.uuid4()}"))  # the restarted worker works
    until(lambda: client.get(f"/v1/messages/{third.message_id}").json()["status"] == "sent", what="sent")
    assert handler.accepted.count(second.rfc822_message_id) == 1
    assert handler.accepted.count(third.rfc822_message_id) == 1
    attempts = client.get(f"/v1/messages/{sent.message_id}").json()["attempts"]
    assert [a["result"] for a in attempts][-1] == "accepted"


def test_mailboxes_and_the_suppression_list_are_kept_by_hand(client: httpx.Client) -> None:
    # An org's first mailbox is its default: one send first makes the local default mailbox that one.
    assert _send(client, uuid.uuid4().hex, to=unique_email("first"), subject="First", text="x").status_code == 202
    address = f"sales-{uuid.uuid4().hex[:8]}@acme.example.com"
    body = {
        "fromAddress": address,
        "fromName": "Sales",
        "smtpHost": "smtp.acme.example.com",
        "timeZone": "Europe/Berlin",
    }
    created = client.post("/v1/mailboxes", json=body)
    assert created.status_code == 201, created.text
    mailbox = created.json()
    assert mailbox["dailyCap"] == 200 and mailbox["sentToday"] == 0 and not mailbox["isDefault"]
    assert_problem(client.post("/v1/mailboxes", json=body), 409)
    bad = assert_problem(
        client.post("/v1/mailboxes", json={**body, "fromAddress": f"x{address}", "timeZone": "Mars/Olympus",
                                           "smtpPasswordRef": "hunter2 is my password"}),
        422,
    )  # fmt: skip
    assert {e["field"] for e in bad["errors"]} == {"timeZone", "smtpPasswordRef"}
    changed = client.patch(f"/v1/mailboxes/{mailbox['id']}", json={"dailyCap": 50, "minSpacingS": 30}).json()
    assert (changed["dailyCap"], changed["minSpacingS"]) == (50, 30)
    assert mailbox["id"] in [m["id"] for m in client.get("/v1/mailboxes").json()["mailboxes"]]

    target = unique_email("suppressed")
    added = client.post("/v1/suppressions", json={"address": target.upper()})
    assert added.status_code == 201 and added.json()["reason"] == "by-hand"
    assert client.post("/v1/suppressions", json={"address": target}).status_code == 200  # listed already
    listed = client.get("/v1/suppressions", params={"q": target.split("@")[0]}).json()["suppressions"]
    assert [s["address"] for s in listed] == [target.lower()]
    send = {"to": target, "subject": "Hi", "text": "Hello"}
    assert _send(client, uuid.uuid4().hex, **send).json()["outcome"] == "suppressed"
    assert client.delete(f"/v1/suppressions/{target}").status_code == 204
    assert_problem(client.delete(f"/v1/suppressions/{target}"), 404)
    assert _send(client, uuid.uuid4().hex, **send).json()["outcome"] == "queued"
    assert_problem(client.post("/v1/suppressions", json={"address": "not an address"}), 422)


def test_a_send_that_keeps_failing_is_a_dead_letter_replayed_once(
    stack: Stack, client: httpx.Client, demo_token: str, witness: tuple[Witness, int]
) -> None:
    handler, port = witness
    org, mailbox = _org_of(demo_token), _witness_mailbox(client, port)
    handler.busy = True  # every attempt is deferred (4xx) until the retries run out
    sent = asyncio.run(_grpc_send(stack, org, mailbox, f"test:{uuid.uuid4()}"))
    message = until(
        lambda: (m := client.get(f"/v1/messages/{sent.message_id}").json())["status"] == "failed" and m, what="failed"
    )
    assert message["attempts"][-1]["result"] == "failed" and "451" in message["error"]
    assert [a["result"] for a in message["attempts"]].count("deferred") >= 2
    dead = [j for j in client.get("/v1/jobs", params={"status": "failed"}).json()["jobs"]
            if j["payload"].get("messageId") == sent.message_id]  # fmt: skip
    assert len(dead) == 1 and dead[0]["id"].startswith("inbox.")
    handler.busy = False
    replayed = client.post(f"/v1/jobs/{dead[0]['id']}/replay")
    assert replayed.status_code == 202 and replayed.json()["status"] == "queued", replayed.text
    until(lambda: client.get(f"/v1/messages/{sent.message_id}").json()["status"] == "sent", what="sent on replay")
    assert handler.accepted.count(sent.rfc822_message_id) == 1
    until(lambda: client.get(f"/v1/jobs/{dead[0]['id']}").json()["status"] == "completed", what="the job completed")
    assert_problem(client.post(f"/v1/jobs/{dead[0]['id']}/replay"), 409)  # only a failed job is replayed
    assert handler.accepted.count(sent.rfc822_message_id) == 1


async def _campaign(stack: Stack, org_id: str, mailbox: str, count: int) -> list[delivery_pb2.SendMessageResponse]:
    """`count` sends as a campaign makes them (not a person's: origin "test"), all queued at once."""
    return list(
        await asyncio.gather(*(_grpc_send(stack, org_id, mailbox, f"test:{uuid.uuid4()}") for _ in range(count)))
    )


def test_a_campaign_stuck_at_its_server_never_holds_back_another_org_s_reply(
    stack: Stack, base_url: str, client: httpx.Client, demo_token: str, witness: tuple[Witness, int]
) -> None:
    handler, port = witness
    org, mailbox = _org_of(demo_token), _witness_mailbox(client, port)
    handler.hold.clear()  # every session of the campaign's server waits at RCPT: the campaign lane is stuck
    campaign = asyncio.run(_campaign(stack, org, mailbox, 40))
    assert handler.holding.wait(20), "the campaign never reached its server"
    try:
        with org_user(stack, base_url, "replier") as other:  # another org answers one of its leads meanwhile
            sent = _send(other.client, uuid.uuid4().hex, to=unique_email("answer"), subject="Re: hello", text="Yes!")
            assert sent.status_code == 202, sent.text
            # Its own lane: at the capture server (the witness of the local default) while the campaign waits.
            until(lambda: _captured(other.client, sent.json()["rfc822MessageId"]), what="the reply at its server")
            assert handler.accepted == []
    finally:
        handler.hold.set()
    ids = [reply.rfc822_message_id for reply in campaign]
    until(lambda: set(ids) <= set(handler.accepted), timeout_s=60, what="the campaign, once its server answers")
    assert sorted(handler.accepted) == sorted(ids)  # each once
