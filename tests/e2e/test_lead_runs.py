"""Lead runs over HTTP, on the real stack: a run books each lead a meeting and emails it once (the SMTP server
and the calendar counting), a dry run leaves nothing, twenty simultaneous starts admit exactly the cap, failed
runs raise an alert that escalates to the webhook, a worker killed mid-run leaves no duplicate, and a worker
paused past its lease wakes to find it cannot commit what it did."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import asyncpg
import httpx

from devstack.stack import ROOT, Stack
from tests.e2e.helpers import assert_problem, org_user, until
from tests.e2e.test_icps import icp_body
from tests.fakes.google_calendar import FakeGoogleCalendar
from tests.fakes.slack import FakeSlack
from tests.fakes.smtp_witness import Witness

FINISHED = {"completed", "failed", "cancelled"}


@contextmanager
def new_org(stack: Stack, base_url: str) -> Iterator[httpx.Client]:
    """A client signed in to an org of its own: its quotas and alerts are the test's alone."""
    with org_user(stack, base_url, "runs") as made:
        yield made.client


def witness_mailbox(client: httpx.Client, port: int) -> str:
    """The org's first mailbox, so its default: every run email goes to the witness SMTP server."""
    created = client.post(
        "/v1/mailboxes",
        json={"fromAddress": f"runs-{uuid.uuid4().hex[:8]}@acme.example.com", "fromName": "Runs",
              "smtpHost": "127.0.0.1", "smtpPort": port, "smtpStarttls": False, "dailyCap": 5000},
    )  # fmt: skip
    assert created.status_code == 201, created.text
    return created.json()["id"]


def make_run(client: httpx.Client, **body: Any) -> dict[str, Any]:
    icp = client.post("/v1/icps", json=icp_body(minScore=0)).json()
    created = client.post("/v1/lead-runs", json={"icpId": icp["id"], "limit": 5} | body)
    assert created.status_code == 201, created.text
    return created.json()


def finished(client: httpx.Client, run_id: str, timeout_s: float = 60) -> dict[str, Any]:
    return until(
        lambda: (run := client.get(f"/v1/lead-runs/{run_id}").json())["state"] in FINISHED and run,
        timeout_s=timeout_s,
        what=f"run {run_id} to finish",
    )


def all_receipts(client: httpx.Client, run_id: str) -> dict[str, list[dict[str, Any]]]:
    leads = client.get(f"/v1/lead-runs/{run_id}/leads", params={"limit": 200}).json()["leads"]
    return {
        lead["leadId"]: client.get(f"/v1/lead-runs/{run_id}/leads/{lead['leadId']}/receipts").json()["receipts"]
        for lead in leads
    }


def test_a_run_books_a_meeting_and_emails_each_lead_once(
    stack: Stack,
    base_url: str,
    witness: tuple[Witness, int],
    fake_calendar: FakeGoogleCalendar,
) -> None:
    handler, port = witness
    with new_org(stack, base_url) as client:
        witness_mailbox(client, port)
        run = make_run(client, limit=6, calendar={"enabled": True, "provider": "google", "windowDays": 14})
        assert run["state"] == "created" and run["progress"]["total"] == 0
        started = client.post(f"/v1/lead-runs/{run['id']}/jobs")
        assert started.status_code == 202, started.text
        assert started.json()["state"] == "running" and started.json()["jobId"].startswith("runs.")
        done = finished(client, run["id"])
        assert done["state"] == "completed", done
        progress = done["progress"]
        assert progress["total"] == progress["done"] > 0
        assert progress["booked"] == progress["total"] and progress["sent"] == progress["withEmail"]
        assert progress["withEmail"] + progress["withoutEmail"] == progress["total"]

        receipts = all_receipts(client, run["id"])
        assert len(receipts) == progress["total"]
        for lead_receipts in receipts.values():
            kinds = {(r["kind"], r["status"]) for r in lead_receipts}
            assert ("meeting", "booked") in kinds, lead_receipts
            assert ("email", "sent") in kinds or ("email", "skipped") in kinds, lead_receipts
            booked = next(r for r in lead_receipts if r["kind"] == "meeting")
            assert booked["target"].startswith("https://") and not booked["simulated"]
        # The witnesses: one event per lead in the calendar, one email per lead at the SMTP server.
        ids = {r["target"] for rs in receipts.values() for r in rs if (r["kind"], r["status"]) == ("email", "sent")}
        until(lambda: len(handler.accepted) >= len(ids), what="every email at the SMTP server")
        assert len(handler.accepted) == len(set(handler.accepted)) == len(ids)
        events = [e for e in fake_calendar.inserted if run["id"] in e.body.get("description", "")]
        assert len(events) == len({e.event_id for e in events}) == progress["total"]

        again = client.post(f"/v1/lead-runs/{run['id']}/jobs")  # a finished run is not started again
        assert_problem(again, 409)


def test_a_dry_run_sends_and_books_nothing_and_says_simulated(
    stack: Stack,
    base_url: str,
    witness: tuple[Witness, int],
    fake_calendar: FakeGoogleCalendar,
) -> None:
    handler, port = witness
    with new_org(stack, base_url) as client:
        witness_mailbox(client, port)
        events_before = len(fake_calendar.inserted)
        run = make_run(
            client, limit=4, dryRun=True, channels={"email": "send", "call": True},
            calendar={"enabled": True, "provider": "google", "windowDays": 14},
        )  # fmt: skip
        assert client.post(f"/v1/lead-runs/{run['id']}/jobs").status_code == 202
        done = finished(client, run["id"])
        assert done["state"] == "completed" and done["dryRun"]
        receipts = [r for rs in all_receipts(client, run["id"]).values() for r in rs]
        assert receipts and all(r["simulated"] for r in receipts)
        assert {r["kind"] for r in receipts} == {"meeting", "email", "call_task"}
        assert {r["status"] for r in receipts} <= {"simulated", "skipped"}  # skipped: a lead without an email
    assert len(fake_calendar.inserted) == events_before
    assert handler.accepted == []


def test_twenty_simultaneous_starts_admit_exactly_the_cap_and_the_rest_get_429(stack: Stack, base_url: str) -> None:
    with new_org(stack, base_url) as client:
        runs = [make_run(client, limit=10) for _ in range(20)]

        def start(run: dict[str, Any]) -> httpx.Response:
            return client.post(f"/v1/lead-runs/{run['id']}/jobs")

        with ThreadPoolExecutor(20) as pool:
            replies = list(pool.map(start, runs))
        statuses = Counter(reply.status_code for reply in replies)
        assert statuses == {202: 3, 429: 17}, statuses
        refused = assert_problem(next(r for r in replies if r.status_code == 429), 429)
        assert refused["limit"] == "LEAD_RUNS_MAX_ACTIVE_RUNS" and refused["max"] == 3 and refused["current"] == 3
        admitted = {r.json()["id"] for r in replies if r.status_code == 202}
        assert set(refused["activeRunIds"]) == admitted
        quota = client.get("/v1/lead-runs/quota").json()
        assert quota["maxActiveRuns"] == 3 and quota["runsToday"] == 3 and quota["leadsToday"] <= 30

        # A cancelled run frees its slot at once.
        first = sorted(admitted)[0]
        cancelled = client.post(f"/v1/lead-runs/{first}/cancel")
        if cancelled.status_code == 409:  # its ten leads were done first (a quiet machine): its slot is free already
            assert client.get(f"/v1/lead-runs/{first}").json()["state"] in FINISHED
        else:
            assert cancelled.json()["state"] == "cancelled", cancelled.text
        waiting = next(run for run in runs if run["id"] not in admitted)
        assert client.post(f"/v1/lead-runs/{waiting['id']}/jobs").status_code in (202, 429)
        for run in runs:  # leave the org quiet
            client.post(f"/v1/lead-runs/{run['id']}/cancel")


def test_failed_runs_raise_one_alert_that_escalates_to_the_webhook(
    stack: Stack, base_url: str, fake_slack: FakeSlack
) -> None:
    with new_org(stack, base_url) as client:
        failed = []
        for _ in range(2):  # LEAD_RUN_FAILURE_ALERT_THRESHOLD
            run = make_run(client)
            assert client.delete(f"/v1/icps/{run['icpId']}").status_code == 204  # its sourcing cannot find it
            assert client.post(f"/v1/lead-runs/{run['id']}/jobs").status_code == 202
            done = finished(client, run["id"])
            assert done["state"] == "failed" and "ICP" in done["error"], done
            failed.append(run["id"])
        alert = until(lambda: next(iter(client.get("/v1/lead-runs/alerts").json()["alerts"]), None), what="the alert")
        assert alert["kind"] == "run_failures" and set(alert["runIds"]) == set(failed)
        escalated = until(
            lambda: (a := client.get("/v1/lead-runs/alerts").json()["alerts"][0])["escalatedAt"] and a,
            what="the escalation",
        )
        assert escalated["escalationStatus"] == "sent" and escalated["escalationRoute"] == "127.0.0.1"
        posted = [m for m in fake_slack.messages if m["alert"]["id"] == alert["id"]]
        assert len(posted) == 1 and "lead runs failed" in posted[0]["text"]

        assert client.post(f"/v1/lead-runs/alerts/{alert['id']}/acknowledge").json()["state"] == "acknowledged"
        assert client.post(f"/v1/lead-runs/alerts/{alert['id']}/resolve").json()["state"] == "resolved"
        assert client.get("/v1/lead-runs/alerts").json()["alerts"] == []
        assert_problem(client.post(f"/v1/lead-runs/alerts/{alert['id']}/resolve"), 409)


def test_bad_runs_are_refused_with_a_problem(stack: Stack, base_url: str) -> None:
    with new_org(stack, base_url) as client:
        icp = client.post("/v1/icps", json=icp_body()).json()
        assert_problem(client.post("/v1/lead-runs", json={"icpId": str(uuid.uuid4())}), 404)
        body = assert_problem(client.post("/v1/lead-runs", json={"icpId": icp["id"], "limit": 0}), 422)
        assert body["errors"][0]["field"] == "limit"
        avatar = {"icpId": icp["id"], "channels": {"avatar": True}}
        assert assert_problem(client.post("/v1/lead-runs", json=avatar), 422)["errors"][0]["field"] == "channels.avatar"
        template = {"icpId": icp["id"], "email": {"body": "Hi {{ lead.nickname }}"}}
        assert assert_problem(client.post("/v1/lead-runs", json=template), 422)["errors"][0]["field"] == "email.body"
        assert_problem(client.get(f"/v1/lead-runs/{uuid.uuid4()}"), 404)
        assert_problem(client.get("/v1/lead-runs/not-a-run"), 404)


def test_a_worker_killed_mid_booking_resumes_and_every_side_effect_happens_once(
    stack: Stack,
    base_url: str,
    witness: tuple[Witness, int],
    fake_calendar: FakeGoogleCalendar,
) -> None:
    handler, port = witness
    with new_org(stack, base_url) as client:
        witness_mailbox(client, port)
        run = make_run(client, limit=8, calendar={"enabled": True, "provider": "google", "windowDays": 14})
        fake_calendar.hold_inserts()  # the first booking stops inside the calendar's API, the event not made yet
        try:
            assert client.post(f"/v1/lead-runs/{run['id']}/jobs").status_code == 202
            assert fake_calendar.holding.wait(60), "no booking reached the calendar"
            stack.supervisor.kill("runs-worker")  # kill -9 mid-booking: a lead leased, its booking in flight
        finally:
            # The held insert now goes through: the event exists, but the worker that asked is gone (a lost reply).
            fake_calendar.release_inserts()
        stack.start_worker("runs")
        done = finished(client, run["id"], timeout_s=90)
        assert done["state"] == "completed", done
        progress = done["progress"]
        assert progress["staleRecoveries"] >= 1  # the killed worker's leads came back through their leases
        assert progress["booked"] == progress["total"] > 0

        # The independent witnesses: one calendar event per lead, one email per lead with an address.
        events = [e for e in fake_calendar.inserted if run["id"] in e.body.get("description", "")]
        assert len(events) == len({e.event_id for e in events}) == progress["total"]
        receipts = all_receipts(client, run["id"])
        sent = [r for rs in receipts.values() for r in rs if (r["kind"], r["status"]) == ("email", "sent")]
        assert len(sent) == progress["withEmail"]
        until(lambda: len(handler.accepted) >= len(sent), what="every email at the SMTP server")
        assert len(handler.accepted) == len(set(handler.accepted)) == len(sent)
        for lead_receipts in receipts.values():
            assert Counter(r["kind"] for r in lead_receipts if r["status"] != "no_slot")["meeting"] == 1


def _leases_lost(stack: Stack) -> float:
    text = httpx.get(stack.metrics_url("runs-worker"), timeout=5).text
    return sum(
        float(line.split()[-1]) for line in text.splitlines() if line.startswith("leadflood_runs_leases_lost_total")
    )


async def _held_by(stack: Stack, worker_pid: int) -> int:
    """Leads whose lease the worker process holds now (a worker's name ends in its pid)."""
    conn = await asyncpg.connect(stack.env["runs"]["DATABASE_URL"])
    try:
        return await conn.fetchval(
            "SELECT count(*) FROM run_leads WHERE status = 'running' AND leased_by LIKE $1", f"%:{worker_pid}"
        )
    finally:
        await conn.close()


def test_a_worker_paused_past_its_lease_cannot_commit_its_stale_result(
    stack: Stack,
    base_url: str,
    witness: tuple[Witness, int],
    fake_calendar: FakeGoogleCalendar,
) -> None:
    """SIGSTOP, as a long GC pause or a frozen VM: its leases expire (LEAD_RUNS_LEASE_S=4 in the tests), another
    worker takes its leads and finishes the run; on SIGCONT its in-flight work ends at the lease fence."""
    handler, port = witness
    paused = stack.supervisor.pid("runs-worker")
    assert paused is not None
    rescuer = "runs-worker-rescuer"
    with new_org(stack, base_url) as client:
        witness_mailbox(client, port)
        run = make_run(client, limit=6, calendar={"enabled": True, "provider": "google", "windowDays": 14})
        lost_before = _leases_lost(stack)
        fake_calendar.hold_inserts()  # the worker's first booking waits inside the calendar's API
        try:
            assert client.post(f"/v1/lead-runs/{run['id']}/jobs").status_code == 202
            assert fake_calendar.holding.wait(60), "no booking reached the calendar"
            held = until(lambda: asyncio.run(_held_by(stack, paused)), what="the worker's leases")
            os.killpg(paused, signal.SIGSTOP)
        finally:
            fake_calendar.release_inserts()  # the event is made; its reply waits for a worker that is not running
        try:
            # The only other worker: it sweeps the expired leases back and redoes their leads.
            stack.supervisor.start(
                rescuer, [sys.executable, "-m", "runs", "worker"], stack.env["runs"] | {"METRICS_PORT": "0"}, cwd=ROOT
            )
            done = finished(client, run["id"], timeout_s=90)
        finally:
            os.killpg(paused, signal.SIGCONT)
            stack.supervisor.forget(rescuer)  # not a process of the stack's: later tests must not see it dead
        assert done["state"] == "completed" and done["progress"]["staleRecoveries"] >= held, done
        # The woken worker reaches the fence with each lead it held, and writes nothing (its own count says so).
        until(lambda: _leases_lost(stack) >= lost_before + held, timeout_s=30, what="the paused worker's lost leases")
        after = client.get(f"/v1/lead-runs/{run['id']}").json()["progress"]
        counts = ("total", "done", "failed", "booked", "sent")
        assert [after[k] for k in counts] == [done["progress"][k] for k in counts]  # the woken worker changed none

        # The independent witnesses: one calendar event per lead, one email per lead with an address.
        progress = done["progress"]
        events = [e for e in fake_calendar.inserted if run["id"] in e.body.get("description", "")]
        assert len(events) == len({e.event_id for e in events}) == progress["total"] == progress["booked"]
        receipts = all_receipts(client, run["id"])
        sent = [r for rs in receipts.values() for r in rs if (r["kind"], r["status"]) == ("email", "sent")]
        assert len(sent) == progress["withEmail"]
        until(lambda: len(handler.accepted) >= len(sent), what="every email at the SMTP server")
        assert len(handler.accepted) == len(set(handler.accepted)) == len(sent)
        for lead_receipts in receipts.values():
            assert Counter(r["kind"] for r in lead_receipts if r["status"] != "no_slot")["meeting"] == 1


def test_a_run_email_that_keeps_failing_is_one_dead_letter_and_replayed_twice_is_sent_once(
    stack: Stack, base_url: str, witness: tuple[Witness, int]
) -> None:
    """The poison job: the run's email, handed to the mail room, meets a server that defers every try (451). It is
    tried the configured number of times, dead-lettered once; two replays at once send it once (the SMTP server
    counts)."""
    handler, port = witness
    with new_org(stack, base_url) as client:
        witness_mailbox(client, port)
        handler.busy = True
        run = make_run(client, limit=3)
        assert client.post(f"/v1/lead-runs/{run['id']}/jobs").status_code == 202
        assert finished(client, run["id"])["state"] == "completed"  # the run's part: handed to the mail room
        sent = [
            r["target"]
            for rs in all_receipts(client, run["id"]).values()
            for r in rs
            if (r["kind"], r["status"]) == ("email", "sent")
        ]
        assert sent, "no lead with an email"
        message_id = sent[0]
        message = until(
            lambda: (m := client.get(f"/v1/messages/{message_id}").json())["status"] == "failed" and m,
            timeout_s=60,
            what="the email to fail",
        )

        def dead_letters() -> list[dict[str, Any]]:
            jobs = client.get("/v1/jobs", params={"status": "failed"}).json()["jobs"]
            return [j for j in jobs if j["payload"].get("messageId") == message_id]

        [dead] = until(dead_letters, what="the dead letter")
        assert dead["attempts"] == dead["maxAttempts"] > 1  # every try the configuration allows, and no more
        assert message["attempts"][-1]["result"] == "failed"
        assert handler.accepted.count(message["messageId"]) == 0

        handler.busy = False
        with ThreadPoolExecutor(2) as pool:  # replayed twice, at once
            replies = list(pool.map(lambda _: client.post(f"/v1/jobs/{dead['id']}/replay"), range(2)))
        assert sorted(r.status_code for r in replies) in ([202, 202], [202, 409]), [r.text for r in replies]
        until(lambda: client.get(f"/v1/messages/{message_id}").json()["status"] == "sent", what="sent on replay")
        until(lambda: client.get(f"/v1/jobs/{dead['id']}").json()["status"] == "completed", what="the job completed")
        assert_problem(client.post(f"/v1/jobs/{dead['id']}/replay"), 409)  # a third: only a failed job is replayed
        until(lambda: handler.accepted.count(message["messageId"]) >= 1, what="the email at the SMTP server")
        assert handler.accepted.count(message["messageId"]) == 1
        assert len(dead_letters()) == 0


def test_the_queue_health_is_served_over_http_and_as_prometheus_metrics(stack: Stack, base_url: str) -> None:
    with new_org(stack, base_url) as client:
        run = make_run(client, limit=3, dryRun=True)
        assert client.post(f"/v1/lead-runs/{run['id']}/jobs").status_code == 202
        assert finished(client, run["id"])["state"] == "completed"
        health = client.get("/v1/operations/queue-health").json()
        assert health["pending"] == 0 and health["breached"] is False
        assert health["workers"] and health["workers"][0]["lastHeartbeatAt"]
        metrics_url = stack.metrics_url("runs-worker")
        scraped = until(
            lambda: "leadflood_runs_queue_pending" in (text := httpx.get(metrics_url).text) and text,
            what="the sweep's queue metrics",
        )
        worked = [line for line in scraped.splitlines() if line.startswith("leadflood_runs_leads_worked_total")]
        assert any('outcome="done"' in line for line in worked), worked


def test_only_a_failed_lead_can_be_tried_again(stack: Stack, base_url: str) -> None:
    with new_org(stack, base_url) as client:
        run = make_run(client, limit=2, dryRun=True)
        assert client.post(f"/v1/lead-runs/{run['id']}/jobs").status_code == 202
        assert finished(client, run["id"])["state"] == "completed"
        [lead, *_] = client.get(f"/v1/lead-runs/{run['id']}/leads").json()["leads"]
        refused = assert_problem(client.post(f"/v1/lead-runs/{run['id']}/leads/{lead['leadId']}/retry"), 409)
        assert "only a failed lead" in refused["detail"]
        assert_problem(client.post(f"/v1/lead-runs/{run['id']}/leads/{uuid.uuid4()}/retry"), 404)
