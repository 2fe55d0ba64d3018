"""GET /ready names what is down, and recovers when it is back."""

from __future__ import annotations

import httpx

from devstack.stack import Stack


def test_ready_is_503_naming_a_stopped_service_then_recovers(stack: Stack, base_url: str) -> None:
    stack.supervisor.stop("icp")
    try:
        reply = httpx.get(f"{base_url}/ready")
        assert reply.status_code == 503
        assert reply.json()["checks"]["icp"].startswith("down")
        assert "icp" in reply.json()["detail"] and reply.json()["checks"]["leads"] == "ok"
    finally:
        stack.supervisor.restart("icp")
    stack.wait_ready(timeout_s=30)
