"""The backup and restore drill (`make drill-restore`, devstack/drill_restore.py) on the test session's stack, its
services running throughout: a backup restored over the live database brings back exactly what it held (what was
written after it is gone, what was before is there, every service schema verified), the services carry on on the
restored data, and the drill passes end to end.

tests/restore sorts after every other test folder, so this runs on a database the whole suite has filled, at the end
of the session; a test running after it would see the backup's data, which is what a restore is for.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from devstack.stack import ROOT, Stack
from tests.e2e.helpers import unique_email, until
from tests.e2e.test_icps import icp_body

# Generous: the machine is shared with other test runs; the drill itself takes a few seconds.
DEADLINE_S = 120


def drill_restore(stack: Stack, *args: str) -> list[dict[str, Any]]:
    """`python -m devstack.drill_restore ARGS` on the stack's state folder (unless ARGS name a --database-url), as
    `make drill-restore` runs it; its progress lines, once it has succeeded."""
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}  # the stack's own server
    done = subprocess.run(
        [sys.executable, "-m", "devstack.drill_restore", *args, "--state-dir", str(stack.config.state_dir)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=DEADLINE_S, check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def verified_schemas(lines: list[dict[str, Any]]) -> dict[str, int]:
    return {line["schema"]: line["rows"] for line in lines if line["msg"] == "verified"}


@pytest.fixture
def client(base_url: str) -> Iterator[httpx.Client]:
    """Signed in now: the session's demo token, taken at its start, may have expired in a long run."""
    login = httpx.post(f"{base_url}/v1/auth/login", json={"email": "demo@leadflood.local", "password": "demo"})
    login.raise_for_status()
    headers = {"authorization": f"Bearer {login.json()['accessToken']}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=30) as http:
        yield http


def test_a_backup_restored_over_the_live_database_brings_back_exactly_what_it_held(
    stack: Stack, client: httpx.Client
) -> None:
    # Written as a user writes, in several services' schemas (the suite before has filled them all): an ICP, a
    # lead (and its enrichment job), a suppression in the mail room.
    assert client.post("/v1/icps", json=icp_body()).status_code == 201
    kept = client.post("/v1/leads", json={"email": unique_email("kept"), "firstName": "Ke", "lastName": "Pt"})
    assert kept.status_code == 201, kept.text
    assert client.post("/v1/suppressions", json={"address": unique_email("suppressed")}).status_code == 201

    dump = stack.config.state_dir / "backups" / "before.dump"
    # By the server's admin URL (as for a database the stack does not run); the restore below by the state folder.
    assert stack.postgres is not None
    backed_up = drill_restore(stack, "backup", "--out", str(dump), "--database-url", stack.postgres.admin_dsn())
    assert dump.stat().st_size > 0 and any(line["msg"] == "backed up" for line in backed_up)

    after = client.post("/v1/leads", json={"email": unique_email("after"), "firstName": "Af", "lastName": "Ter"})
    assert after.status_code == 201, after.text
    dead_before = stack.dead_processes()  # an earlier test's kill is not the restore's doing
    restored = drill_restore(stack, "restore", str(dump))

    # Every schema the stack has was compared with the backup's counts and sampled rows, and matched.
    schemas = verified_schemas(restored)
    assert {service.name for service in stack.services} | {"gateway"} <= schemas.keys()
    assert schemas["leads"] > 0 and schemas["icp"] > 0 and schemas["inbox"] > 0 and schemas["gateway"] > 0
    assert not [line for line in restored if line["msg"] == "differs"]

    # The services carry on, on the backup's data: the lead written after it is gone, the one before is back, and
    # a new write goes through; no process died of its database going away.
    def gone() -> bool:
        return client.get(f"/v1/leads/{after.json()['leadId']}").status_code == 404

    until(gone, DEADLINE_S, "the services to serve the restored database")
    assert client.get(f"/v1/leads/{kept.json()['leadId']}").status_code == 200
    again = client.post("/v1/leads", json={"email": unique_email("again"), "firstName": "Ag", "lastName": "Ain"})
    assert again.status_code == 201, again.text
    assert stack.dead_processes() == dead_before

    # The drill itself, as `make drill-restore` runs it: backup, wipe, restore, verify.
    started = time.monotonic()
    drilled = drill_restore(stack, "drill")
    assert any(line["msg"].startswith("drill passed") for line in drilled), drilled
    assert verified_schemas(drilled).keys() == schemas.keys()
    assert time.monotonic() - started < DEADLINE_S
