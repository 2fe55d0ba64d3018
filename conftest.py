"""Shared fixtures: one throwaway Lead Flood stack (PostgreSQL, NATS, services, gateway) per test session."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from devstack.stack import Ports, Stack, StackConfig
from leadflood_platform import identity
from tests import internal_identity
from tests.fakes.apollo import FakeApollo, person
from tests.fakes.google_calendar import TOKEN as GOOGLE_CALENDAR_TOKEN
from tests.fakes.google_calendar import FakeGoogleCalendar
from tests.fakes.otlp import FakeCollector
from tests.fakes.slack import FakeSlack
from tests.fakes.smtp_witness import Witness, serving
from tests.fakes.twilio import ACCOUNT_SID as TWILIO_ACCOUNT_SID
from tests.fakes.twilio import AUTH_TOKEN as TWILIO_AUTH_TOKEN
from tests.fakes.twilio import FakeTwilio

# Test timings: retries in milliseconds and a short ack wait, so failure paths run in seconds.
TEST_ENV = {
    "JOB_RETRY_BACKOFF_MS": "100,200,400",
    "JOB_ACK_WAIT_MS": "2000",
    "SANDBOX_ENRICH_DELAY_MS": "20",
    # Slow enough to stop a worker in the middle of a run, fast enough for a 10-page run.
    "SANDBOX_SEARCH_PAGE_DELAY_MS": "150",
    "LOG_LEVEL": "INFO",
    "INBOUND_EMAIL_SECRET": "test-inbound-secret-0123456789",
    # Lead runs: a short lease (a killed worker's leads come back in seconds), a quick sweep, calendar
    # retries in tenths of a second, alerts escalated after a few seconds.
    "LEAD_RUNS_LEASE_S": "4",
    "LEAD_RUNS_TRANSACTION_IDLE_S": "10",
    "LEAD_RUNS_SWEEP_S": "0.3",
    "LEAD_RUNS_IDLE_S": "0.1",
    "LEAD_RUNS_CALENDAR_BACKOFF_MS": "100",
    "LEAD_RUN_ALERT_ESCALATION_MINUTES": "0.05",
    # The suite makes thousands of requests as the demo user; the limit itself is tested on a gateway of its own
    # (tests/e2e/test_gateway_limits.py).
    "RATE_LIMIT_RPM": "1000000",
    # The demo user's token is signed in once per session; a suite on a busy machine outlasts the default 15 min.
    "ACCESS_TOKEN_TTL_S": "7200",
    # Known to the test process too: see the `internal_identity` fixture.
    "INTERNAL_TOKEN_KEY": internal_identity.KEY,
}


@pytest.fixture(scope="session", autouse=True)
def internal_identity_signer() -> Iterator[None]:
    """The test process calls services too (gRPC tests, stand-ins): with an identity of its own, `tests`,
    signed with the key every process of the test stack shares (leadflood_platform.identity)."""
    identity.install(identity.Signer(internal_identity.KEY, "tests"))
    yield
    identity.install(None)


APOLLO_KEY = "test-apollo-key-0123456789"
APOLLO_PEOPLE = 250


@pytest.fixture(scope="session")
def fake_apollo() -> Iterator[FakeApollo]:
    """Apollo's people search on a local port: the stack's icp service talks to it with its real adapter."""
    with FakeApollo(api_key=APOLLO_KEY, people=[person(n) for n in range(APOLLO_PEOPLE)], full_records=True) as fake:
        yield fake


TWILIO_FROM = "+15005550006"
# A number that texted STOP to Twilio: Twilio refuses to send to it (21610).
OPTED_OUT_NUMBER = "+15005550004"


@pytest.fixture(scope="session")
def fake_twilio() -> Iterator[FakeTwilio]:
    """Twilio's Messages API on a local port: the stack's inbox sends texts to it with its real adapter."""
    with FakeTwilio(opted_out=frozenset({OPTED_OUT_NUMBER})) as fake:
        yield fake


@pytest.fixture(scope="session")
def fake_slack() -> Iterator[FakeSlack]:
    """A Slack incoming webhook on a local port: where the runs service escalates alerts."""
    with FakeSlack() as fake:
        yield fake


@pytest.fixture(scope="session")
def fake_calendar() -> Iterator[FakeGoogleCalendar]:
    """Google Calendar on a local port: lead runs with calendar provider `google` book there, through the
    real adapter; its `inserted` list is the witness."""
    with FakeGoogleCalendar() as fake:
        yield fake


@pytest.fixture
def witness() -> Iterator[tuple[Witness, int]]:
    """An SMTP server of the test's own (tests/fakes/smtp_witness.py): what a mailbox sending to it delivered."""
    with serving() as served:
        yield served


@pytest.fixture(scope="session")
def collector() -> Iterator[FakeCollector]:
    """Where the stack's processes export their traces (OTLP/HTTP), so tests can follow one across them."""
    with FakeCollector() as fake:
        yield fake


# Where a failed session's service logs are kept (the stack's own folder, with its database, is removed).
KEPT_LOGS = Path(__file__).resolve().parent / ".local" / "test-logs"


@pytest.fixture(scope="session")
def stack(
    request: pytest.FixtureRequest,
    fake_apollo: FakeApollo,
    fake_twilio: FakeTwilio,
    fake_slack: FakeSlack,
    fake_calendar: FakeGoogleCalendar,
    collector: FakeCollector,
) -> Iterator[Stack]:
    state = Path(tempfile.mkdtemp(prefix="leadflood-test-"))
    state.chmod(0o755)  # the postgres user must reach its data folder inside
    # Apollo is configured (against the fake); Hunter is deliberately not, to show the 503 a user gets.
    env = TEST_ENV | {
        "APOLLO_API_KEY": APOLLO_KEY,
        "APOLLO_BASE_URL": fake_apollo.url,
        # Texts go to the Twilio fake through the real adapter; its request log is the witness.
        "SMS_PROVIDER": "twilio",
        "TWILIO_ACCOUNT_SID": TWILIO_ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": TWILIO_AUTH_TOKEN,
        "TWILIO_FROM": TWILIO_FROM,
        "TWILIO_BASE_URL": fake_twilio.url,
        "LEAD_RUN_ALERT_WEBHOOK_URL": fake_slack.webhook_url,
        "GOOGLE_CALENDAR_ACCESS_TOKEN": GOOGLE_CALENDAR_TOKEN,
        "GOOGLE_CALENDAR_BASE_URL": fake_calendar.url,
        "OTEL_EXPORTER_OTLP_ENDPOINT": collector.url,
        "OTEL_BSP_SCHEDULE_DELAY": "200",  # export spans within a fraction of a second, not 5 s
    }
    running = Stack(
        StackConfig(state_dir=state, ports=Ports.free(), env_name="test", durable=False, echo=False, env=env)
    )
    try:
        running.start(timeout_s=120)
        yield running
    finally:
        running.stop()
        # What the services logged is how a failure is understood; KEEP_TEST_LOGS=1 keeps them always
        # (to read what a passing run logged: errors the tests did not see).
        if request.session.testsfailed or os.environ.get("KEEP_TEST_LOGS") == "1":
            # Each test worker (pytest-xdist) has its own stack: its logs in a folder of their own.
            worker = os.environ.get("PYTEST_XDIST_WORKER", "")
            kept = KEPT_LOGS / (time.strftime("%Y%m%dT%H%M%S") + (f"-{worker}" if worker else ""))
            shutil.copytree(state / "logs", kept, dirs_exist_ok=True)
            reporter = request.config.pluginmanager.get_plugin("terminalreporter")
            if reporter is not None:
                reporter.write_line(f"service logs of this session: {kept}")
        shutil.rmtree(state, ignore_errors=True)


@pytest.fixture(scope="session")
def base_url(stack: Stack) -> str:
    return f"http://127.0.0.1:{stack.config.ports.http}"


@pytest.fixture(scope="session")
def demo_token(base_url: str) -> str:
    reply = httpx.post(f"{base_url}/v1/auth/login", json={"email": "demo@leadflood.local", "password": "demo"})
    reply.raise_for_status()
    return reply.json()["accessToken"]


@pytest.fixture
def client(base_url: str, demo_token: str) -> Iterator[httpx.Client]:
    """An HTTP client signed in as the demo user."""
    with httpx.Client(base_url=base_url, headers={"authorization": f"Bearer {demo_token}"}, timeout=10) as http:
        yield http


@pytest.fixture
async def provider_http() -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client as the services give their provider adapters (a 10 s deadline, 5 s to connect)."""
    async with httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=5.0)) as http:
        yield http


@pytest.fixture
async def scratch_dsn(stack: Stack) -> AsyncIterator[str]:
    """A database of its own on the stack's PostgreSQL, as the admin: for tests that migrate, lock or
    deadlock on purpose without touching the services' data. Dropped afterwards."""
    assert stack.postgres is not None
    admin_dsn, database = stack.postgres.admin_dsn(), f"scratch_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(admin_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{database}"')
    finally:
        await admin.close()
    try:
        yield admin_dsn.rsplit("/", 1)[0] + f"/{database}"
    finally:
        admin = await asyncpg.connect(admin_dsn)
        try:
            await admin.execute(f'DROP DATABASE "{database}" WITH (FORCE)')
        finally:
            await admin.close()
