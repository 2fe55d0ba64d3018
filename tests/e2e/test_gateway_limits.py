"""What an attacker and a load test met (#18), each fixed: sign-in limits per account and per address, the
per-user rate limit with its RateLimit fields, Idempotency-Key on POSTs, the HTTP server's header size and
header deadline, a refresh replayed after its grace window, CSV cells neutralised on export.

Limits the main stack cannot show without getting in other tests' way (a rate limit of 5 a minute, backoffs of
seconds) are tested on a second gateway process of this module's own, on the same database and services.
"""

from __future__ import annotations

import csv
import io
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx
import pytest

from devstack.ports import free_port
from devstack.stack import ROOT, Stack
from tests.e2e.helpers import assert_problem, org_user, unique_email, until


@dataclass
class Gateway:
    url: str
    port: int


@pytest.fixture(scope="module")
def own_gateway(stack: Stack) -> Iterator[Gateway]:
    """A second gateway on the stack's database and services, with limits small enough to reach in a test."""
    port = free_port()
    env = stack.env["gateway"] | {
        "HTTP_PORT": str(port),
        "METRICS_PORT": "0",
        "DEMO_LOGIN": "false",
        "RATE_LIMIT_RPM": "5",
        "SIGN_IN_BACKOFF_S": "2",
        "SIGN_IN_MAX_FAILURES_PER_ADDRESS": "8",
        "HEADER_TIMEOUT_S": "2",
        "REFRESH_GRACE_S": "1",
    }
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "gateway", "serve"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        assert process.poll() is None, process.stderr.read().decode() if process.stderr else "exited"
        try:
            return httpx.get(f"{url}/health", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        until(healthy, timeout_s=60, what="the second gateway")
        yield Gateway(url, port)
    finally:
        process.terminate()
        process.wait(timeout=10)


def _address() -> str:
    """A client address of the test's own (TEST-NET-2), sent as the trusted proxy would (X-Forwarded-For)."""
    return f"198.51.100.{uuid.uuid4().int % 250 + 1}"


def _login(url: str, email: str, password: str, address: str) -> httpx.Response:
    return httpx.post(
        f"{url}/v1/auth/login", json={"email": email, "password": password}, headers={"x-forwarded-for": address}
    )


# --- sign-in limits -------------------------------------------------------------------------------------------


def test_an_account_is_limited_then_let_in_again_after_the_backoff(
    stack: Stack, base_url: str, own_gateway: Gateway
) -> None:
    with org_user(stack, base_url, "locked") as user:
        address = _address()
        for _ in range(5):
            assert _login(own_gateway.url, user.email, "wrong", address).status_code == 401
        # Even the right password waits now, from any address and through any gateway process (PostgreSQL).
        refused = _login(own_gateway.url, user.email, user.password, _address())
        body = assert_problem(refused, 429)
        wait = int(refused.headers["retry-after"])
        assert 1 <= wait <= 2 and body["retryAfterS"] == wait and "this account" in body["detail"]
        assert _login(base_url, user.email, user.password, _address()).status_code == 429
        # Not locked for good: after Retry-After the owner gets in, and the count starts again.
        time.sleep(wait + 0.2)
        assert _login(own_gateway.url, user.email, user.password, address).status_code == 200
        assert _login(own_gateway.url, user.email, "wrong", address).status_code == 401


def test_the_backoff_doubles_with_each_failure_past_the_limit(
    stack: Stack, base_url: str, own_gateway: Gateway
) -> None:
    with org_user(stack, base_url, "backoff") as user:
        for _ in range(5):
            _login(own_gateway.url, user.email, "wrong", _address())
        first = int(_login(own_gateway.url, user.email, "wrong", _address()).headers["retry-after"])
        time.sleep(first + 0.2)
        assert _login(own_gateway.url, user.email, "wrong", _address()).status_code == 401
        second = _login(own_gateway.url, user.email, user.password, _address())
        # 2 s, then 4 s: at least 2 s still to wait, however slowly the (hashing) attempt in between was answered.
        assert second.status_code == 429 and int(second.headers["retry-after"]) >= 2


def test_an_address_is_limited_across_accounts(stack: Stack, base_url: str, own_gateway: Gateway) -> None:
    address = f"198.51.99.{uuid.uuid4().int % 250 + 1}"  # an address no other test uses
    with org_user(stack, base_url, "shared-ip") as user:
        for _ in range(8):  # then blocked for SIGN_IN_BACKOFF_S=2
            assert _login(own_gateway.url, unique_email("nobody"), "wrong", address).status_code == 401
        refused = _login(own_gateway.url, user.email, user.password, address)
        assert "this address" in assert_problem(refused, 429)["detail"]
        assert _login(own_gateway.url, user.email, user.password, _address()).status_code == 200


def _p(values: list[float], q: float) -> float:
    return sorted(values)[min(len(values) - 1, int(len(values) * q))]


def test_wrong_passwords_do_not_stall_other_requests(base_url: str) -> None:
    """20 clients posting wrong passwords (each from an address and for an account of its own, so the limits do
    not cut them short): GET /health keeps answering promptly, as the hashes run off the event loop."""
    stop = threading.Event()
    attempts = []

    def flood() -> None:
        with httpx.Client(timeout=30) as http:
            while not stop.is_set():
                http.post(
                    f"{base_url}/v1/auth/login",
                    json={"email": unique_email("flood"), "password": "wrong"},
                    headers={"x-forwarded-for": f"203.0.113.{uuid.uuid4().int % 250 + 1}"},
                )
                attempts.append(1)

    def health_ms(seconds: float) -> list[float]:
        latencies = []
        with httpx.Client(timeout=10) as http:
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                started = time.perf_counter()
                assert http.get(f"{base_url}/health").status_code == 200
                latencies.append((time.perf_counter() - started) * 1000)
                time.sleep(0.02)
        return latencies

    quiet = statistics.median(health_ms(2))  # this machine's own figure now, beside the one under the flood
    threads = [threading.Thread(target=flood, daemon=True) for _ in range(20)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(1)
        latencies = health_ms(5)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    p50, p99 = statistics.median(latencies), _p(latencies, 0.99)
    print(  # noqa: T201
        f"/health p50 {quiet:.1f} ms quiet; under 20 wrong-password clients p50 {p50:.1f} ms, p99 {p99:.1f} ms; "
        f"{len(attempts)} sign-ins"
    )
    # Before: p50 330 ms, max 1.9 s (about 100x the quiet figure). The test machine shares its cores with the flood
    # itself and with whatever else runs there, so the bound is relative to the quiet figure measured just before.
    assert p50 < max(50, 4 * quiet), (quiet, p50, p99)


# --- the per-user rate limit --------------------------------------------------------------------------------------


def test_the_rate_limit_counts_down_in_ratelimit_fields_then_429(
    stack: Stack, base_url: str, own_gateway: Gateway
) -> None:
    with org_user(stack, base_url, "ratelimit") as user, org_user(stack, base_url, "other") as other:
        token = _login(own_gateway.url, user.email, user.password, _address()).json()["accessToken"]
        bearer = {"authorization": f"Bearer {token}"}
        seen = []
        for _ in range(5):
            reply = httpx.get(f"{own_gateway.url}/v1/me", headers=bearer)
            assert reply.status_code == 200
            assert reply.headers["ratelimit-policy"] == '"peruser";q=5;w=60'
            seen.append(reply.headers["ratelimit"])
        assert [field.split(";")[1] for field in seen] == ["r=4", "r=3", "r=2", "r=1", "r=0"]
        assert all(field.startswith('"peruser";') and ";t=" in field for field in seen)
        refused = httpx.get(f"{own_gateway.url}/v1/leads", headers=bearer)
        body = assert_problem(refused, 429)
        assert body["limit"] == 5 and 1 <= int(refused.headers["retry-after"]) <= 12
        assert refused.headers["ratelimit"].startswith('"peruser";r=0;')
        # Per user: another user is not held back.
        other_token = _login(own_gateway.url, other.email, other.password, _address()).json()["accessToken"]
        assert httpx.get(f"{own_gateway.url}/v1/me", headers={"authorization": f"Bearer {other_token}"}).is_success


# --- Idempotency-Key -----------------------------------------------------------------------------------------------


def test_the_same_key_and_body_return_the_stored_response_once_created(client: httpx.Client) -> None:
    key, email = uuid.uuid4().hex, unique_email("idem")
    body = {"email": email, "firstName": "Ida", "lastName": "Empotent"}
    first = client.post("/v1/leads", json=body, headers={"idempotency-key": key})
    assert first.status_code == 201
    again = client.post("/v1/leads", json=body, headers={"idempotency-key": key})
    assert (again.status_code, again.json()) == (201, first.json())
    assert again.headers["idempotent-replayed"] == "true" and "idempotent-replayed" not in first.headers
    assert len(client.get("/v1/leads", params={"q": email, "filtered": "all"}).json()["items"]) == 1

    other = client.post("/v1/leads", json=body | {"firstName": "Other"}, headers={"idempotency-key": key})
    assert "another request" in assert_problem(other, 422)["detail"]
    bad = client.post("/v1/leads", json=body, headers={"idempotency-key": "has a space"})
    assert assert_problem(bad, 422)["errors"][0]["field"] == "Idempotency-Key"


def test_a_stored_answer_is_the_user_s_own(stack: Stack, base_url: str, client: httpx.Client) -> None:
    key = uuid.uuid4().hex
    body = {"email": unique_email("mine"), "firstName": "A", "lastName": "B"}
    assert client.post("/v1/leads", json=body, headers={"idempotency-key": key}).status_code == 201
    with org_user(stack, base_url, "idem") as user:
        theirs = user.client.post("/v1/leads", json=body, headers={"idempotency-key": key})
        assert theirs.status_code == 201 and "idempotent-replayed" not in theirs.headers


def test_concurrent_requests_with_one_key_make_one_lead(client: httpx.Client, base_url: str, demo_token: str) -> None:
    key, email = uuid.uuid4().hex, unique_email("race")
    body = {"email": email, "firstName": "R", "lastName": "Ace"}

    def post(_: int) -> httpx.Response:
        return httpx.post(
            f"{base_url}/v1/leads",
            json=body,
            headers={"idempotency-key": key, "authorization": f"Bearer {demo_token}"},
        )

    with ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(post, range(8)))
    assert {r.status_code for r in replies} <= {201, 409}, [r.text for r in replies]
    assert all(
        r.headers["content-type"].startswith("application/problem+json") for r in replies if r.status_code == 409
    )
    assert len({r.json()["leadId"] for r in replies if r.status_code == 201}) == 1
    assert len(client.get("/v1/leads", params={"q": email, "filtered": "all"}).json()["items"]) == 1


# --- the HTTP server's own limits ----------------------------------------------------------------------------------


def _connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    return sock


def _read_all(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def test_a_header_trickled_in_is_cut_off_at_the_deadline(own_gateway: Gateway) -> None:
    sock = _connect(own_gateway.port)
    started = time.monotonic()
    sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
    answer = b""
    try:
        for n in range(40):  # a header line every 0.25 s, never the blank line that ends them
            time.sleep(0.25)
            sock.sendall(f"X-Trickle-{n}: a\r\n".encode())
    except OSError:  # closed by the server, as it should
        pass
    sock.settimeout(5)
    answer = _read_all(sock)
    elapsed = time.monotonic() - started
    sock.close()
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:100]
    assert elapsed < 6, elapsed  # HEADER_TIMEOUT_S=2 (10 by default); before: open past 40 s


def test_an_idle_connection_is_closed_without_a_word(own_gateway: Gateway) -> None:
    sock = _connect(own_gateway.port)
    started = time.monotonic()
    assert _read_all(sock) == b""
    assert 1.5 < time.monotonic() - started < 6
    sock.close()


def test_an_oversized_header_is_refused_with_431(own_gateway: Gateway, base_url: str) -> None:
    for url_port in (own_gateway.port, int(base_url.rsplit(":", 1)[1])):  # the main stack's too: the default
        sock = _connect(url_port)
        try:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 64 * 1024)
        except OSError:
            pass
        answer = _read_all(sock)
        sock.close()
        assert answer.startswith(b"HTTP/1.1 431 "), answer[:100]
    # Headers under the limit (a long cookie, a JWT) are fine, and kept-alive requests each get their deadline.
    with httpx.Client(base_url=own_gateway.url) as http:
        assert http.get("/health", headers={"x-fine": "a" * 8000}).status_code == 200
        time.sleep(0.5)
        assert http.get("/health").status_code == 200


# --- refresh tokens --------------------------------------------------------------------------------------------------


def test_a_refresh_replayed_after_the_grace_window_revokes_the_family(
    stack: Stack, base_url: str, own_gateway: Gateway
) -> None:
    with org_user(stack, base_url, "replay") as user:
        tokens = _login(own_gateway.url, user.email, user.password, _address()).json()
        rotated = httpx.post(f"{own_gateway.url}/v1/auth/refresh", json={"refreshToken": tokens["refreshToken"]})
        assert rotated.status_code == 200
        time.sleep(1.5)  # REFRESH_GRACE_S=1 on this gateway (10 by default)
        replay = httpx.post(f"{own_gateway.url}/v1/auth/refresh", json={"refreshToken": tokens["refreshToken"]})
        assert "revoked" in assert_problem(replay, 401)["detail"]
        newer = httpx.post(f"{own_gateway.url}/v1/auth/refresh", json={"refreshToken": rotated.json()["refreshToken"]})
        assert_problem(newer, 401)
        bearer = {"authorization": f"Bearer {rotated.json()['accessToken']}"}
        until(lambda: httpx.get(f"{base_url}/v1/me", headers=bearer).status_code == 401, 5, "the access token refused")


# --- CSV export -----------------------------------------------------------------------------------------------------


def test_a_csv_export_neutralises_formulas_and_keeps_the_stored_value(client: httpx.Client) -> None:
    tag = uuid.uuid4().hex[:8]
    formula = '=HYPERLINK("http://evil.example","click")'
    created = client.post(
        "/v1/leads",
        json={"email": f"csv-{tag}@example.com", "firstName": "@Ann", "lastName": "-Lee", "title": formula},
    )
    assert created.status_code == 201, created.text
    lead_id = created.json()["leadId"]
    exported = client.get("/v1/leads/export.csv", params={"q": f"csv-{tag}", "filtered": "all"}).text
    [row] = list(csv.DictReader(io.StringIO(exported)))
    assert (row["title"], row["firstName"], row["lastName"]) == ("'" + formula, "'@Ann", "'-Lee")
    assert client.get(f"/v1/leads/{lead_id}").json()["title"] == formula  # stored as typed
    # The file imports back as it was typed.
    reply = client.post("/v1/leads/import", content=exported.encode(), headers={"content-type": "text/csv"})
    assert reply.status_code == 200 and reply.json()["failed"] == 0, reply.text
    lead = client.get(f"/v1/leads/{lead_id}").json()
    assert (lead["title"], lead["firstName"], lead["lastName"]) == (formula, "@Ann", "-Lee")
