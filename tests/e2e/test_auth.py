"""Sign-in tokens: rotation, reuse detection revoking the family, logout."""

from __future__ import annotations

import httpx

from tests.e2e.helpers import assert_problem

DEMO = {"email": "demo@leadflood.local", "password": "demo"}


def test_refresh_rotates_and_reuse_revokes_the_family(base_url: str) -> None:
    first = httpx.post(f"{base_url}/v1/auth/login", json=DEMO).json()
    second = httpx.post(f"{base_url}/v1/auth/refresh", json={"refreshToken": first["refreshToken"]})
    assert second.status_code == 200
    second = second.json()
    assert second["refreshToken"] != first["refreshToken"]
    me = httpx.get(f"{base_url}/v1/me", headers={"authorization": f"Bearer {second['accessToken']}"})
    assert me.json()["email"] == DEMO["email"]

    # Replaying the spent token is treated as theft: it fails, and so does the newer one after it.
    assert_problem(httpx.post(f"{base_url}/v1/auth/refresh", json={"refreshToken": first["refreshToken"]}), 401)
    assert_problem(httpx.post(f"{base_url}/v1/auth/refresh", json={"refreshToken": second["refreshToken"]}), 401)


def test_logout_revokes_the_refresh_token(base_url: str) -> None:
    tokens = httpx.post(f"{base_url}/v1/auth/login", json=DEMO).json()
    assert httpx.post(f"{base_url}/v1/auth/logout", json={"refreshToken": tokens["refreshToken"]}).status_code == 204
    assert_problem(httpx.post(f"{base_url}/v1/auth/refresh", json={"refreshToken": tokens["refreshToken"]}), 401)


def test_local_config_offers_the_demo_login(base_url: str) -> None:
    assert httpx.get(f"{base_url}/v1/config").json() == {"demoLogin": DEMO}
