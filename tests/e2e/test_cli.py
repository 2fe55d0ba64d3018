"""The `leadflood` command line as a terminal user runs it (the wrapper `make install` writes, in a process of
its own) against the real stack: sign in, see runs, their leads and receipts, find a dead letter, read it and
replay it; a refusal exits 1 saying why, a usage error 2, a gateway that is not there 3."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from devstack.ports import free_port
from devstack.stack import ROOT, Stack
from tests.e2e.helpers import org_user, until
from tests.e2e.test_icps import icp_body

WRAPPER = ROOT / ".venv" / "bin" / "leadflood"
FINISHED = {"completed", "failed", "cancelled"}


class Terminal:
    """A user's shell: their own home (so their own credentials file) and LEADFLOOD_URL pointing at the stack."""

    def __init__(self, home: Path, base_url: str) -> None:
        assert WRAPPER.is_file() and os.access(WRAPPER, os.X_OK), f"{WRAPPER} is missing: `make install` writes it"
        self.home = home
        self.env = {k: v for k, v in os.environ.items() if k != "XDG_CONFIG_HOME"} | {
            "HOME": str(home),
            "LEADFLOOD_URL": base_url,
        }

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(WRAPPER), *args], env=self.env, cwd=self.home, capture_output=True, text=True, timeout=60
        )

    def ok(self, *args: str) -> str:
        done = self.run(*args)
        assert done.returncode == 0, f"leadflood {' '.join(args)} exited {done.returncode}: {done.stderr}"
        return done.stdout

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "--json"))


@pytest.fixture
def user(stack: Stack, base_url: str) -> Iterator[tuple[str, str, httpx.Client]]:
    """A user of an org of their own (its runs, quotas and dead letters are the test's alone), and an API
    client signed in as them, for what the command line does not do (create a run)."""
    with org_user(stack, base_url, "cli") as made:
        yield made.email, made.password, made.client


def create_run(client: httpx.Client, **body: Any) -> dict[str, Any]:
    icp = client.post("/v1/icps", json=icp_body(minScore=0)).json()
    created = client.post("/v1/lead-runs", json={"icpId": icp["id"], "limit": 3} | body)
    assert created.status_code == 201, created.text
    return created.json()


def finished(client: httpx.Client, run_id: str) -> dict[str, Any]:
    return until(
        lambda: (run := client.get(f"/v1/lead-runs/{run_id}").json())["state"] in FINISHED and run,
        timeout_s=60,
        what=f"run {run_id} to finish",
    )


def test_sign_in_and_follow_a_run_to_its_receipts(
    tmp_path: Path, base_url: str, user: tuple[str, str, httpx.Client]
) -> None:
    email, password, client = user
    term = Terminal(tmp_path, base_url)
    assert term.ok("login", "--email", email, "--password", password).strip() == f"signed in to {base_url} as {email}"
    kept = tmp_path / ".config" / "leadflood" / "credentials.json"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600 and set(json.loads(kept.read_text())) == {base_url}

    assert term.ok("runs", "list").strip() == "no lead runs"
    assert term.json("runs", "list")["runs"] == []

    run = create_run(client, dryRun=True, channels={"email": "off", "call": True}, calendar={"enabled": True})
    shown = term.ok("runs", "show", run["id"])
    assert f"run:      {run['id']}" in shown and "state:    created" in shown and "diagnostics:" in shown
    listed = term.ok("runs", "list").splitlines()
    assert listed[0].split()[:3] == ["RUN", "ID", "STATE"] and listed[1].split()[:3] == [run["id"], "created", "yes"]

    assert term.ok("runs", "start", run["id"]).strip() == f"run {run['id']} started: running"
    done = finished(client, run["id"])
    assert done["state"] == "completed" and done["progress"]["total"] > 0, done
    assert term.json("runs", "show", run["id"]) == client.get(f"/v1/lead-runs/{run['id']}").json()
    shown = term.ok("runs", "show", run["id"])
    assert "state:    completed" in shown and f"sourced:           {done['progress']['sourced']}" in shown

    leads = term.json("runs", "leads", run["id"], "--status", "done")["leads"]
    assert len(leads) == done["progress"]["total"]
    table = term.ok("runs", "leads", run["id"]).splitlines()
    assert len(table) == 1 + len(leads) and {line.split()[0] for line in table[1:]} == {le["leadId"] for le in leads}
    assert term.ok("runs", "leads", run["id"], "--status", "failed").strip() == "no leads"

    receipts = term.ok("runs", "receipts", run["id"], leads[0]["leadId"]).splitlines()
    assert receipts[0].split()[:3] == ["KIND", "STATUS", "SIMULATED"]
    assert {tuple(line.split()[:3]) for line in receipts[1:]} == {
        ("meeting", "simulated", "yes"),
        ("call_task", "skipped", "yes"),  # the sandbox's leads have no phone to call
    }

    quota = term.ok("runs", "quota")
    assert "runs today:     1 of" in quota and "active runs:    0 of" in quota
    assert term.ok("alerts", "list").strip() == "no open alerts"
    assert "dead letters:" in term.ok("queue", "health")

    assert term.ok("logout").strip() == f"signed out of {base_url}"
    assert json.loads(kept.read_text()) == {}
    after = term.run("runs", "list")
    assert after.returncode == 1 and "leadflood login" in after.stderr


def test_a_dead_letter_is_listed_shown_and_replayed(
    tmp_path: Path, base_url: str, user: tuple[str, str, httpx.Client]
) -> None:
    email, password, client = user
    term = Terminal(tmp_path, base_url)
    term.ok("login", "--email", email, "--password", password)
    assert term.ok("dlq", "list").strip() == "no dead letters"

    run = create_run(client)
    assert client.delete(f"/v1/icps/{run['icpId']}").status_code == 204  # its sourcing job cannot find it
    started = term.json("runs", "start", run["id"])
    assert started["state"] == "running" and started["jobId"].startswith("runs.")
    job_id = started["jobId"]
    assert finished(client, run["id"])["state"] == "failed"

    dead = until(lambda: term.json("dlq", "list")["jobs"], what="the dead letter")
    assert [(j["id"], j["type"], j["status"]) for j in dead] == [(job_id, "runs.source", "failed")]
    row = term.ok("dlq", "list").splitlines()[1].split()
    assert row[:2] == [job_id, "runs.source"] and "ICP" in row

    shown = term.ok("dlq", "show", job_id)
    assert f"job:      {job_id}" in shown and "status:   failed" in shown and "ICP" in shown
    assert f'"runId": "{run["id"]}"' in shown  # the payload, pretty-printed

    replayed = term.ok("dlq", "replay", job_id)
    assert replayed.strip() == f"job {job_id} replayed: queued"
    # The run it belongs to has failed, so the replayed job stops again: a dead letter once more, never a 500.
    again = until(lambda: (j := term.json("dlq", "show", job_id))["status"] == "failed" and j, what="failed again")
    assert again["id"] == job_id


def test_a_refusal_exits_1_a_usage_error_2_and_no_gateway_3(
    tmp_path: Path, base_url: str, user: tuple[str, str, httpx.Client]
) -> None:
    email, password, _ = user
    term = Terminal(tmp_path, base_url)
    wrong = term.run("login", "--email", email, "--password", "not-the-password")
    assert wrong.returncode == 1 and wrong.stderr.strip() == "error (401): wrong email or password"
    term.ok("login", "--email", email, "--password", password)

    unknown = f"runs.{uuid.uuid4()}"
    missing = term.run("dlq", "show", unknown)
    assert missing.returncode == 1 and missing.stdout == ""
    assert missing.stderr.startswith("error (404): ") and unknown in missing.stderr
    assert json.loads(term.run("dlq", "replay", unknown, "--json").stderr)["status"] == 404

    bad_id = term.run("runs", "show", "not-a-run")
    assert bad_id.returncode == 1 and bad_id.stderr.startswith("error (")

    for usage in (["runs", "launch"], ["dlq", "list", "--limit", "0"], []):
        done = term.run(*usage)
        assert done.returncode == 2 and "usage: leadflood" in done.stderr, usage

    nowhere = f"http://127.0.0.1:{free_port()}"
    down = term.run("--url", nowhere, "runs", "list")
    assert down.returncode == 3 and nowhere in down.stderr and "make run" in down.stderr


def test_an_internal_teams_credential_is_created_listed_and_revoked_from_the_terminal(
    tmp_path: Path, base_url: str, user: tuple[str, str, httpx.Client]
) -> None:
    email, password, _ = user
    term = Terminal(tmp_path, base_url)
    term.ok("login", "--email", email, "--password", password)
    assert term.ok("credentials", "list").strip() == "no internal credentials"
    created = term.ok("credentials", "create", "--team", "billing", "--scope", "leads:read", "--scope", "runs:*")
    fields = dict(line.split(":", 1) for line in created.splitlines() if ":" in line and not line.startswith("The "))
    client_id, secret = fields["client id"].strip(), fields["client secret"].strip()
    assert fields["scopes"].strip() == "leads:read,runs:*" and secret.startswith("lfic_")
    grant = {"grant_type": "client_credentials"}
    token = httpx.post(f"{base_url}/v1/oauth/token", data=grant, auth=(client_id, secret))
    assert token.status_code == 200 and token.json()["scope"] == "leads:read runs:*"
    listed = term.ok("credentials", "list").splitlines()
    assert listed[0].split()[:2] == ["CLIENT", "ID"] and listed[1].split()[:2] == [client_id, "billing"]
    assert secret not in term.ok("credentials", "list", "--json")
    assert "revoked" in term.ok("credentials", "revoke", client_id)
    again = httpx.post(f"{base_url}/v1/oauth/token", data=grant, auth=(client_id, secret))
    assert again.status_code == 401
    refused = term.run("credentials", "create", "--team", "billing", "--scope", "mail:send")
    assert refused.returncode == 1 and "mail:send" in refused.stderr
