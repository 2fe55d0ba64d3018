"""The restore drill (devstack/drill_restore.py): its verdict (a restore that lost, added or changed anything the
manifest describes is reported, naming what; one that matches is not), and the drill on a stopped stack, whose
PostgreSQL it starts and stops again. The drill on a running stack is tests/restore."""

from __future__ import annotations

import asyncio
import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import asyncpg

from devstack.drill_restore import differences
from devstack.ports import free_port
from devstack.postgres import LocalPostgres, bootstrap_database, role_dsn, service_role
from devstack.secrets import LocalSecrets
from devstack.stack import DATABASE, ROOT

MANIFEST: dict[str, Any] = {
    "schemas": {
        "leads": {"leads": {"rows": 3, "sample": ["a1", "b2", "c3"]}, "outbox": {"rows": 0, "sample": []}},
        "gateway": {"users": {"rows": 1, "sample": ["d4"]}},
    },
    "sequences": {"leads.outbox_id_seq": 42},
    "roles": ["gateway_svc", "leads_svc"],
}


def restored(change: Any = None) -> dict[str, Any]:
    found = copy.deepcopy(MANIFEST)
    if change:
        change(found)
    return found


def test_a_restore_that_matches_the_manifest_has_no_differences() -> None:
    assert differences(MANIFEST, restored()) == []


def test_each_kind_of_loss_or_change_is_named() -> None:
    def row_lost(found: dict[str, Any]) -> None:
        found["schemas"]["leads"]["leads"] = {"rows": 2, "sample": ["a1", "b2"]}

    def row_changed(found: dict[str, Any]) -> None:
        found["schemas"]["leads"]["leads"]["sample"][1] = "zz"

    def table_lost(found: dict[str, Any]) -> None:
        del found["schemas"]["leads"]["outbox"]

    def schema_lost(found: dict[str, Any]) -> None:
        del found["schemas"]["gateway"]

    def sequence_behind(found: dict[str, Any]) -> None:
        found["sequences"]["leads.outbox_id_seq"] = 1

    def table_added(found: dict[str, Any]) -> None:
        found["schemas"]["leads"]["stray"] = {"rows": 0, "sample": []}

    assert differences(MANIFEST, restored(row_lost)) == ["leads.leads has 2 rows, the backup 3"]
    assert differences(MANIFEST, restored(row_changed)) == ["leads.leads: sampled rows differ from the backup's"]
    assert differences(MANIFEST, restored(table_lost)) == ["table leads.outbox is missing"]
    assert differences(MANIFEST, restored(schema_lost)) == ["schema gateway is missing"]
    assert differences(MANIFEST, restored(sequence_behind)) == ["sequence leads.outbox_id_seq at 1, the backup 42"]
    assert differences(MANIFEST, restored(table_added)) == ["leads.stray was not in the backup"]


async def _seed(admin_dsn: str, password: str) -> None:
    """The stack's database with one service schema holding three rows, written by the service's own role."""
    await bootstrap_database(admin_dsn, DATABASE, {"leads": password})
    host_port = admin_dsn.split("@", 1)[1].split("/", 1)[0]
    host, port = host_port.rsplit(":", 1)
    conn = await asyncpg.connect(role_dsn(host, int(port), DATABASE, service_role("leads"), password))
    try:
        await conn.execute("CREATE TABLE leads.items (id serial PRIMARY KEY, name text)")
        await conn.execute("INSERT INTO leads.items (name) VALUES ('ada'), ('grace'), ('edsger')")
    finally:
        await conn.close()


def test_the_drill_on_a_stopped_stack_starts_its_postgresql_and_stops_it_after(world_dir: Path) -> None:
    state = world_dir / "state"
    secrets = LocalSecrets.load_or_create(state / "secrets.json")
    postgres = LocalPostgres(state / "postgres", free_port(), secrets.admin_password, durable=False)
    postgres.start()
    try:
        asyncio.run(_seed(postgres.admin_dsn(), secrets.role_password(service_role("leads"))))
    finally:
        postgres.stop()  # as after `make run` was stopped

    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    done = subprocess.run(
        [sys.executable, "-m", "devstack.drill_restore", "drill", "--state-dir", str(state)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert {line["schema"]: line["rows"] for line in lines if line["msg"] == "verified"}["leads"] == 3
    assert [line["roles"] for line in lines if line["msg"] == "service roles let in again"] == [["leads_svc"]]
    assert not postgres.is_running()
