"""Every list that can grow pages on the server and says how many match (#18), over HTTP, each in an org of its
own so the counts are exact: the first page carries `total` (and `totalCapped`), counted by the list's own
filters; a later page carries none, and the pages together hold what the total says. The cap itself (10,000,
then `totalCapped`) is tested in each service's tests, where ten thousand rows cost nothing."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import asyncpg
import httpx

from devstack.stack import Stack
from tests.e2e.helpers import org_user, unique_email, until
from tests.e2e.test_icps import icp_body
from tests.e2e.test_sequences import OPEN_WINDOW


def every_page(client: httpx.Client, path: str, items: str, *, next_key: str = "nextCursor", param: str = "cursor",
               **params: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:  # fmt: skip
    """The list's first page, and its rows over all its pages; each later page says no total."""
    first = client.get(path, params=params).json()
    rows, page = list(first[items]), first
    while page[next_key]:
        page = client.get(path, params={**params, param: page[next_key]}).json()
        assert (page["total"], page["totalCapped"]) == (None, False), f"{path}: a later page is not counted again"
        rows += page[items]
    return first, rows


def counted(first: dict[str, Any]) -> int:
    assert first["totalCapped"] is False
    return first["total"]


def send_email(client: httpx.Client, to: str, subject: str) -> dict[str, Any]:
    sent = client.post(
        "/v1/messages", json={"to": to, "subject": subject, "text": "Hello"}, headers={"idempotency-key": to}
    )
    assert sent.status_code in (200, 201, 202), sent.text
    return sent.json()


def call_sequence(client: httpx.Client, tag: str) -> dict[str, Any]:
    """An active sequence whose first step is a call task (made at once), then an email days later."""
    body = {
        "name": f"Calls {tag}",
        "window": OPEN_WINDOW,
        "steps": [
            {"channel": "call_task", "subjectTemplate": "Call {{ lead.firstName }}", "bodyTemplate": "Ask"},
            {"channel": "email", "delayAmount": 3, "delayUnit": "business_days", "subjectTemplate": "Hi",
             "bodyTemplate": "Any thoughts?"},
        ],
    }  # fmt: skip
    sequence = client.post("/v1/sequences", json=body)
    assert sequence.status_code == 201, sequence.text
    client.post(f"/v1/sequences/{sequence.json()['id']}/activate").raise_for_status()
    return sequence.json()


def new_leads(client: httpx.Client, count: int) -> list[str]:
    ids = []
    for n in range(count):
        body = {
            "email": unique_email("total"),
            "firstName": f"Total{n}",
            "lastName": "Lead",
            "companyName": "Acme",
            "phone": "+14155550142",
        }  # a phone: a call step makes a task only for a lead with a number to call
        created = client.post("/v1/leads", json=body)
        assert created.status_code == 201, created.text
        ids.append(created.json()["leadId"])
    return ids


def test_lead_runs_and_search_runs_are_counted_on_their_first_page(stack: Stack, base_url: str) -> None:
    with org_user(stack, base_url, "totals-runs") as user:
        c = user.client
        icp = c.post("/v1/icps", json=icp_body(minScore=0)).json()
        for _ in range(3):  # created, not started: they use no quota
            assert c.post("/v1/lead-runs", json={"icpId": icp["id"], "limit": 1}).status_code == 201
        first, runs = every_page(c, "/v1/lead-runs", "runs", limit=2)
        assert len(first["runs"]) == 2 and counted(first) == 3 == len({r["id"] for r in runs})

        for _ in range(3):  # forced: each a run of its own
            started = c.post(f"/v1/icps/{icp['id']}/search", json={"source": "sandbox", "limit": 5, "force": True})
            assert started.status_code == 202, started.text
        base = f"/v1/icps/{icp['id']}/search-runs"
        first, searches = every_page(c, base, "items", limit=2)
        assert len(first["items"]) == 2 and counted(first) == 3 == len({r["id"] for r in searches})
        created = [r["createdAt"] for r in searches]
        assert created == sorted(created, reverse=True)  # newest first, across the pages
        other = c.post("/v1/icps", json=icp_body(minScore=0)).json()
        assert counted(c.get(f"/v1/icps/{other['id']}/search-runs").json()) == 0  # the ICP's own runs only
        assert c.get(base, params={"cursor": "not-a-cursor"}).status_code == 422


def test_the_suppression_list_counts_its_search(stack: Stack, base_url: str) -> None:
    with org_user(stack, base_url, "totals-suppressed") as user:
        c = user.client
        tag = uuid.uuid4().hex[:6]
        for n in range(5):
            assert c.post("/v1/suppressions", json={"address": f"gone{n}-{tag}@example.com"}).status_code == 201
        assert c.post("/v1/suppressions", json={"address": f"kept-{tag}@example.org"}).status_code == 201
        first, rows = every_page(c, "/v1/suppressions", "suppressions", next_key="nextAfter", param="after", limit=2)
        assert counted(first) == 6 == len(rows)
        first, rows = every_page(c, "/v1/suppressions", "suppressions", next_key="nextAfter", param="after",
                                 limit=2, q="GONE")  # fmt: skip
        assert counted(first) == 5 == len(rows)  # the search counted as it lists: case aside
        assert counted(c.get("/v1/suppressions", params={"q": "nobody"}).json()) == 0


def test_the_inbox_and_the_captured_mail_count_the_org_s_own(stack: Stack, base_url: str) -> None:
    with org_user(stack, base_url, "totals-mail") as user:
        c = user.client
        tag = uuid.uuid4().hex[:6]
        for n in range(3):
            send_email(c, unique_email(f"reader{n}"), f"Counted {tag} {n}")
        # The captured mail is the org's own: another org's emails sent meanwhile are not counted.
        captured = until(
            lambda: (page := c.get("/v1/captured-mail", params={"limit": 2}).json())["total"] == 3 and page,
            30,
            "the three emails captured",
        )
        assert len(captured["mail"]) == 2 and captured["before"]
        later = c.get("/v1/captured-mail", params={"limit": 2, "before": captured["before"]}).json()
        assert (later["total"], len(later["mail"])) == (None, 1)

        first, threads = every_page(c, "/v1/inbox/threads", "threads", limit=2, filter="all")
        assert counted(first) == 3 == len(threads)
        assert first["counts"] == {"needsReply": 0, "unread": 0}
        for tab in ("needs_reply", "unread", "archived"):  # counted by the tab, as listed
            assert counted(c.get("/v1/inbox/threads", params={"filter": tab}).json()) == 0
        c.patch(f"/v1/inbox/threads/{threads[0]['id']}", json={"archived": True}).raise_for_status()
        assert counted(c.get("/v1/inbox/threads", params={"filter": "all"}).json()) == 2
        assert counted(c.get("/v1/inbox/threads", params={"filter": "archived"}).json()) == 1
        assert counted(c.get("/v1/inbox/threads", params={"channel": "sms"}).json()) == 0


def test_enrollments_and_tasks_are_counted_by_their_filters(stack: Stack, base_url: str) -> None:
    with org_user(stack, base_url, "totals-sequences") as user:
        c = user.client
        sequence = call_sequence(c, uuid.uuid4().hex[:6])
        leads = new_leads(c, 3)
        c.post(f"/v1/sequences/{sequence['id']}/enrollments", json={"leadIds": leads}).raise_for_status()
        base = f"/v1/sequences/{sequence['id']}/enrollments"
        first, rows = every_page(c, base, "enrollments", limit=2)
        assert counted(first) == 3 == len(rows)
        assert counted(c.get(base, params={"state": "active"}).json()) == 3
        assert counted(c.get(base, params={"state": "replied"}).json()) == 0
        assert counted(c.get(base, params={"leadId": leads[0]}).json()) == 1

        until(lambda: c.get("/v1/tasks").json()["total"] == 3, 30, "three call tasks")
        first, tasks = every_page(c, "/v1/tasks", "tasks", limit=2)
        assert counted(first) == 3 and sorted(t["leadId"] for t in tasks) == sorted(leads)
        c.post(f"/v1/tasks/{tasks[0]['id']}/complete").raise_for_status()
        assert counted(c.get("/v1/tasks").json()) == 2
        assert counted(c.get("/v1/tasks", params={"state": "done"}).json()) == 1
        assert counted(c.get("/v1/tasks", params={"sequenceId": sequence["id"]}).json()) == 2
        other = call_sequence(c, uuid.uuid4().hex[:6])
        assert counted(c.get("/v1/tasks", params={"sequenceId": other["id"]}).json()) == 0
        assert c.get("/v1/tasks", params={"cursor": "not-a-cursor"}).status_code == 422


def test_the_audit_log_counts_the_org_s_entries(stack: Stack, base_url: str) -> None:
    with org_user(stack, base_url, "totals-audit") as user:
        c = user.client
        for _ in range(3):
            assert c.post("/v1/invitations", json={"email": unique_email("invited")}).status_code == 201
        first, entries = every_page(c, "/v1/audit-log", "items", next_key="before", param="before", limit=2)
        assert counted(first) == 3 == len(entries)
        assert {e["action"] for e in entries} == {"invitation.created"}


def dead_letters(stack: Stack, org_id: str, moments: dict[str, list[dt.datetime]]) -> list[str]:
    """Failed jobs of the org written straight into each named service's own job table, created at the moments
    given (a dead letter made the long way takes every retry); their public ids, newest first as the list orders
    them: created_at, then the service's name, then the uuid."""

    async def write() -> list[tuple[dt.datetime, str, str]]:
        made = []
        for service, ats in moments.items():
            conn = await asyncpg.connect(stack.env[service]["DATABASE_URL"])
            try:
                for at in ats:
                    job_id = uuid.uuid4()
                    await conn.execute(
                        f"INSERT INTO {service}.job_executions (id, org_id, type, status, attempts, max_attempts,"
                        " payload, error, created_at, started_at, finished_at)"
                        " VALUES ($1, $2, $3, 'failed', 3, 3, '{}', 'gave up', $4, $4, $4)",
                        job_id, uuid.UUID(org_id), f"{service}.test", at,
                    )  # fmt: skip
                    made.append((at, service, str(job_id)))
            finally:
                await conn.close()
        return made

    # On a thread of its own: a browser test's thread already runs Playwright's event loop.
    with ThreadPoolExecutor(1) as thread:
        made = thread.submit(asyncio.run, write()).result()
    return [f"{service}.{job_id}" for _, service, job_id in sorted(made, reverse=True)]


def test_the_dead_letters_of_every_service_page_as_one_list_each_once(stack: Stack, base_url: str) -> None:
    """Dead letters in two services, four of them created in the same microsecond (two in each) and the rest in
    the same second: paged 1, 2, 3 and 7 at a time, every one comes once, newest first, on whichever page boundary,
    and the first page counts them all (the two services' counts added up), as the dashboard and the queue
    health do."""
    with org_user(stack, base_url, "totals-jobs") as user:
        c = user.client
        moment = dt.datetime.now(dt.UTC).replace(microsecond=500_000)
        tick = dt.timedelta(microseconds=1)
        expected = dead_letters(stack, c.get("/v1/me").json()["orgId"], {
            "leads": [moment, moment, moment + tick, moment - 100_000 * tick],
            "inbox": [moment, moment, moment + 2 * tick],
        })  # fmt: skip
        for limit in (1, 2, 3, 7):
            first, jobs = every_page(c, "/v1/jobs", "jobs", status="failed", limit=limit)
            assert counted(first) == 7 and first["unavailable"] == []
            assert [j["id"] for j in jobs] == expected, f"{limit} a page"
            assert {j["status"] for j in jobs} == {"failed"}
        assert every_page(c, "/v1/jobs", "jobs", status="failed", limit=7)[0]["nextCursor"] is None  # one page
        assert counted(c.get("/v1/jobs", params={"status": "completed"}).json()) == 0  # counted by the status
        assert c.get("/v1/jobs", params={"cursor": "not-a-cursor"}).status_code == 422
        # The queue health's and the dashboard's dead letters are the list's total, not one service's.
        assert c.get("/v1/operations/queue-health").json()["deadLetters"] == 7
        assert c.get("/v1/dashboard").json()["queue"]["deadLetters"] == 7


def test_the_sequences_list_pages_and_counts_by_state(stack: Stack, base_url: str) -> None:
    with org_user(stack, base_url, "totals-sequence-list") as user:
        c = user.client
        made = [call_sequence(c, uuid.uuid4().hex[:6])["id"] for _ in range(3)]
        c.post(f"/v1/sequences/{made[0]}/archive").raise_for_status()
        first, rows = every_page(c, "/v1/sequences", "sequences", limit=1)
        assert counted(first) == 2 and [s["id"] for s in rows] == made[:0:-1]  # newest first, the archived apart
        first, rows = every_page(c, "/v1/sequences", "sequences", limit=1, state="archived")
        assert counted(first) == 1 and [s["id"] for s in rows] == made[:1]
        assert counted(c.get("/v1/sequences", params={"state": "draft"}).json()) == 0
        assert c.get("/v1/sequences", params={"cursor": "not-a-cursor"}).status_code == 422
