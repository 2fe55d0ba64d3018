"""A new service is its folder plus one registry line: scaffolded into a temporary tree, it runs in a stack of its own.

That stack also shows a job poll is one call to the owning service: with other services stopped,
a leads job still answers, and the stopped service's jobs alone are unavailable (the list of every service's jobs
names them, and its total leaves them out).
"""

from __future__ import annotations

import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from devstack import scaffold
from devstack.stack import Ports, Stack, StackConfig
from leadflood_platform import registry
from tests.contracts.test_service_shape import check_service
from tests.e2e.helpers import assert_problem, unique_email

NAME = "scaffolded"


@pytest.fixture(scope="module")
def tree() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="leadflood-new-service-"))
    root.chmod(0o755)  # the postgres user must reach its data folder inside
    try:
        shutil.copy(registry.DEFAULT_PATH, root / "registry.toml")
        scaffold.create(NAME, services_dir=root / "services", registry_file=root / "registry.toml")
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def own_stack(tree: Path) -> Iterator[Stack]:
    path = tree / "registry.toml"
    config = StackConfig(
        state_dir=tree / "state",
        ports=Ports.free(registry.services(path)),
        env_name="test",
        durable=False,
        echo=False,
        registry=path,
        env={"PYTHONPATH": str(tree / "services" / NAME / "src"), "SANDBOX_ENRICH_DELAY_MS": "20"},
    )
    running = Stack(config)
    try:
        running.start(timeout_s=120)
        yield running
    finally:
        running.stop()


@pytest.fixture
def http(own_stack: Stack) -> Iterator[httpx.Client]:
    base = f"http://127.0.0.1:{own_stack.config.ports.http}"
    token = httpx.post(f"{base}/v1/auth/login", json={"email": "demo@leadflood.local", "password": "demo"})
    token.raise_for_status()
    headers = {"authorization": f"Bearer {token.json()['accessToken']}"}
    with httpx.Client(base_url=base, headers=headers, timeout=10) as client:
        yield client


def test_the_scaffolded_service_has_the_shape_every_service_has(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(tree / "services" / NAME / "src"))
    lines = (tree / "registry.toml").read_text().splitlines()
    assert lines[-1].startswith(f"{NAME} = ")  # one line added
    assert (tree / "registry.toml").read_text().count("\n") == registry.DEFAULT_PATH.read_text().count("\n") + 1
    check_service(tree / "services" / NAME, registry.entry(NAME, tree / "registry.toml"), monkeypatch)


def test_the_scaffolded_service_is_migrated_started_and_ready(own_stack: Stack, http: httpx.Client) -> None:
    ready = http.get("/ready")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"][NAME] == "ok"
    # Its job poll reaches it, and it answers for its own jobs: none yet.
    missing = assert_problem(http.get(f"/v1/jobs/{NAME}.{uuid.uuid4()}"), 404)
    assert "not found" in missing["detail"]


def _wait_job(http: httpx.Client, job_id: str, status: str, timeout_s: float = 20) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        reply = http.get(f"/v1/jobs/{job_id}")
        assert reply.status_code == 200, reply.text
        if reply.json()["status"] == status:
            return reply.json()
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} never reached {status}: {reply.json()}")


def test_a_job_poll_asks_only_the_service_that_owns_the_job(own_stack: Stack, http: httpx.Client) -> None:
    created = http.post("/v1/leads", json={"email": unique_email("owner"), "firstName": "O", "lastName": "W"})
    assert created.status_code == 201, created.text
    job_id = created.json()["jobId"]
    assert job_id.startswith("leads.")
    own_stack.supervisor.stop("icp")
    own_stack.supervisor.stop(NAME)
    try:
        job = _wait_job(http, job_id, "completed")
        assert job["id"] == job_id and job["type"] == "leads.enrich"
        # The stopped service's own jobs are unavailable, named as such, not "not found".
        down = assert_problem(http.get(f"/v1/jobs/{NAME}.{uuid.uuid4()}"), 503)
        assert down["status"] == 503
        # The list of every service's jobs names the stopped ones, and its total leaves their jobs out: it counts
        # the answering services' jobs, as many as it lists.
        listed = http.get("/v1/jobs", params={"limit": 200}).json()
        assert sorted(listed["unavailable"]) == sorted(["icp", NAME])
        assert job_id in [j["id"] for j in listed["jobs"]] and listed["nextCursor"] is None
        assert (listed["total"], listed["totalCapped"]) == (len(listed["jobs"]), False)
        # An id naming no registered service is simply not found; so is one with no service at all.
        assert_problem(http.get(f"/v1/jobs/nosuchservice.{uuid.uuid4()}"), 404)
        assert_problem(http.get(f"/v1/jobs/{uuid.uuid4()}"), 404)
    finally:
        own_stack.supervisor.restart("icp")
        own_stack.supervisor.restart(NAME)
