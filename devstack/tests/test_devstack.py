"""Real PostgreSQL, NATS and child processes started and stopped the way `make run` and the e2e suite will."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import nats
import pytest

from devstack.lock import AlreadyRunning, StackLock
from devstack.nats import LocalNats
from devstack.ports import free_port, wait_for_port
from devstack.postgres import LocalPostgres, bootstrap_database, role_dsn, service_role
from devstack.processes import Supervisor, pid_alive
from devstack.secrets import LocalSecrets
from devstack.stack import METRICS_BASE, Ports, Stack, StackConfig
from leadflood_platform import registry

ROOT = Path(__file__).resolve().parents[2]


def _wait_until(predicate, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


# -- ports and secrets -----------------------------------------------------------------------------


def test_free_port_can_be_bound_and_waited_for() -> None:
    port = free_port()
    with pytest.raises(TimeoutError):
        wait_for_port("127.0.0.1", port, timeout=0.2)
    server = subprocess.Popen([sys.executable, "-m", "http.server", "-b", "127.0.0.1", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        wait_for_port("127.0.0.1", port, timeout=10)
    finally:
        server.kill()
        server.wait()


def test_secrets_persist_and_are_private(tmp_path: Path) -> None:
    path = tmp_path / "state" / "secrets.json"
    first = LocalSecrets.load_or_create(path)
    alpha = first.role_password("alpha")
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    again = LocalSecrets.load_or_create(path)
    assert (again.admin_password, again.jwt_secret, again.role_password("alpha")) == (
        first.admin_password, first.jwt_secret, alpha,
    )  # fmt: skip
    assert len({first.admin_password, first.jwt_secret, alpha, again.role_password("beta")}) == 4
    assert json.loads(path.read_text())["role_passwords"]["beta"] == again.role_passwords["beta"]


# -- PostgreSQL ------------------------------------------------------------------------------------


def test_postgres_roles_are_confined_to_their_schema_and_data_survives_restart(world_dir: Path) -> None:
    pg = LocalPostgres(world_dir / "pgdata", free_port(), "admin pw:/@?", durable=False)
    roles = {"alpha": "alpha-pw", "beta": "beta-pw"}
    try:
        pg.start()
        assert pg.initialized and pg.is_running()
        asyncio.run(bootstrap_database(pg.admin_dsn(), "leadflood_test", roles))
        asyncio.run(bootstrap_database(pg.admin_dsn(), "leadflood_test", roles))  # idempotent

        def dsn(schema: str) -> str:
            return role_dsn("127.0.0.1", pg.port, "leadflood_test", service_role(schema), roles[schema])

        async def confined() -> None:
            alpha = await asyncpg.connect(dsn("alpha"))
            beta = await asyncpg.connect(dsn("beta"))
            try:
                # Unqualified names land in the role's own schema (search_path).
                await alpha.execute("CREATE TABLE leads (id int PRIMARY KEY, name text)")
                await alpha.execute("INSERT INTO leads VALUES (1, 'Ada')")
                assert await alpha.fetchval("SELECT name FROM alpha.leads WHERE id = 1") == "Ada"
                with pytest.raises(asyncpg.InsufficientPrivilegeError):
                    await beta.fetch("SELECT * FROM alpha.leads")
                with pytest.raises(asyncpg.InsufficientPrivilegeError):
                    await beta.execute("CREATE TABLE public.sneaky (id int)")
                with pytest.raises(asyncpg.InsufficientPrivilegeError):
                    await beta.execute("CREATE TABLE alpha.sneaky (id int)")
            finally:
                await alpha.close()
                await beta.close()
            # CONNECT is revoked from PUBLIC: a role made for another database cannot get in.
            await bootstrap_database(pg.admin_dsn(), "leadflood_other", {"gamma": "gamma-pw"})
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await asyncpg.connect(role_dsn("127.0.0.1", pg.port, "leadflood_test", "gamma_svc", "gamma-pw"))

        asyncio.run(confined())

        pg.stop()
        assert not pg.is_running()
        pg.stop()  # stopping a stopped server is a no-op
        pg.start()

        async def survived() -> str:
            conn = await asyncpg.connect(dsn("alpha"))
            try:
                return await conn.fetchval("SELECT name FROM leads WHERE id = 1")
            finally:
                await conn.close()

        assert asyncio.run(survived()) == "Ada"
    finally:
        pg.stop()
    assert not pg.is_running()


def test_postgres_restarts_after_being_killed(world_dir: Path) -> None:
    pg = LocalPostgres(world_dir / "pgdata", free_port(), "pw", durable=False)
    try:
        pg.start()
        postmaster = int((pg.data_dir / "postmaster.pid").read_text().split()[0])
        os.kill(postmaster, signal.SIGKILL)  # a crash leaves postmaster.pid behind
        assert _wait_until(lambda: not pg.is_running())
        pg._proc.wait()
        restarted = LocalPostgres(pg.data_dir, pg.port, "pw", durable=False)  # e.g. the next `make run`
        restarted.start()
        try:
            assert asyncio.run(_select_one(restarted.admin_dsn())) == 1
        finally:
            restarted.stop()
    finally:
        pg.stop()


@pytest.fixture
def closed_dir() -> Iterator[Path]:
    """A 0700 temp dir (mkdtemp's default), like a checkout under /root: other users cannot enter it."""
    path = Path(tempfile.mkdtemp(prefix="devstack-closed-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


async def _query(dsn: str, *statements: str) -> object:
    """Run the statements in order; the last one's first value."""
    conn = await asyncpg.connect(dsn)
    try:
        for statement in statements[:-1]:
            await conn.execute(statement)
        return await conn.fetchval(statements[-1])
    finally:
        await conn.close()


def test_postgres_in_a_closed_folder_keeps_its_data_where_it_can_and_finds_it_again(
    closed_dir: Path, world_dir: Path
) -> None:
    requested, relocation_root = closed_dir / "state" / "postgres", world_dir / "relocated"
    port = free_port()
    pg = LocalPostgres(requested, port, "pw", durable=False, relocation_root=relocation_root)
    try:
        pg.start()
        saved = "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('still here')"
        assert asyncio.run(_query(pg.admin_dsn(), saved, "SELECT v FROM kept")) == "still here"
    finally:
        pg.stop()
    assert not pg.is_running()
    if os.geteuid() == 0:  # the postgres user runs it, and cannot enter closed_dir
        slot = pg.data_dir.parent
        assert pg.relocated and slot.parent == relocation_root
        assert oct(slot.stat().st_mode & 0o777) == "0o700" and slot.owner() == "postgres"
        assert requested.is_symlink() and requested.resolve() == pg.data_dir
        assert pg.log_path.parent == requested.parent  # the log stays where the user looks
    else:
        assert not pg.relocated  # postgres runs as us: a folder we own is reachable

    again = LocalPostgres(requested, port, "pw", durable=False, relocation_root=relocation_root)  # the next run
    assert again.data_dir == pg.data_dir
    try:
        again.start()
        assert asyncio.run(_query(again.admin_dsn(), "SELECT v FROM kept")) == "still here"
    finally:
        again.stop()

    # `make clean` removes the state folder: the next start begins a fresh cluster with the new password,
    # rather than finding the old one that only the removed password opens.
    shutil.rmtree(requested.parent)
    fresh = LocalPostgres(requested, port, "new pw", durable=False, relocation_root=relocation_root)
    assert fresh.data_dir == pg.data_dir
    try:
        fresh.start()
        assert asyncio.run(_query(fresh.admin_dsn(), "SELECT to_regclass('kept') IS NULL")) is True
    finally:
        fresh.stop()


@pytest.mark.skipif(os.geteuid() != 0, reason="only root relocates: otherwise PostgreSQL runs as the user")
def test_postgres_is_not_relocated_into_a_folder_others_may_write(closed_dir: Path, world_dir: Path) -> None:
    shared = world_dir / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    pg = LocalPostgres(closed_dir / "postgres", free_port(), "pw", durable=False, relocation_root=shared)
    with pytest.raises(RuntimeError) as refused:
        pg.start()
    message = str(refused.value)
    assert f"the postgres user cannot reach {closed_dir / 'postgres'}" in message
    assert str(shared) in message and "chmod o+x its parents" in message
    assert not pg.is_running() and not (closed_dir / "postgres").exists() and not any(shared.iterdir())


async def _select_one(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval("SELECT 1")
    finally:
        await conn.close()


def test_postgres_start_failure_shows_the_log(world_dir: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        pg = LocalPostgres(world_dir / "pgdata", squatter.getsockname()[1], "pw", durable=False)
        try:
            with pytest.raises(RuntimeError, match="could not bind IPv4 address"):
                pg.start()
            assert not pg.is_running()
        finally:
            pg.stop()


# -- NATS ------------------------------------------------------------------------------------------


def test_nats_runs_jetstream_and_stops(tmp_path: Path) -> None:
    server = LocalNats(tmp_path / "nats", free_port(), free_port())
    try:
        server.start(tmp_path / "logs" / "nats.log")
        pid = server.pid()
        assert server.is_running() and pid is not None
        jsz = httpx.get(f"http://127.0.0.1:{server.monitor_port}/jsz", timeout=5).json()
        assert jsz["config"]["store_dir"].startswith(str(tmp_path / "nats"))

        async def publish_and_read() -> int:
            nc = await nats.connect(server.url)
            try:
                js = nc.jetstream()
                await js.account_info()
                await js.add_stream(name="DEVSTACK", subjects=["devstack.>"])
                await js.publish("devstack.hello", b"hi")
                return (await js.stream_info("DEVSTACK")).state.messages
            finally:
                await nc.close()

        assert asyncio.run(publish_and_read()) == 1
        server.stop()
        assert not server.is_running() and not pid_alive(pid)

        server.start(tmp_path / "logs" / "nats.log")  # JetStream data persists in store_dir

        async def count() -> int:
            nc = await nats.connect(server.url)
            try:
                return (await nc.jetstream().stream_info("DEVSTACK")).state.messages
            finally:
                await nc.close()

        assert asyncio.run(count()) == 1
    finally:
        server.stop()
    assert not server.is_running()


# -- Supervisor ------------------------------------------------------------------------------------

SLEEPER = "import time; print('sleeper up', flush=True); time.sleep(60)"
STUBBORN = (
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "print('stubborn up', flush=True); time.sleep(60)"
)


def test_supervisor_stop_all_kill_restart_and_logs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sup = Supervisor(tmp_path / "logs", echo=True)
    env = dict(os.environ)
    try:
        sup.start("sleeper", [sys.executable, "-c", SLEEPER], env)
        sup.start("stubborn", [sys.executable, "-c", STUBBORN], env)
        # Wait for the handler to be installed before testing that SIGTERM is ignored.
        assert _wait_until(lambda: "stubborn up" in sup.log_tail("stubborn"))
        assert _wait_until(lambda: "sleeper up" in sup.log_tail("sleeper"))
        assert sup.names() == ["sleeper", "stubborn"] and sup.alive("sleeper") and sup.alive("stubborn")
        assert "sleeper up" in (tmp_path / "logs" / "sleeper.log").read_text()
        assert "sleeper | sleeper up" in capsys.readouterr().out

        pids = [sup.pid("sleeper"), sup.pid("stubborn")]
        started = time.monotonic()
        sup.stop_all(timeout=1.0)
        assert time.monotonic() - started < 5
        assert not sup.alive("sleeper") and not sup.alive("stubborn")
        assert sup.returncode("sleeper") == -signal.SIGTERM
        assert sup.returncode("stubborn") == -signal.SIGKILL
        assert not any(pid_alive(pid) for pid in pids)

        old = sup.pid("sleeper")
        sup.restart("sleeper")
        assert sup.alive("sleeper") and sup.pid("sleeper") != old
        assert sup.kill("sleeper") == -signal.SIGKILL
        assert not sup.alive("sleeper")
        assert sup.stop("sleeper") == -signal.SIGKILL  # stopping a dead process just reports it

        # A process started for a while and forgotten: stopped, and no longer one of the supervised.
        sup.start("visitor", [sys.executable, "-c", SLEEPER], env)
        assert _wait_until(lambda: "sleeper up" in sup.log_tail("visitor"))
        visitor = sup.pid("visitor")
        assert sup.forget("visitor") == -signal.SIGTERM
        assert "visitor" not in sup.names() and not pid_alive(visitor)
    finally:
        sup.stop_all(timeout=1.0)


def test_supervisor_children_die_with_the_supervisor(world_dir: Path) -> None:
    script = textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {str(ROOT)!r})
        from devstack.processes import Supervisor
        sup = Supervisor(None, echo=False)
        print(sup.start("orphan", [sys.executable, "-c", "import time; time.sleep(60)"], dict(os.environ)), flush=True)
        os.kill(os.getpid(), 9)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30, check=False)
    child = int(done.stdout.split()[0])
    try:
        assert _wait_until(lambda: not pid_alive(child)), "child outlived its supervisor"
    finally:
        if pid_alive(child):
            os.kill(child, signal.SIGKILL)


# -- lock ------------------------------------------------------------------------------------------


def test_second_stack_is_refused_with_the_first_ones_pid_and_url(tmp_path: Path) -> None:
    path = tmp_path / "stack.lock"
    probe = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(ROOT)!r})
        from devstack.lock import AlreadyRunning, StackLock
        try:
            StackLock({str(path)!r}).acquire({{"url": "http://other"}})
        except AlreadyRunning as exc:
            print(exc)
            sys.exit(3)
        print("acquired")
    """)
    with StackLock(path).acquire({"url": "http://127.0.0.1:8000"}) as lock:
        assert lock.held
        refused = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=30, check=False)
        assert refused.returncode == 3, refused.stderr
        assert refused.stdout.strip() == (
            f"Lead Flood is already running (pid {os.getpid()}) at http://127.0.0.1:8000; "
            "stop it with Ctrl-C in its terminal"
        )
    assert not lock.held
    freed = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=30, check=False)
    assert freed.stdout.strip() == "acquired"


def test_lock_in_the_same_process_is_refused_too(tmp_path: Path) -> None:
    with StackLock(tmp_path / "stack.lock").acquire({}), pytest.raises(AlreadyRunning, match=f"pid {os.getpid()}\\)"):
        StackLock(tmp_path / "stack.lock").acquire({})


def test_every_process_gets_a_metrics_port_of_its_own(tmp_path: Path) -> None:
    services = registry.services()
    expected = {"gateway", *(s.name for s in services), *(f"{s.name}-worker" for s in services if s.worker)}
    for ports in (Ports(), Ports.free()):  # make run's fixed ports, the tests' free ones
        stack = Stack(StackConfig(state_dir=tmp_path / str(id(ports)), ports=ports, echo=False))
        metrics = stack.config.ports.metrics
        assert set(metrics) == expected and len(set(metrics.values())) == len(metrics)
        named = set(stack.config.ports.named.values()) | set(stack.config.ports.grpc.values())
        assert not named & set(metrics.values())
        stack.env = {s.name: {"SERVICE": s.name} for s in services}
        assert stack._process_env("leads", "leads-worker")["METRICS_PORT"] == str(metrics["leads-worker"])
    assert Stack(StackConfig(state_dir=tmp_path / "fixed", echo=False)).config.ports.metrics["gateway"] == METRICS_BASE


def test_more_gateway_processes_get_metrics_ports_of_their_own_and_leave_the_others(tmp_path: Path) -> None:
    for ports in (Ports(), Ports.free(gateways=3)):
        stack = Stack(StackConfig(state_dir=tmp_path / str(id(ports)), ports=ports, echo=False, gateway_processes=3))
        metrics = stack.config.ports.metrics
        assert {"gateway", "gateway-2", "gateway-3"} <= set(metrics) and len(set(metrics.values())) == len(metrics)
    # make run's fixed ports: every process one gateway process has keeps its port; the further ones come last.
    one = Stack(StackConfig(state_dir=tmp_path / "one", echo=False)).config.ports.metrics
    three = Stack(StackConfig(state_dir=tmp_path / "three", echo=False, gateway_processes=3)).config.ports.metrics
    assert {name: three[name] for name in one} == one
    assert min(three["gateway-2"], three["gateway-3"]) > max(one.values())
