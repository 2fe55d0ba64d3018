"""The sequences worker killed (SIGKILL) while it sends: once restarted, every step of every enrollment has
reached the lead exactly once. Counted by an SMTP server of the test's own that the sequence's mailbox sends
to (the independent witness), not by our own records."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from typing import Any

import asyncpg
import httpx

from devstack.stack import Stack
from tests.e2e.helpers import until
from tests.fakes.smtp_witness import Witness

LEADS, STEPS = 100, 3
# Observed at the witness before the kill: a tenth of the sends, so the worker dies with most still to do.
KILL_AFTER = 30
OPEN_WINDOW = {"days": [1, 2, 3, 4, 5, 6, 7], "startTime": "00:00", "endTime": "23:59", "timeZone": "UTC"}


def _leads(client: httpx.Client, tag: str) -> list[str]:
    """LEADS leads made by one CSV import, named K0 .. K{LEADS-1}; their ids."""
    rows = "".join(f"k{n}-{tag}@example.com,K{n},Crash{tag}\n" for n in range(LEADS))
    imported = client.post(
        "/v1/leads/import", content=f"email,firstName,lastName\n{rows}".encode(), headers={"content-type": "text/csv"}
    )
    assert imported.status_code == 200 and imported.json()["created"] == LEADS, imported.text
    page = client.get("/v1/leads", params={"q": f"Crash{tag}", "filtered": "all", "limit": 500}).json()
    assert len(page["items"]) == LEADS
    return [lead["id"] for lead in page["items"]]


async def _unsent(stack: Stack, enrollment_ids: list[str]) -> int:
    """The mail room's messages of these enrollments not yet at their SMTP server: none once it is done."""
    conn = await asyncpg.connect(stack.env["inbox"]["DATABASE_URL"])
    try:
        keys = [f"sequences:{enrollment}:%" for enrollment in enrollment_ids]
        return await conn.fetchval(
            "SELECT count(*) FROM inbox.messages WHERE idempotency_key LIKE ANY($1::text[]) AND status <> 'sent'", keys
        )
    finally:
        await conn.close()


def test_a_killed_sequences_worker_sends_every_step_exactly_once(
    stack: Stack, client: httpx.Client, witness: tuple[Witness, int]
) -> None:
    handler, port = witness
    tag = uuid.uuid4().hex[:8]
    mailbox = client.post(
        "/v1/mailboxes",
        json={"fromAddress": f"crash-{tag}@acme.example.com", "fromName": "Crash", "smtpHost": "127.0.0.1",
              "smtpPort": port, "smtpStarttls": False, "dailyCap": 10_000},
    )  # fmt: skip
    assert mailbox.status_code == 201, mailbox.text
    steps = [
        {"channel": "email", "delayAmount": 0, "delayUnit": "hours",
         "subjectTemplate": f"S{k} {{{{ lead.firstName }}}} {tag}", "bodyTemplate": f"Step {k}."}
        for k in range(1, STEPS + 1)
    ]  # fmt: skip
    body = {"name": f"Crash {tag}", "window": OPEN_WINDOW, "mailboxId": mailbox.json()["id"], "steps": steps}
    sequence = client.post("/v1/sequences", json=body)
    assert sequence.status_code == 201, sequence.text
    seq = f"/v1/sequences/{sequence.json()['id']}"
    lead_ids = _leads(client, tag)
    client.post(f"{seq}/activate").raise_for_status()
    enrolled = client.post(f"{seq}/enrollments", json={"leadIds": lead_ids}, timeout=60).json()["enrolled"]
    assert len(enrolled) == LEADS

    # Killed at an observed moment: KILL_AFTER of the sends are at the witness, most are still to go.
    until(lambda: len(handler.ours(tag)) >= KILL_AFTER, timeout_s=60, what=f"{KILL_AFTER} emails at the witness")
    stack.supervisor.kill("sequences-worker")
    # With the worker dead, its committed progress stands still: some steps must be left for the restart.
    listed = client.get(f"{seq}/enrollments", params={"limit": 200}).json()["enrollments"]
    assert sum(e["stepsDone"] for e in listed) < LEADS * STEPS, "every step was done before the kill: nothing proven"
    stack.supervisor.restart("sequences-worker")

    def every_enrollment_done() -> dict[str, Any] | None:
        listed = client.get(f"{seq}/enrollments", params={"limit": 200}).json()["enrollments"]
        return listed if len(listed) == LEADS and all(e["state"] == "completed" for e in listed) else None

    done = until(every_enrollment_done, timeout_s=120, what="every enrollment to complete after the restart")
    enrollment_ids = [e["id"] for e in done]
    until(lambda: asyncio.run(_unsent(stack, enrollment_ids)) == 0, timeout_s=60, what="the mail room to drain")
    until(lambda: len(handler.ours(tag)) >= LEADS * STEPS, timeout_s=30, what="every email at the witness")

    # Exactly once each (enrollment, step): every expected subject once, nothing else.
    received = Counter(handler.ours(tag))
    expected = {f"S{k} K{n} {tag}" for k in range(1, STEPS + 1) for n in range(LEADS)}
    doubled = {subject: count for subject, count in received.items() if count > 1}
    assert doubled == {}, f"sent more than once: {doubled}"
    assert set(received) == expected, f"missing: {sorted(expected - set(received))[:10]}"
    assert all(e["stepsDone"] == STEPS for e in done)
    stats = client.get(f"{seq}/stats").json()
    assert [step["sent"] for step in stats["steps"]] == [LEADS] * STEPS  # our count agrees with the witness's
