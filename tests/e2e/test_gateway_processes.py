"""The gateway as several processes on one port (HTTP_REUSE_PORT, devstack's GATEWAY_PROCESSES): the kernel spreads
connections among them; the sign-in limits are shared (PostgreSQL), the per-user rate limit is each process's own,
as the README says.

Two gateway processes of this module's own share a port, on the stack's database and services. Which process
answered is read from each one's /metrics (its own port): a request's route and status are counted there.
"""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from devstack.ports import free_port
from devstack.stack import ROOT, Stack
from tests.e2e.helpers import assert_problem, org_user, until

RPM = 2  # a refill every 30 s: none within a test


@dataclass
class Gateways:
    url: str
    metrics: list[str]  # each process's /metrics URL


@pytest.fixture(scope="module")
def gateways(stack: Stack) -> Iterator[Gateways]:
    port, metrics_ports = free_port(), [free_port(), free_port()]
    processes = []
    for metrics_port in metrics_ports:
        env = stack.env["gateway"] | {
            "HTTP_PORT": str(port),
            "HTTP_REUSE_PORT": "true",
            "METRICS_PORT": str(metrics_port),
            "DEMO_LOGIN": "false",
            "RATE_LIMIT_RPM": str(RPM),
        }
        processes.append(
            subprocess.Popen(  # noqa: S603
                [sys.executable, "-m", "gateway", "serve"],
                env=env,
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
        )
    running = Gateways(f"http://127.0.0.1:{port}", [f"http://127.0.0.1:{p}/metrics" for p in metrics_ports])

    def both_answered() -> bool:
        for process in processes:
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else "exited"
        try:
            httpx.get(f"{running.url}/health", timeout=1)  # a connection of its own each time
        except httpx.HTTPError:
            return False
        return all(_count(url, "GET", "/health", "200") > 0 for url in running.metrics)

    try:
        # Both bound the one port, and the kernel hands each of them connections.
        until(both_answered, timeout_s=60, what="both gateway processes to answer on the shared port")
        yield running
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=10)


def _count(metrics_url: str, method: str, route: str, status: str) -> float:
    """Requests one process answered with this route and status, from its /metrics."""
    try:
        text = httpx.get(metrics_url, timeout=2).text
    except httpx.HTTPError:
        return 0.0
    labels = f'method="{method}",route="{route}",status="{status}"'
    found = re.search(r"^leadflood_http_server_request_duration_seconds_count\{" + re.escape(labels) + r"\} (\S+)$",
                      text, re.MULTILINE)  # fmt: skip
    return float(found.group(1)) if found else 0.0


def _fresh(method: str, url: str, **kwargs: object) -> httpx.Response:
    """A request on a connection of its own, so the kernel picks a process for it anew."""
    with httpx.Client(timeout=30) as http:
        return http.request(method, url, **kwargs)  # type: ignore[arg-type]


def test_sign_in_limits_hold_across_the_processes(stack: Stack, base_url: str, gateways: Gateways) -> None:
    with org_user(stack, base_url, "two-processes") as user:
        login = f"{gateways.url}/v1/auth/login"

        def attempt(password: str) -> httpx.Response:
            address = f"198.51.98.{uuid.uuid4().int % 250 + 1}"
            return _fresh("POST", login, json={"email": user.email, "password": password},
                          headers={"x-forwarded-for": address})  # fmt: skip

        refused_before = [_count(url, "POST", "/v1/auth/login", "429") for url in gateways.metrics]
        for _ in range(5):  # the account's limit, counted by whichever process answered each
            assert attempt("wrong").status_code == 401

        def refused_by_both() -> bool:
            # Even the right password waits now, whichever process the connection reaches.
            assert_problem(attempt(user.password), 429)
            counts = [_count(url, "POST", "/v1/auth/login", "429") for url in gateways.metrics]
            return all(after > before for after, before in zip(counts, refused_before, strict=True))

        until(refused_by_both, timeout_s=30, what="a 429 from each process for the account over its limit")


def test_the_rate_limit_is_each_processs_own(stack: Stack, base_url: str, gateways: Gateways) -> None:
    with org_user(stack, base_url, "per-process") as user:
        token = _fresh("POST", f"{gateways.url}/v1/auth/login", json={"email": user.email, "password": user.password})
        headers = {"authorization": f"Bearer {token.json()['accessToken']}"}
        answers: list[int] = []

        def both_refused() -> bool:
            reply = _fresh("GET", f"{gateways.url}/v1/me", headers=headers)
            answers.append(reply.status_code)
            if reply.status_code == 429:
                assert reply.headers["ratelimit-policy"] == f'"peruser";q={RPM};w=60'
            return all(_count(url, "GET", "/v1/me", "429") > 0 for url in gateways.metrics)

        until(both_refused, timeout_s=30, what="each process to refuse the user past its own limit")
        # Each process let RPM through before refusing: the user got RPM per process, as documented.
        assert answers.count(200) == RPM * len(gateways.metrics), answers
        assert set(answers) == {200, 429}


def test_a_sign_out_is_refused_by_every_process_within_the_session_cache(
    stack: Stack, base_url: str, gateways: Gateways
) -> None:
    with org_user(stack, base_url, "signout") as user:
        email, password = user.email, user.password
        tokens = _fresh("POST", f"{gateways.url}/v1/auth/login", json={"email": email, "password": password}).json()
        headers = {"authorization": f"Bearer {tokens['accessToken']}"}
        unauthorized_before = [_count(url, "GET", "/v1/me", "401") for url in gateways.metrics]
        logout = _fresh("POST", f"{gateways.url}/v1/auth/logout", json={"refreshToken": tokens["refreshToken"]})
        assert logout.status_code == 204

        def refused_by_both() -> bool:
            # The process that signed out refuses at once; the other within SESSION_CHECK_CACHE_S (2 s).
            reply = _fresh("GET", f"{gateways.url}/v1/me", headers=headers)
            assert reply.status_code in (200, 401, 429), reply.text
            counts = [_count(url, "GET", "/v1/me", "401") for url in gateways.metrics]
            return all(after > before for after, before in zip(counts, unauthorized_before, strict=True))

        until(refused_by_both, timeout_s=30, what="both processes to refuse the signed-out token")
