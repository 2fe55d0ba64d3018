"""The per-user token bucket and its RateLimit fields; CSV cells neutralised on export; the role table."""

from __future__ import annotations

import pytest

from gateway import csv_records, limits
from tests import internal_identity


def test_a_bucket_of_rpm_requests_counts_down_then_refuses_with_retry_after(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(limits.time, "monotonic", lambda: now[0])
    limiter = limits.RateLimiter(120)
    fields = [limiter.take("u1") for _ in range(120)]
    assert all(allowed for allowed, _ in fields)
    assert fields[0][1] == {"RateLimit-Policy": '"peruser";q=120;w=60', "RateLimit": '"peruser";r=119;t=1'}
    assert fields[-1][1]["RateLimit"] == '"peruser";r=0;t=60'
    allowed, headers = limiter.take("u1")
    assert not allowed and headers["Retry-After"] == "1"  # 2 a second come back
    assert limiter.take("u2")[0]  # per user
    now[0] += 0.5
    assert limiter.take("u1")[0] and not limiter.take("u1")[0]
    now[0] += 60
    assert limiter.take("u1")[1]["RateLimit"] == '"peruser";r=119;t=1'  # full again, never more


@pytest.mark.parametrize("cell", ["=1+1", "+14155550123", "-2", "@SUM(A1)", "\t=x", "\r=x", '=HYPERLINK("a","b")'])
def test_a_formula_like_cell_is_quoted_on_export_and_unquoted_on_import(cell: str) -> None:
    assert csv_records.neutralised(cell) == "'" + cell
    assert csv_records.as_typed("'" + cell) == cell


@pytest.mark.parametrize("cell", ["Ann", "", "a=b", "'quoted", 42, None])
def test_other_cells_are_left_alone(cell: object) -> None:
    assert csv_records.neutralised(cell) == cell
    if isinstance(cell, str):
        assert csv_records.as_typed(cell) == cell


def test_the_role_table() -> None:
    from gateway.deps import required_role

    assert required_role("GET", "/v1/leads") == "viewer"
    assert required_role("POST", "/v1/leads") == "member"
    assert required_role("DELETE", "/v1/leads/{lead_id}") == "member"
    assert required_role("POST", "/v1/sequences/{sequence_id}/preview") == "viewer"  # changes nothing
    assert required_role("POST", "/v1/events/tickets") == "viewer"  # live updates are reading
    assert required_role("GET", "/v1/users") == "viewer" and required_role("GET", "/v1/mailboxes") == "viewer"
    assert required_role("GET", "/v1/provider-keys") == "viewer"  # which are set up, never a value
    admin_only = [
        ("PATCH", "/v1/users/{user_id}"),
        ("POST", "/v1/invitations"),
        ("GET", "/v1/invitations"),
        ("POST", "/v1/mailboxes"),
        ("PATCH", "/v1/mailboxes/{mailbox_id}"),
        ("GET", "/v1/audit-log"),
    ]
    for method, path in admin_only:
        assert required_role(method, path) == "admin", (method, path)


def test_a_sign_in_the_unreachable_database_cannot_check_is_a_503_not_a_500() -> None:
    import time
    import uuid

    import jwt
    from fastapi.testclient import TestClient

    from gateway.app import create_app
    from gateway.config import GatewaySettings
    from leadflood_platform.db import Database

    secret = "a-test-secret-0123456789abcdef"
    app = create_app(
        GatewaySettings(
            database_url="postgresql://nobody@127.0.0.1:1/none",
            auth_jwt_secret=secret,
            internal_token_key=internal_identity.KEY,
        )
    )
    app.state.db = Database("postgresql://nobody@127.0.0.1:1/none")  # the lifespan is not run: nothing listens
    now = int(time.time())
    claims = {"sub": str(uuid.uuid4()), "org": str(uuid.uuid4()), "email": "a@b.c", "sid": str(uuid.uuid4()),
              "typ": "access", "iat": now, "exp": now + 60}  # fmt: skip
    token = jwt.encode(claims, secret, algorithm="HS256")
    reply = TestClient(app).get("/v1/me", headers={"authorization": f"Bearer {token}"})
    assert reply.status_code == 503 and reply.headers["content-type"] == "application/problem+json"
    assert "try again" in reply.json()["detail"]
