"""A saved draft is reviewed and sent: edited, threaded under what the thread holds by then, sent once however
often the button is pressed (counted by the SMTP server that received it), and only a draft can be sent."""

from __future__ import annotations

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor

import grpc
import httpx

from devstack.stack import Stack
from leadflood.inbox.v1 import delivery_pb2, delivery_pb2_grpc
from leadflood_platform import identity
from tests.e2e.helpers import unique_email, until
from tests.e2e.test_mail_room import _captured, _org_of, _send, _witness_mailbox
from tests.fakes.smtp_witness import Witness


def test_a_draft_is_sent_once_as_edited_threaded_under_the_thread_s_last_message(client: httpx.Client) -> None:
    to = unique_email("draft-send")
    first = _send(client, uuid.uuid4().hex, to=to, subject="Our plan", text="Here is the plan.").json()
    until(lambda: _captured(client, first["rfc822MessageId"]), what="the first email")
    drafted = _send(
        client, uuid.uuid4().hex, to=to, subject="Our plan", text="Free?", threadId=first["threadId"], draft=True
    ).json()
    assert drafted["outcome"] == "drafted"

    edits = {"subject": "Our plan: a time", "text": "Are you free on Tuesday at 10?"}
    sent = client.post(f"/v1/messages/{drafted['messageId']}/send", json=edits)
    assert sent.status_code == 202, sent.text
    assert sent.json()["outcome"] == "queued" and not sent.json()["existing"]
    again = client.post(f"/v1/messages/{drafted['messageId']}/send", json=edits)  # a second press
    assert again.status_code == 202 and again.json()["existing"] and again.json()["messageId"] == drafted["messageId"]

    [mail] = until(lambda: _captured(client, drafted["rfc822MessageId"]), what="the sent draft")
    headers = {n.lower(): v for n, v in client.get(f"/v1/captured-mail/{mail['id']}").json()["headers"]}
    assert headers["subject"] == "Our plan: a time"
    assert headers["in-reply-to"] == first["rfc822MessageId"]  # threaded under what was sent before it
    until(lambda: client.get(f"/v1/messages/{drafted['messageId']}").json()["status"] == "sent", what="sent")
    message = client.get(f"/v1/messages/{drafted['messageId']}").json()
    assert message["text"] == "Are you free on Tuesday at 10?"
    assert len(_captured(client, drafted["rfc822MessageId"])) == 1


def test_only_a_draft_of_the_org_can_be_sent(client: httpx.Client) -> None:
    sent = _send(client, uuid.uuid4().hex, to=unique_email("not-draft"), subject="Hi", text="Hello").json()
    until(lambda: client.get(f"/v1/messages/{sent['messageId']}").json()["status"] == "sent", what="sent")
    # Sent already through SendMessage: it is that message, not a second one.
    assert client.post(f"/v1/messages/{sent['messageId']}/send").json()["existing"]
    dry = _send(client, uuid.uuid4().hex, to=unique_email("dry"), subject="Hi", text="Hello", dryRun=True).json()
    refused = client.post(f"/v1/messages/{dry['messageId']}/send")
    assert refused.status_code == 409 and refused.headers["content-type"] == "application/problem+json"
    assert "only a draft can be sent" in refused.json()["detail"]
    missing = client.post(f"/v1/messages/{uuid.uuid4()}/send")
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
    bad = client.post(f"/v1/messages/{uuid.uuid4()}/send", json={"subject": "two\r\nlines"})
    assert bad.status_code in (404, 422)  # the message is looked up first; either way nothing is sent


def test_a_draft_sent_by_many_presses_at_once_reaches_the_smtp_server_once(
    stack: Stack, client: httpx.Client, demo_token: str, witness: tuple[Witness, int]
) -> None:
    handler, port = witness
    org, mailbox = _org_of(demo_token), _witness_mailbox(client, port)
    draft = asyncio.run(_grpc_draft(stack, org, mailbox))
    assert draft.outcome == delivery_pb2.SEND_OUTCOME_DRAFTED

    def press(_: int) -> httpx.Response:
        return client.post(f"/v1/messages/{draft.message_id}/send")

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(press, range(8)))
    assert all(a.status_code == 202 for a in answers), [a.text for a in answers]
    assert sum(not a.json()["existing"] for a in answers) == 1  # one press sent it; the others found it sent
    until(lambda: client.get(f"/v1/messages/{draft.message_id}").json()["status"] == "sent", what="sent")
    assert handler.accepted.count(draft.rfc822_message_id) == 1


async def _grpc_draft(stack: Stack, org_id: str, mailbox: str) -> delivery_pb2.SendMessageResponse:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{stack.config.ports.grpc['inbox']}") as channel:
        stub = delivery_pb2_grpc.DeliveryServiceStub(channel)
        request = delivery_pb2.SendMessageRequest(
            idempotency_key=f"test:{uuid.uuid4()}", channel=delivery_pb2.CHANNEL_EMAIL, mailbox_id=mailbox,
            to=delivery_pb2.Recipient(email=unique_email("draft-once")), subject="Availability", draft=True,
            text_body="When would suit you?", origin="runs",
        )  # fmt: skip
        return await stub.SendMessage(request, metadata=identity.metadata_for(org_id), timeout=10)
