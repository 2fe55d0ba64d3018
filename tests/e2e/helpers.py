"""What the end-to-end tests share: waiting on a lead, reading problem bodies and the event stream."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import nats

from leadflood.leads.v1 import events_pb2

TERMINAL = {"enriched", "failed"}


def unique_email(tag: str = "lead") -> str:
    return f"{tag}-{uuid.uuid4().hex[:10]}@example.com"


def wait_for_lead(client: httpx.Client, lead_id: str, *, timeout_s: float = 20) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        lead = client.get(f"/v1/leads/{lead_id}").json()
        if lead["status"] in TERMINAL:
            return lead
        time.sleep(0.05)
    raise AssertionError(f"lead {lead_id} still {lead['status']} after {timeout_s}s")


def assert_problem(reply: httpx.Response, status: int) -> dict[str, Any]:
    """A problem+json error of that status, with the fields RFC 9457 names and a request id."""
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"].startswith("application/problem+json")
    assert reply.headers.get("x-request-id")
    body = reply.json()
    assert body["status"] == status and body["title"] and body["detail"]
    return body


async def count_in_stream(nats_url: str, subject: str, count: Callable[[bytes], int]) -> int:
    """Replays every message of a subject on the EVENTS stream, adding up what `count` says of each."""
    nc = await nats.connect(nats_url)
    try:
        sub = await nc.jetstream().subscribe(subject, ordered_consumer=True)
        total = 0
        while True:
            try:
                msg = await sub.next_msg(timeout=0.5)
            except nats.errors.TimeoutError:
                return total
            total += count(msg.data)
    finally:
        await nc.close()


def leads_named(nats_url: str, subject: str) -> list[tuple[str, str, str]]:
    """(lead id, email, search run id) for every lead every event of a leads.lead.* subject names."""
    message = events_pb2.LeadCreated if subject == "leads.lead.created" else events_pb2.LeadUpdated
    named: list[tuple[str, str, str]] = []

    def collect(data: bytes) -> int:
        event = message.FromString(data)
        named.extend((ref.id, ref.email, event.search_run_id) for ref in event.leads)
        return len(event.leads)

    asyncio.run(count_in_stream(nats_url, subject, collect))
    return named
