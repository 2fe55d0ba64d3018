"""The backup and restore drill: dump the stack's database, wipe it, restore it, and prove every schema came back.

    python -m devstack.drill_restore [drill]        # `make drill-restore`: backup, wipe, restore, verify
    python -m devstack.drill_restore backup         # a dump and its manifest under <state dir>/backups
    python -m devstack.drill_restore restore FILE   # wipe, restore FILE, verify against its manifest

The database is the local stack's (`make run`'s, in .local; PostgreSQL is started for the drill if it is not
running) or the server an admin URL names (--database-url, else DATABASE_URL, as the stack itself reads it).

A backup is pg_dump's custom format plus a manifest: for every table of every schema, its row count and a sample of
its rows (a hash of each, so the manifest holds no data), every sequence's position, and the roles owning the
schemas. Both come from one snapshot (pg_dump --snapshot), so they describe the same instant even while the
services write. A restore blocks those roles from logging in, drops the database (ending the services'
sessions), restores it with pg_restore --create (the database's grants come with it), compares it with the
manifest, and lets the roles in again: the services reconnect to the restored data, which nothing wrote to
before it was verified. Progress goes to stdout as JSON lines.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import asyncpg

from devstack.ports import free_port
from devstack.postgres import LocalPostgres, find_pg_bindir
from devstack.secrets import LocalSecrets
from devstack.stack import DATABASE, ROOT
from leadflood_platform import logs

log = logging.getLogger("devstack.drill_restore")

STATE_DIR = ROOT / ".local"
# Rows sampled per table: the same rows are found again after a restore (chosen by their content's hash), so a
# lost, added or altered row among them shows.
SAMPLE_ROWS = 10
MANIFEST_SUFFIX = ".manifest.json"

SCHEMAS = """
SELECT nspname FROM pg_namespace
WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema' ORDER BY 1
"""
TABLES = """
SELECT n.nspname AS schema, c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema' ORDER BY 1, 2
"""
SEQUENCES = "SELECT schemaname, sequencename, last_value FROM pg_sequences ORDER BY 1, 2"
# The services' own roles: those owning a schema of the database (each service owns its one schema).
OWNER_ROLES = """
SELECT DISTINCT r.rolname FROM pg_namespace n JOIN pg_roles r ON r.oid = n.nspowner
WHERE r.rolcanlogin AND NOT r.rolsuper ORDER BY 1
"""


def quoted(*names: str) -> str:
    return ".".join('"' + name.replace('"', '""') + '"' for name in names)


async def inventory(conn: asyncpg.Connection) -> dict[str, Any]:
    """What the database holds, as the connection's snapshot sees it: per schema, each table's row count and
    sample; each sequence's last value; the login roles owning schemas."""
    schemas: dict[str, dict[str, Any]] = {row["nspname"]: {} for row in await conn.fetch(SCHEMAS)}
    for row in await conn.fetch(TABLES):
        table = quoted(row["schema"], row["name"])  # names from the catalog, quoted: safe to splice in
        count = await conn.fetchval(f"SELECT count(*) FROM {table}")
        sample = await conn.fetch(f"SELECT md5(t::text) AS digest FROM {table} t ORDER BY 1 LIMIT {SAMPLE_ROWS}")
        schemas[row["schema"]][row["name"]] = {"rows": count, "sample": [r["digest"] for r in sample]}
    sequences = {f"{r['schemaname']}.{r['sequencename']}": r["last_value"] for r in await conn.fetch(SEQUENCES)}
    roles = [row["rolname"] for row in await conn.fetch(OWNER_ROLES)]
    return {"schemas": schemas, "sequences": sequences, "roles": roles}


def differences(expected: dict[str, Any], found: dict[str, Any]) -> list[str]:
    """What the restored database lacks or holds otherwise than the manifest says, one line each."""
    problems = []
    for schema, tables in expected["schemas"].items():
        restored = found["schemas"].get(schema)
        if restored is None:
            problems.append(f"schema {schema} is missing")
            continue
        for name, table in tables.items():
            got = restored.get(name)
            if got is None:
                problems.append(f"table {schema}.{name} is missing")
            elif got["rows"] != table["rows"]:
                problems.append(f"{schema}.{name} has {got['rows']} rows, the backup {table['rows']}")
            elif got["sample"] != table["sample"]:
                problems.append(f"{schema}.{name}: sampled rows differ from the backup's")
        problems += [f"{schema}.{name} was not in the backup" for name in restored.keys() - tables.keys()]
    problems += [f"schema {schema} was not in the backup" for schema in found["schemas"].keys() - expected["schemas"]]
    for sequence, value in expected["sequences"].items():
        if found["sequences"].get(sequence, "missing") != value:
            problems.append(f"sequence {sequence} at {found['sequences'].get(sequence, 'missing')}, the backup {value}")
    return problems


@dataclass(frozen=True)
class Server:
    """An admin URL of the PostgreSQL server holding the database, split as the command-line tools take it."""

    admin_url: str
    database: str = DATABASE

    def url(self, database: str) -> str:
        return urlunsplit(urlsplit(self.admin_url)._replace(path="/" + database))

    def tool_args(self, database: str) -> tuple[list[str], dict[str, str]]:
        """pg_dump/pg_restore connection arguments, and the environment carrying the password (never argv, which
        any user may read in ps)."""
        parts = urlsplit(self.admin_url)
        args = ["--host", parts.hostname or "127.0.0.1", "--port", str(parts.port or 5432), "--dbname", database]
        if parts.username:
            args += ["--username", unquote(parts.username)]
        return args, {**os.environ, "PGPASSWORD": unquote(parts.password or "")}


async def _run_tool(tool: str, args: list[str], env: dict[str, str]) -> None:
    proc = await asyncio.create_subprocess_exec(
        str(find_pg_bindir() / tool), *args, env=env,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"{tool} failed ({proc.returncode}):\n{output.decode(errors='replace')}")


def _summary(found: dict[str, Any]) -> dict[str, dict[str, int]]:
    return {
        schema: {"tables": len(tables), "rows": sum(t["rows"] for t in tables.values())}
        for schema, tables in found["schemas"].items()
    }


def backup(server: Server, out: Path) -> dict[str, Any]:
    """Dump the database to `out` and write its manifest beside it, both of one snapshot; returns the manifest."""
    started = time.monotonic()
    out.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    manifest = asyncio.run(_dump(server, out))
    out.chmod(0o600)  # the whole database: no one else's to read
    manifest |= {"database": server.database, "taken_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    manifest_path(out).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    manifest_path(out).chmod(0o600)
    log.info(
        "backed up",
        extra={"file": str(out), "bytes": out.stat().st_size, "seconds": round(time.monotonic() - started, 2)},
    )
    return manifest


async def _dump(server: Server, out: Path) -> dict[str, Any]:
    conn = await asyncpg.connect(server.url(server.database))
    try:
        # The manifest is counted in the snapshot pg_dump then dumps: the transaction stays open until it is done.
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            snapshot = await conn.fetchval("SELECT pg_export_snapshot()")
            manifest = await inventory(conn)
            log.info("counted", extra={"schemas": _summary(manifest), "sequences": len(manifest["sequences"])})
            args, env = server.tool_args(server.database)
            await _run_tool("pg_dump", [*args, "--format=custom", f"--snapshot={snapshot}", "--file", str(out)], env)
            return manifest
    finally:
        await conn.close()


def manifest_path(dump: Path) -> Path:
    return dump.with_name(dump.name + MANIFEST_SUFFIX)


def restore(server: Server, dump: Path) -> list[str]:
    """Wipe the database and restore `dump` into it, verified against its manifest before anyone else may write:
    returns the differences found (none: the restore is whole)."""
    manifest = json.loads(manifest_path(dump).read_text())
    if manifest["database"] != server.database:
        raise SystemExit(f"{dump} is a backup of {manifest['database']}, not of {server.database}")
    return asyncio.run(_restore(server, str(dump), manifest))


async def _restore(server: Server, dump: str, manifest: dict[str, Any]) -> list[str]:
    admin = await asyncpg.connect(server.url("postgres"))
    roles = manifest["roles"]
    try:
        # Kept out from the wipe until the restore is verified: a service reconnecting meanwhile would write to a
        # half-restored database, and the counts would no longer be the backup's.
        for role in roles:
            await admin.execute(f"ALTER ROLE {quoted(role)} NOLOGIN")
        log.info("service roles blocked", extra={"roles": roles})
        started = time.monotonic()
        await admin.execute(f"DROP DATABASE IF EXISTS {quoted(server.database)} WITH (FORCE)")
        log.info("wiped", extra={"database": server.database})
        args, env = server.tool_args("postgres")
        # --create makes the database as it was, with its grants; it then restores into it.
        await _run_tool("pg_restore", [*args, "--create", "--exit-on-error", dump], env)
        log.info("restored", extra={"file": dump, "seconds": round(time.monotonic() - started, 2)})
        conn = await asyncpg.connect(server.url(server.database))
        try:
            found = await inventory(conn)
        finally:
            await conn.close()
        problems = differences(manifest, found)
        for schema, totals in _summary(found).items():
            bad = [p for p in problems if p.startswith((f"{schema}.", f"schema {schema} ", f"table {schema}."))]
            log.info("verified" if not bad else "differs", extra={"schema": schema, **totals, "problems": bad})
        return problems
    finally:
        for role in roles:  # also after a failure: a blocked service would never come back
            await admin.execute(f"ALTER ROLE {quoted(role)} LOGIN")
        log.info("service roles let in again", extra={"roles": roles})
        await admin.close()


@contextlib.contextmanager
def local_server(state_dir: Path) -> Iterator[Server]:
    """The local stack's PostgreSQL: the running one, else started for the drill and stopped after it."""
    secrets = state_dir / "secrets.json"
    if not secrets.exists():
        raise SystemExit(f"no local stack in {state_dir}: `make run` makes one (or pass --database-url)")
    postgres = LocalPostgres(state_dir / "postgres", 0, LocalSecrets.load_or_create(secrets).admin_password)
    if not postgres.initialized:
        raise SystemExit(f"no database in {state_dir}: `make run` makes one (or pass --database-url)")
    started_here = not postgres.is_running()
    if started_here:
        postgres.port = free_port()
        postgres.start()
    else:  # its port as the running server wrote it (line 4 of postmaster.pid): make run's, or a test stack's
        postgres.port = int((postgres.data_dir / "postmaster.pid").read_text().splitlines()[3])
    try:
        yield Server(postgres.admin_dsn())
    finally:
        if started_here:
            postgres.stop()


def drill(server: Server, backups: Path) -> list[str]:
    """Backup, wipe, restore, verify: what `make drill-restore` runs."""
    dump = default_dump(server, backups)
    backup(server, dump)
    return restore(server, dump)


def default_dump(server: Server, backups: Path) -> Path:
    return backups / f"{server.database}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.dump"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.drill_restore", description=__doc__.split("\n")[0])
    parser.add_argument("command", nargs="?", default="drill", choices=("drill", "backup", "restore"))
    parser.add_argument("file", nargs="?", type=Path, help="restore: the dump to restore (its manifest beside it)")
    parser.add_argument("--state-dir", type=Path, default=STATE_DIR, help=f"the local stack (default {STATE_DIR})")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"), help="an admin URL instead")
    parser.add_argument("--out", type=Path, help="backup: where to write the dump (default <state dir>/backups/)")
    args = parser.parse_args(argv)
    logs.configure("drill-restore")
    if args.command == "restore" and args.file is None:
        parser.error("restore needs the dump to restore: restore FILE")
    state_dir = args.state_dir.absolute()
    backups = state_dir / "backups"
    started = time.monotonic()
    with contextlib.ExitStack() as stack:
        server = Server(args.database_url) if args.database_url else stack.enter_context(local_server(state_dir))
        if args.command == "backup":
            backup(server, (args.out or default_dump(server, backups)).absolute())
            return 0
        if args.command == "restore":
            problems = restore(server, args.file.absolute())
        else:
            problems = drill(server, backups)
    seconds = round(time.monotonic() - started, 2)
    if problems:
        log.error("restore differs from the backup", extra={"problems": problems, "seconds": seconds})
        return 1
    log.info(f"{args.command} passed: every schema restored as backed up", extra={"seconds": seconds})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
