"""What the end-to-end tests share: waiting on a lead, reading problem bodies and the event stream."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import nats

from devstack.stack import ROOT, Stack
from leadflood.leads.v1 import events_pb2

TERMINAL = {"enriched", "failed"}


def until(check: Any, timeout_s: float = 20, what: str = "condition") -> Any:
    """`check()`'s first truthy value, polled until a deadline: a test waits on a condition, never a fixed time."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")


async def until_async(check: Callable[[], Awaitable[Any]], timeout_s: float = 20, what: str = "condition") -> Any:
    """`until` for a test running on the event loop: `await check()`'s first truthy value before a deadline."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if value := await check():
            return value
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")


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


async def _stream_messages(nats_url: str, subject: str) -> list[bytes]:
    """Every message of a subject on the EVENTS stream, replayed from the start."""
    nc = await nats.connect(nats_url)
    try:
        sub = await nc.jetstream().subscribe(subject, ordered_consumer=True)
        messages = []
        while True:
            try:
                messages.append((await sub.next_msg(timeout=0.5)).data)
            except nats.errors.TimeoutError:
                return messages
    finally:
        await nc.close()


def leads_named(nats_url: str, subject: str) -> list[tuple[str, str, str]]:
    """(lead id, email, search run id) for every lead every event of a leads.lead.* subject names."""
    message = events_pb2.LeadCreated if subject == "leads.lead.created" else events_pb2.LeadUpdated
    events = [message.FromString(data) for data in asyncio.run(_stream_messages(nats_url, subject))]
    return [(ref.id, ref.email, event.search_run_id) for event in events for ref in event.leads]


@dataclass
class OrgUser:
    email: str
    password: str
    client: httpx.Client  # signed in as the user


def create_user(stack: Stack, email: str, password: str, *, org: str, role: str | None = None) -> None:
    """A user made as an operator makes one (`python -m gateway create-user`): in `org` (made if new, its first
    user its owner), with `role` in an org that exists."""
    subprocess.run(
        [sys.executable, "-m", "gateway", "create-user", "--org", org, "--email", email, "--password", password,
         *(["--role", role] if role else [])],
        env=stack.env["gateway"], cwd=ROOT, check=True, capture_output=True,
    )  # fmt: skip


def access_token(base_url: str, email: str, password: str) -> str:
    return httpx.post(f"{base_url}/v1/auth/login", json={"email": email, "password": password}).json()["accessToken"]


@contextmanager
def org_user(stack: Stack, base_url: str, tag: str = "user") -> Iterator[OrgUser]:
    """A new user in an org of its own (its quotas, alerts and dead letters are the test's alone), with an API
    client signed in as them."""
    email, password = f"{tag}-{uuid.uuid4().hex[:8]}@example.com", uuid.uuid4().hex
    create_user(stack, email, password, org=f"{tag} {email}")
    token = access_token(base_url, email, password)
    with httpx.Client(base_url=base_url, headers={"authorization": f"Bearer {token}"}, timeout=30) as client:
        yield OrgUser(email, password, client)


def db_value(stack: Stack, query: str, *args: Any) -> Any:
    """A value read from the stack's database: a service's own record, a witness beside what the API shows."""

    async def read() -> Any:
        assert stack.postgres is not None
        conn = await asyncpg.connect(stack.postgres.admin_dsn().rsplit("/", 1)[0] + "/leadflood")
        try:
            return await conn.fetchval(query, *args)
        finally:
            await conn.close()

    return asyncio.run(read())
