"""A local PostgreSQL cluster (initdb, start, stop) and per-service database roles with one schema each."""

from __future__ import annotations

import hashlib
import logging
import os
import pwd
import re
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg

from devstack.processes import pid_alive

log = logging.getLogger(__name__)

ADMIN_USER = "leadflood_admin"
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
# sun_path is 108 bytes on Linux (104 on macOS); longer socket paths make postgres refuse to start.
_MAX_SOCKET_PATH = 100
# As root, PostgreSQL runs as the `postgres` user, who cannot enter a data dir under /root or a 0700 temp
# folder. Such a cluster lives here instead, in a folder per requested data dir, named by a hash of that
# dir's path: the same checkout finds its data again, and the requested path becomes a symlink to it.
# `make clean` removes only the symlink; the next start wipes the cluster it no longer points to.
RELOCATION_ROOT = Path("/var/lib/leadflood")


def find_pg_bindir() -> Path:
    """The newest Debian-style /usr/lib/postgresql/<ver>/bin, else `pg_config --bindir`."""
    candidates = [p.parent for p in Path("/usr/lib/postgresql").glob("*/bin/initdb")]
    candidates.sort(key=lambda bindir: [int(x) for x in re.findall(r"\d+", bindir.parent.name)])
    if candidates:
        return candidates[-1]
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False).stdout.strip()
        if out and (Path(out) / "initdb").exists():
            return Path(out)
    raise RuntimeError(
        "PostgreSQL server binaries (initdb, pg_ctl, postgres) were not found. Install the server, e.g. "
        "`apt-get install postgresql` (Debian/Ubuntu) or `brew install postgresql@15` (macOS), "
        "or put its bin directory's pg_config on PATH."
    )


def service_role(schema: str) -> str:
    """The login role that owns `schema`."""
    return f"{schema}_svc"


def role_dsn(host: str, port: int, database: str, role: str, password: str) -> str:
    """A postgresql:// URL for `role` (a full role name, e.g. service_role("leads"))."""
    return f"postgresql://{quote(role, safe='')}:{quote(password, safe='')}@{host}:{port}/{quote(database, safe='')}"


def _ident(name: str) -> str:
    # Identifiers cannot be bind parameters; a strict whitelist makes quoting them trivially safe.
    if not _NAME.match(name):
        raise ValueError(f"invalid PostgreSQL name {name!r}: must match {_NAME.pattern}")
    return f'"{name}"'


class LocalPostgres:
    """One PostgreSQL cluster in `data_dir` (relocated as root if need be), on 127.0.0.1:`port`, run as our child."""

    def __init__(
        self,
        data_dir: Path,
        port: int,
        admin_password: str,
        *,
        durable: bool = True,
        relocation_root: Path = RELOCATION_ROOT,
    ) -> None:
        self.requested_dir = Path(data_dir).absolute()
        self.port = port
        self.admin_password = admin_password
        self.durable = durable
        self.relocation_root = Path(relocation_root)
        self.bindir = find_pg_bindir()
        # PostgreSQL refuses to run as root: as root, drop to the `postgres` system user.
        self._as_root = os.geteuid() == 0
        # Where the cluster really is: the requested dir, or its relocated folder (see RELOCATION_ROOT).
        self.data_dir = self._placement()
        self.socket_dir = self.data_dir.with_name(self.data_dir.name + ".sock")
        # The log stays where it was asked for (root writes it): where the user looks for it.
        self.log_path = self.requested_dir.with_name(self.requested_dir.name + ".log")
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def relocated(self) -> bool:
        return self.data_dir != self.requested_dir

    @property
    def initialized(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def admin_dsn(self, db: str = "postgres") -> str:
        return role_dsn("127.0.0.1", self.port, db, ADMIN_USER, self.admin_password)

    def ensure_initialized(self) -> None:
        """Run initdb once; later calls (and later `make run`s) keep the existing cluster."""
        if self.relocated:
            self._prepare_relocation()
        if self.initialized:
            return
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._own(self.data_dir)
        self._check_reachable()
        fd, pwfile = tempfile.mkstemp(prefix="leadflood-pgpw-")
        try:
            os.write(fd, self.admin_password.encode() + b"\n")
            os.close(fd)
            self._own(Path(pwfile))
            self._run(
                "initdb", "-D", str(self.data_dir), "--no-sync", "-U", ADMIN_USER, f"--pwfile={pwfile}",
                "--auth-host=scram-sha-256", "--auth-local=scram-sha-256", "-E", "UTF8", *self._locale_args(),
            )  # fmt: skip
        finally:
            os.unlink(pwfile)
        # Per-run settings (port, socket dir, durability) live in an included file rewritten at each start,
        # so a port change or durable flag never needs postgresql.conf surgery.
        with open(self.data_dir / "postgresql.conf", "a") as conf:
            conf.write(
                "\n# Lead Flood devstack settings, rewritten on every start\ninclude_if_exists = 'devstack.conf'\n"
            )
        log.info("postgres cluster initialized", extra={"data_dir": str(self.data_dir)})

    def is_running(self) -> bool:
        """True if a postmaster for this data dir is alive (ours or one left by an earlier run)."""
        if self._proc is not None and self._proc.poll() is None:
            return True
        pid = self._pidfile_pid()
        return pid is not None and pid_alive(pid, "postgres")

    def start(self, timeout: float = 30.0) -> None:
        """Start the server and wait until it accepts connections (like `pg_ctl start -w`)."""
        self.ensure_initialized()
        if self.is_running():
            log.info("postgres already running", extra={"port": self.port, "data_dir": str(self.data_dir)})
            return
        self._write_settings()
        # A killed run leaves postmaster.pid and the socket's .lock behind. Their pid may by now belong to
        # another process, or linger as an unreaped zombie, and postgres then refuses to start with
        # "lock file already exists". No postmaster of ours is running (checked above), so they are stale.
        for stale in [p for p in (self.data_dir / "postmaster.pid", *self.socket_dir.glob(".s.PGSQL.*")) if p.exists()]:
            log.warning("removing stale lock file", extra={"path": str(stale)})
            stale.unlink(missing_ok=True)
        # Run postgres as our own child rather than via `pg_ctl start`, which orphans the postmaster:
        # where PID 1 reaps orphans late or never (containers without an init) each stop leaves a zombie.
        # Its own session keeps the terminal's Ctrl-C away, so the stack shuts services down first.
        with open(self.log_path, "ab") as logfile:
            self._proc = subprocess.Popen(
                [*self._prefix(), str(self.bindir / "postgres"), "-D", str(self.data_dir)],
                stdin=subprocess.DEVNULL, stdout=logfile, stderr=subprocess.STDOUT,
                cwd=self.data_dir.parent, start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + timeout
        while not self._ready():
            if self._proc.poll() is not None:
                raise RuntimeError(f"postgres exited with {self._proc.returncode}; log tail:\n{self._log_tail()}")
            if time.monotonic() > deadline:
                os.killpg(self._proc.pid, signal.SIGKILL)  # whole session: runuser, postmaster, its children
                self._proc.wait()
                while self.is_running():  # SIGKILL lands asynchronously; report only once it is gone
                    time.sleep(0.02)
                raise RuntimeError(f"postgres not ready within {timeout}s; log tail:\n{self._log_tail()}")
            time.sleep(0.05)
        log.info("postgres started", extra={"port": self.port, "data_dir": str(self.data_dir)})

    def stop(self) -> None:
        """Fast shutdown (roll back open transactions, checkpoint); a no-op if not running."""
        if self.is_running():
            done = self._run("pg_ctl", "stop", "-D", str(self.data_dir), "-m", "fast", "-w", "-t", "30", check=False)
            if done.returncode != 0 and self.is_running():
                raise RuntimeError(f"pg_ctl stop failed: {done.stdout}\nlog tail:\n{self._log_tail()}")
            log.info("postgres stopped", extra={"port": self.port})
        if self._proc is not None:
            self._proc.wait(timeout=10)  # reap our child so no zombie is left behind
            self._proc = None

    # -- helpers ---------------------------------------------------------------------------------

    def _prefix(self) -> list[str]:
        return ["runuser", "-u", "postgres", "--"] if self._as_root else []

    def _run(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [*self._prefix(), str(self.bindir / tool), *args],
            cwd=self.data_dir.parent,  # the postgres user may not be allowed into our cwd (e.g. /root)
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False,
        )  # fmt: skip
        if check and done.returncode != 0:
            raise RuntimeError(f"{tool} failed ({done.returncode}):\n{done.stdout}")
        return done

    def _own(self, path: Path) -> None:
        if self._as_root:
            try:
                shutil.chown(path, "postgres", "postgres")
            except LookupError as exc:
                raise RuntimeError(
                    "running as root needs a `postgres` system user to run PostgreSQL as; "
                    "create it with `useradd --system --no-create-home postgres`"
                ) from exc

    def _check_reachable(self) -> None:
        # Data dirs under a root-only folder (e.g. /root, pytest's 0700 /tmp/pytest-of-root) are invisible
        # to the postgres user; initdb would fail with a confusing "permission denied".
        if self._as_root and not self._postgres_may("-w", self.data_dir):
            raise self._unreachable("a folder above it is closed to other users")

    def _postgres_may(self, test_flag: str, path: Path) -> bool:
        """Whether the postgres user passes `test <flag> <path>` (e.g. -x: may enter it)."""
        probe = [*self._prefix(), shutil.which("test") or "test", test_flag, str(path)]
        return subprocess.run(probe, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False).returncode == 0

    def _unreachable(self, why: str) -> RuntimeError:
        return RuntimeError(
            f"the postgres user cannot reach {self.requested_dir} ({why}): put the data dir under a folder every "
            "user can traverse (chmod o+x its parents), not under /root or a 0700 temp dir"
        )

    def _slot(self) -> Path:
        """The relocated folder for the requested dir, named by its path (its parent's symlinks resolved)."""
        key = str(self.requested_dir.parent.resolve() / self.requested_dir.name)
        return self.relocation_root / hashlib.sha256(key.encode()).hexdigest()[:12]

    def _placement(self) -> Path:
        requested = self.requested_dir
        if not self._as_root:
            return requested  # postgres runs as us: whatever we can reach, it can
        relocated = self._slot() / "data"
        if requested.is_symlink():  # an earlier start relocated it, or the user points it somewhere
            return relocated if requested.resolve() == relocated.resolve() else requested
        if (requested / "PG_VERSION").exists():
            return requested  # an existing cluster stays put; _check_reachable explains if it cannot be used
        nearest = next(p for p in (requested.parent, *requested.parent.parents) if p.exists())
        return requested if self._postgres_may("-x", nearest) else relocated

    def _prepare_relocation(self) -> None:
        """Make the relocated folder (refusing one that is not safely ours) and link the requested path to it."""
        try:
            postgres = pwd.getpwnam("postgres")
        except KeyError:
            raise RuntimeError(
                "running as root needs a `postgres` system user to run PostgreSQL as; "
                "create it with `useradd --system --no-create-home postgres`"
            ) from None
        # Only root may write the root (nobody else can swap a folder in), only postgres may enter its slot.
        self._safe_folder(self.relocation_root, uid=0, gid=0, mode=0o755)
        slot = self.data_dir.parent
        self._safe_folder(slot, uid=postgres.pw_uid, gid=postgres.pw_gid, mode=0o700)
        if not self._postgres_may("-w", slot):
            raise self._unreachable(f"nor can it reach {slot}: a folder above it is closed to other users")
        requested = self.requested_dir
        if requested.is_symlink():
            return  # _placement checked it points at our slot
        # Nothing points here yet: a cluster left in the slot belongs to a state folder since removed (e.g. by
        # `make clean`, with the admin password it was made with), so it starts afresh like an in-place one.
        if self.data_dir.exists() or self.socket_dir.exists():
            if self.is_running():
                self._run("pg_ctl", "stop", "-D", str(self.data_dir), "-m", "immediate", "-w", check=False)
            log.warning("removing a relocated cluster whose state folder is gone", extra={"data_dir": str(slot)})
            shutil.rmtree(self.data_dir, ignore_errors=True)
            shutil.rmtree(self.socket_dir, ignore_errors=True)
        if requested.is_dir():
            try:
                requested.rmdir()  # an empty folder left by an earlier, refused start
            except OSError:
                raise self._unreachable(f"and it holds files, so it cannot become a link to {self.data_dir}") from None
        requested.parent.mkdir(parents=True, exist_ok=True)
        requested.symlink_to(self.data_dir, target_is_directory=True)
        log.info("postgres data relocated", extra={"requested": str(requested), "data_dir": str(self.data_dir)})

    def _safe_folder(self, path: Path, *, uid: int, gid: int, mode: int) -> None:
        """Create `path` owned by uid:gid with `mode`, or accept an existing one only if it already is safe."""
        try:
            path.mkdir(mode=mode, parents=True)
            os.chown(path, uid, gid)
            os.chmod(path, mode)  # mkdir's mode is filtered by the umask
        except FileExistsError:
            pass
        st = os.lstat(path)
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != uid or st.st_mode & 0o022:
            raise self._unreachable(
                f"and {path} is not a folder owned by uid {uid} that only its owner may write, so the data "
                "is not kept there either"
            )
        os.chmod(path, mode)

    def _locale_args(self) -> list[str]:
        # C.UTF-8 gives full Unicode character classes with byte-order sorting; without it, plain C.
        out = subprocess.run(["locale", "-a"], capture_output=True, text=True, check=False).stdout
        available = {name.lower().replace("-", "") for name in out.split()}
        return ["--locale=C.UTF-8"] if "c.utf8" in available else ["--no-locale"]

    def _write_settings(self) -> None:
        self.socket_dir.mkdir(mode=0o700, exist_ok=True)
        self._own(self.socket_dir)
        socket_dir = str(self.socket_dir)
        if len(f"{socket_dir}/.s.PGSQL.{self.port}") > _MAX_SOCKET_PATH:
            log.warning("socket path too long, listening on TCP only", extra={"socket_dir": socket_dir})
            socket_dir = ""
        settings = {
            "listen_addresses": "127.0.0.1",
            "port": self.port,
            "unix_socket_directories": socket_dir,
            "max_connections": 200,
        }
        if not self.durable:
            # Throwaway test clusters: losing data on an OS crash is fine, waiting for disk is not.
            settings |= {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
        lines = [f"{key} = '{value}'" for key, value in settings.items()]
        conf = self.data_dir / "devstack.conf"
        conf.write_text("# Written by devstack on every start; edits are overwritten.\n" + "\n".join(lines) + "\n")
        self._own(conf)

    def _pidfile_pid(self) -> int | None:
        try:
            first = (self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0]
        except OSError:
            return None
        return int(first) if first.strip().isdigit() else None

    def _ready(self) -> bool:
        # postmaster.pid line 8 turns to "ready" once connections are accepted (what pg_ctl -w polls).
        try:
            lines = (self.data_dir / "postmaster.pid").read_text().splitlines()
        except OSError:
            return False
        return len(lines) >= 8 and lines[7].strip() == "ready"

    def _log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


async def bootstrap_database(admin_dsn: str, database: str, roles: dict[str, str]) -> None:
    """Create `database` and, per `schema -> password`, a login role owning only that schema. Idempotent."""
    db_ident = _ident(database)
    admin = await asyncpg.connect(admin_dsn)
    try:
        # Serialize concurrent bootstraps (parallel test workers): CREATE ... races end in unique violations.
        await admin.execute("SELECT pg_advisory_lock(hashtext('leadflood-devstack-bootstrap'))")
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database):
            await admin.execute(f"CREATE DATABASE {db_ident}")
            log.info("database created", extra={"database": database})
        parts = urlsplit(admin_dsn)
        conn = await asyncpg.connect(urlunsplit(parts._replace(path="/" + quote(database, safe=""))))
        try:
            # Nobody gets anything by default; each role is granted exactly its own corner below.
            await conn.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC")
            await conn.execute(f"REVOKE ALL ON DATABASE {db_ident} FROM PUBLIC")
            # Extensions live in their own schema every role may use (the leads migrations before 0004 use pg_trgm).
            await conn.execute("CREATE SCHEMA IF NOT EXISTS extensions")
            await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA extensions")
            for schema, password in roles.items():
                role = service_role(schema)
                schema_ident, role_ident = _ident(schema), _ident(role)
                exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role)
                verb = "ALTER ROLE %I PASSWORD %L" if exists else "CREATE ROLE %I LOGIN PASSWORD %L"
                # format(%L) quotes the password literal server-side; utility statements take no parameters.
                await conn.execute(
                    await conn.fetchval("SELECT format($1::text, $2::text, $3::text)", verb, role, password)
                )
                await conn.execute(f"GRANT CONNECT ON DATABASE {db_ident} TO {role_ident}")
                await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema_ident} AUTHORIZATION {role_ident}")
                await conn.execute(f"ALTER ROLE {role_ident} SET search_path = {schema_ident}")
                await conn.execute(f"GRANT USAGE ON SCHEMA extensions TO {role_ident}")
                log.info("database role ready", extra={"database": database, "role": role, "schema": schema})
        finally:
            await conn.close()
    finally:
        await admin.close()  # closing the session also releases the advisory lock
