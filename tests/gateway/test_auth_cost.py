"""What keeps the signed-in path cheap without loosening it: verified access tokens remembered until they expire
(and only those), and password hashes run at the lowest CPU priority, off the event loop's way."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid

import jwt
import pytest

from gateway import auth, hashing
from leadflood_platform.errors import Unauthenticated
from tests.e2e.helpers import until

POLICY = auth.TokenPolicy("s" * 32, access_ttl_s=900, refresh_ttl_s=3600)


def _token(policy: auth.TokenPolicy = POLICY, *, exp_in: float = 900, typ: str = "access") -> str:
    now = int(time.time())
    claims = {
        "sub": str(uuid.uuid4()), "org": str(uuid.uuid4()), "email": "a@example.com", "sid": str(uuid.uuid4()),
        "typ": typ, "iat": now, "exp": now + exp_in,
    }  # fmt: skip
    return jwt.encode(claims, policy.secret, algorithm="HS256")


def test_a_verified_token_is_decoded_once_then_remembered(monkeypatch: pytest.MonkeyPatch) -> None:
    tokens, token = auth.AccessTokens(), _token()
    first = tokens.principal(POLICY, token)
    assert first == auth.decode_access(POLICY, token)
    monkeypatch.setattr(auth.jwt, "decode", lambda *a, **k: pytest.fail("decoded again"))
    assert tokens.principal(POLICY, token) == first


def test_a_remembered_token_is_refused_once_it_expires() -> None:
    tokens, token = auth.AccessTokens(), _token(exp_in=1)
    tokens.principal(POLICY, token)

    def refused() -> bool:
        try:
            tokens.principal(POLICY, token)
        except Unauthenticated as error:
            assert "expired" in str(error)
            return True
        return False

    until(refused, timeout_s=10, what="the remembered token to be refused as expired")


def test_faulty_tokens_are_never_remembered_and_a_token_holds_only_for_its_own_secret() -> None:
    tokens = auth.AccessTokens()
    for bad in ("not-a-jwt", _token(typ="refresh"), _token(exp_in=-5)):
        for _ in range(2):
            with pytest.raises(Unauthenticated):
                tokens.principal(POLICY, bad)
    token = _token()
    tokens.principal(POLICY, token)
    other = auth.TokenPolicy("t" * 32, access_ttl_s=900, refresh_ttl_s=3600)
    with pytest.raises(Unauthenticated, match="not valid"):
        tokens.principal(other, token)
    assert len(tokens._known) == 1


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="sessions and autogroups are Linux's")
def test_password_hashes_run_in_processes_of_their_own_at_a_lower_weight() -> None:
    passwords = auth.Passwords(1)

    async def main() -> tuple[bool, bool, tuple[int, int, int]]:
        await passwords.start()
        right = await passwords.verify(auth.hasher.hash("right"), "right")
        wrong = await passwords.verify(auth.hasher.hash("right"), "wrong")
        where = await asyncio.get_running_loop().run_in_executor(passwords._pool, _where)
        return right, wrong, where

    try:
        right, wrong, (pid, session, nice) = asyncio.run(main())
    finally:
        passwords.close()
    assert right and not wrong
    assert pid != os.getpid() and session == pid  # a process of its own, leading a session of its own
    assert nice == hashing.HASH_NICE
    assert os.getpriority(os.PRIO_PROCESS, 0) == 0  # the caller's own process is left as it was


def test_a_hashing_process_that_dies_is_replaced_and_dies_with_its_parent() -> None:
    passwords = auth.Passwords(1)

    async def main() -> tuple[int, bool]:
        await passwords.start()
        (pid, _, _) = await asyncio.get_running_loop().run_in_executor(passwords._pool, _where)
        os.kill(pid, signal.SIGKILL)  # killed, as out of memory would
        return pid, await passwords.verify(auth.hasher.hash("right"), "right")

    try:
        killed, matched = asyncio.run(main())
    finally:
        passwords.close()
    assert matched  # checked by a new process
    until(lambda: not _alive(killed), what="the killed hashing process to be gone")


def test_a_hashing_process_dies_with_the_process_that_spawned_it() -> None:
    script = (
        "import asyncio, os\n"
        "from gateway import auth\n"
        "p = auth.Passwords(1)\n"
        "asyncio.run(p.start())\n"
        "print(p._pool.submit(os.getpid).result(), flush=True)\n"
        "os._exit(0)\n"  # gone at once, as a SIGKILLed gateway would be: no shutdown of the pool
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    child = int(done.stdout.split()[-1])
    until(lambda: not _alive(child), timeout_s=20, what="the orphaned hashing process to exit")


def _alive(pid: int) -> bool:
    try:
        stat = open(f"/proc/{pid}/stat").read()  # noqa: PTH123, SIM115
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] not in "ZX"


def test_an_unknown_account_costs_a_check_and_never_matches() -> None:
    passwords = auth.Passwords(1)
    try:
        assert not asyncio.run(passwords.verify(None, "not-a-real-password"))
    finally:
        passwords.close()


def _where() -> tuple[int, int, int]:
    return os.getpid(), os.getsid(0), os.getpriority(os.PRIO_PROCESS, 0)
