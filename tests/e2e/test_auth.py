"""Sign-in tokens: rotation with a grace window, logout ending the access token too, messages in our words."""

from __future__ import annotations

import httpx

from tests.e2e.helpers import assert_problem

DEMO = {"email": "demo@leadflood.local", "password": "demo"}


def test_refresh_rotates_and_a_replay_within_the_grace_window_gets_the_same_pair(base_url: str) -> None:
    first = httpx.post(f"{base_url}/v1/auth/login", json=DEMO).json()
    second = httpx.post(f"{base_url}/v1/auth/refresh", json={"refreshToken": first["refreshToken"]})
    assert second.status_code == 200
    second = second.json()
    assert second["refreshToken"] != first["refreshToken"]
    me = httpx.get(f"{base_url}/v1/me", headers={"authorization": f"Bearer {second['accessToken']}"})
    assert me.json()["email"] == DEMO["email"]

    # The spent token again within the grace window (a second tab, a retried request): the same new pair, and
    # both go on working. A replay after the window revokes the family (tests/e2e/test_gateway_limits.py).
    again = httpx.post(f"{base_url}/v1/auth/refresh", json={"refreshToken": first["refreshToken"]})
    assert again.status_code == 200 and again.json() == second
    third = httpx.post(f"{base_url}/v1/auth/refresh", json={"refreshToken": second["refreshToken"]})
    assert third.status_code == 200


def test_logout_revokes_the_refresh_token_and_the_access_token(base_url: str) -> None:
    tokens = httpx.post(f"{base_url}/v1/auth/login", json=DEMO).json()
    bearer = {"authorization": f"Bearer {tokens['accessToken']}"}
    assert httpx.get(f"{base_url}/v1/me", headers=bearer).status_code == 200
    assert httpx.post(f"{base_url}/v1/auth/logout", json={"refreshToken": tokens["refreshToken"]}).status_code == 204
    assert_problem(httpx.post(f"{base_url}/v1/auth/refresh", json={"refreshToken": tokens["refreshToken"]}), 401)
    # The sign-in is over for its access token too, before the token's own expiry.
    assert "sign in again" in assert_problem(httpx.get(f"{base_url}/v1/me", headers=bearer), 401)["detail"]


def test_ten_parallel_refreshes_of_one_token_all_get_the_same_pair(base_url: str) -> None:
    """Two tabs refreshing at once must not sign the user out (#18: one succeeded and its token was revoked)."""
    from concurrent.futures import ThreadPoolExecutor

    tokens = httpx.post(f"{base_url}/v1/auth/login", json=DEMO).json()
    with ThreadPoolExecutor(10) as pool:
        replies = list(
            pool.map(
                lambda _: httpx.post(f"{base_url}/v1/auth/refresh", json={"refreshToken": tokens["refreshToken"]}),
                range(10),
            )
        )
    assert [r.status_code for r in replies] == [200] * 10, [r.text for r in replies]
    pairs = {(r.json()["accessToken"], r.json()["refreshToken"]) for r in replies}
    assert len(pairs) == 1
    [(access, refresh)] = pairs
    assert httpx.get(f"{base_url}/v1/me", headers={"authorization": f"Bearer {access}"}).status_code == 200
    assert httpx.post(f"{base_url}/v1/auth/refresh", json={"refreshToken": refresh}).status_code == 200


def test_a_nul_in_the_sign_in_email_is_a_clean_422(base_url: str) -> None:
    reply = httpx.post(f"{base_url}/v1/auth/login", json={"email": "demo\u0000@leadflood.local", "password": "x"})
    body = assert_problem(reply, 422)
    assert body["errors"] == [{"field": "email", "message": "Not a valid email address"}]
    assert "UTF8" not in reply.text and "0x00" not in reply.text


def test_a_bad_token_is_not_valid_without_the_library_s_reason(base_url: str) -> None:
    for token in ("abc", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"):
        reply = httpx.get(f"{base_url}/v1/me", headers={"authorization": f"Bearer {token}"})
        detail = assert_problem(reply, 401)["detail"]
        assert detail == "the access token is not valid; sign in again", detail


def test_local_config_offers_the_demo_login(base_url: str) -> None:
    assert httpx.get(f"{base_url}/v1/config").json() == {"demoLogin": DEMO}
