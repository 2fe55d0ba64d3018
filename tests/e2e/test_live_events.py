"""Live updates over SSE: a ticket opens one stream once; an org's stream carries its own events and never
another org's; a reconnect with Last-Event-ID gets what it missed."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.e2e.helpers import assert_problem, org_user, unique_email, until


@dataclass
class Listening:
    events: list[dict[str, Any]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def named(self, name: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["event"] == name]


def ticket(client: httpx.Client) -> str:
    reply = client.post("/v1/events/tickets")
    assert reply.status_code == 201, reply.text
    body = reply.json()
    assert body["expiresInSeconds"] == 30 and body["url"] == f"/v1/events?ticket={body['ticket']}"
    return body["ticket"]


def _read(base_url: str, params: dict[str, str], into: Listening) -> None:
    try:
        _parse(base_url, params, into)
    except httpx.TransportError:  # the stack stopping under a stream the test had finished with
        if not into.stop.is_set():
            raise


def _parse(base_url: str, params: dict[str, str], into: Listening) -> None:
    with httpx.stream("GET", f"{base_url}/v1/events", params=params, timeout=httpx.Timeout(5, read=60)) as reply:
        assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/event-stream")
        current: dict[str, Any] = {}
        for line in reply.iter_lines():
            if into.stop.is_set():
                return
            if not line:
                if "event" in current:
                    into.events.append(current)
                current = {}
            elif line.startswith(("event: ", "id: ")):
                key, _, value = line.partition(": ")
                current[key] = value
            elif line.startswith("data: "):
                current["data"] = json.loads(line.removeprefix("data: "))


@contextmanager
def listening(base_url: str, client: httpx.Client, **params: str) -> Iterator[Listening]:
    heard = Listening()
    thread = threading.Thread(target=_read, args=(base_url, {"ticket": ticket(client), **params}, heard), daemon=True)
    thread.start()
    until(lambda: heard.named("ready"), 10, "the stream to be ready")
    try:
        yield heard
    finally:
        heard.stop.set()  # the thread ends at its next line (a heartbeat at the latest); it is a daemon


def new_lead(client: httpx.Client, tag: str) -> str:
    reply = client.post("/v1/leads", json={"email": unique_email(tag), "firstName": tag, "lastName": "Live"})
    assert reply.status_code == 201, reply.text
    return reply.json()["lead"]["id"]


def lead_ids(heard: Listening) -> set[str]:
    return {ref["id"] for e in heard.named("leads.lead.created") for ref in e["data"].get("leads", [])}


def test_a_ticket_opens_one_stream_once(base_url: str, client: httpx.Client) -> None:
    assert_problem(httpx.post(f"{base_url}/v1/events/tickets"), 401)
    assert_problem(httpx.get(f"{base_url}/v1/events"), 401)
    assert_problem(httpx.get(f"{base_url}/v1/events", params={"ticket": "x" * 43}), 401)
    assert_problem(httpx.get(f"{base_url}/v1/events", params={"ticket": "not/a.ticket"}), 401)
    one = ticket(client)
    with httpx.stream("GET", f"{base_url}/v1/events", params={"ticket": one}, timeout=10) as first:
        assert first.status_code == 200
        body = assert_problem(httpx.get(f"{base_url}/v1/events", params={"ticket": one}), 401)
        assert "not valid" in body["detail"]


def test_an_org_hears_its_own_events_and_never_another_org_s(stack, base_url: str) -> None:  # type: ignore[no-untyped-def]
    with (
        org_user(stack, base_url, "live-a") as a,
        org_user(stack, base_url, "live-b") as b,
        listening(base_url, a.client) as heard_a,
        listening(base_url, b.client) as heard_b,
    ):
        theirs = new_lead(b.client, "theirs")
        until(lambda: theirs in lead_ids(heard_b), 20, "B's own lead on B's stream")
        # A's lead is created after B's and goes through the same outbox, bus and subscription: had B's event
        # been going to A's stream, it would be there before A's own.
        mine = new_lead(a.client, "mine")
        until(lambda: mine in lead_ids(heard_a), 20, "A's own lead on A's stream")
        assert theirs not in lead_ids(heard_a) and mine not in lead_ids(heard_b)
        assert all(e.get("data", {}).get("orgId") is None for e in heard_a.events)
        # A reconnect that names the last event it saw gets what came after it, and only its org's.
        last = next(e for e in heard_a.named("leads.lead.created") if mine in lead_ids_of(e))["id"]
        later = new_lead(a.client, "later")
        until(lambda: later in lead_ids(heard_a), 20, "A's later lead")
        new_lead(b.client, "theirs-again")
        with listening(base_url, a.client, lastEventId=last) as again:
            assert later in lead_ids(again) and mine not in lead_ids(again)
            assert not again.named("reset")
        with listening(base_url, a.client, lastEventId="someone-else-1") as lost:
            assert lost.named("reset")


def lead_ids_of(event: dict[str, Any]) -> set[str]:
    return {ref["id"] for ref in event["data"].get("leads", [])}
