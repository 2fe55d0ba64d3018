"""Every org sees only its own data: another org's lead or job is not found, not forbidden."""

from __future__ import annotations

import subprocess
import sys
import uuid

import httpx

from devstack.stack import ROOT, Stack
from tests.e2e.helpers import assert_problem, unique_email


def test_a_second_org_cannot_read_the_first_orgs_lead_or_job(stack: Stack, base_url: str, client: httpx.Client) -> None:
    created = client.post("/v1/leads", json={"email": unique_email(), "firstName": "A", "lastName": "B"}).json()

    email, password = f"rival-{uuid.uuid4().hex[:8]}@rival.test", uuid.uuid4().hex
    subprocess.run(
        [
            sys.executable,
            "-m",
            "gateway",
            "create-user",
            "--org",
            f"Rival {email}",
            "--email",
            email,
            "--password",
            password,
        ],
        env=stack.env["gateway"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    token = httpx.post(f"{base_url}/v1/auth/login", json={"email": email, "password": password}).json()["accessToken"]
    rival = {"authorization": f"Bearer {token}"}

    assert_problem(httpx.get(f"{base_url}/v1/leads/{created['leadId']}", headers=rival), 404)
    assert_problem(httpx.get(f"{base_url}/v1/jobs/{created['jobId']}", headers=rival), 404)
    # The same email is free in the other org: uniqueness is per org.
    mine = client.get(f"/v1/leads/{created['leadId']}").json()
    same = httpx.post(
        f"{base_url}/v1/leads", headers=rival, json={"email": mine["email"], "firstName": "A", "lastName": "B"}
    )
    assert same.status_code == 201
