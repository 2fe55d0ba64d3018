"""The gateway over HTTP: a timeout on every request, connection failures retried, a 401 refreshed once."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from leadflood_cli import credentials

# Connecting is quick or not at all on a local or internal network; an answer may take a few services' calls.
TIMEOUT = httpx.Timeout(15.0, connect=3.0)
# A refused or timed-out connection never reached the gateway, so even a POST is safe to try again:
# twice more, after these pauses (a gateway restarting under `make run` is back within a second or two).
RETRY_BACKOFF_S = (0.3, 1.0)


class ApiError(Exception):
    """The gateway refused: its status and its RFC 9457 problem body."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        super().__init__(problem.get("detail") or f"HTTP {status}")
        self.status, self.problem = status, problem


class Unreachable(Exception):
    """No answer from the gateway at all."""

    def __init__(self, base_url: str, reason: str) -> None:
        super().__init__(reason)
        self.base_url, self.reason = base_url, reason


class NotSignedIn(Exception):
    def __init__(self, base_url: str) -> None:
        super().__init__(f"not signed in to {base_url}: run `leadflood login --email you@example.com` first")


class Gateway:
    def __init__(
        self,
        base_url: str,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url
        self._http = httpx.Client(base_url=base_url, timeout=TIMEOUT, transport=transport)
        self._sleep = sleep

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Gateway:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(self, path: str, **params: Any) -> Any:
        return self.call("GET", path, params={k: v for k, v in params.items() if v not in (None, "")})

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        return self.call("POST", path, body=body)

    def call(self, method: str, path: str, *, body: Any = None, params: Any = None, signed_in: bool = True) -> Any:
        """The answer's JSON (None for an empty one); ApiError for a refusal, Unreachable for no answer."""
        if not signed_in:
            return _json(self._send(method, path, body=body, params=params, token=None))
        tokens = credentials.get(self.base_url)
        if tokens is None:
            # Asked anyway, so a wrong --url is told apart from a missing sign-in.
            reply = self._send(method, path, body=body, params=params, token=None)
            if reply.status_code == 401:
                raise NotSignedIn(self.base_url)
            return _json(reply)
        reply = self._send(method, path, body=body, params=params, token=tokens["accessToken"])
        if reply.status_code == 401 and tokens.get("refreshToken"):
            # Access tokens are short-lived: one refresh, then the request again with the new one.
            tokens = self._refresh(tokens)
            reply = self._send(method, path, body=body, params=params, token=tokens["accessToken"])
        return _json(reply)

    def _refresh(self, tokens: dict[str, Any]) -> dict[str, Any]:
        reply = self._send("POST", "/v1/auth/refresh", body={"refreshToken": tokens["refreshToken"]}, token=None)
        if reply.status_code == 401:
            problem = _problem(reply)
            problem["detail"] = f"{problem.get('detail')}: sign in again with `leadflood login`"
            raise ApiError(401, problem)
        fresh = _json(reply)
        tokens = tokens | {"accessToken": fresh["accessToken"], "refreshToken": fresh["refreshToken"]}
        credentials.put(self.base_url, tokens)
        return tokens

    def _send(self, method: str, path: str, *, body: Any, params: Any = None, token: str | None) -> httpx.Response:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        for pause in (*RETRY_BACKOFF_S, None):
            try:
                return self._http.request(method, path, json=body, params=params, headers=headers)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                if pause is None:
                    raise Unreachable(self.base_url, f"cannot connect ({exc or type(exc).__name__})") from None
                self._sleep(pause)
            except httpx.TimeoutException:
                # It may have acted on the request: not sent again, so a POST never runs twice.
                raise Unreachable(self.base_url, f"no answer within {TIMEOUT.read:g} s") from None
            except httpx.TransportError as exc:
                raise Unreachable(self.base_url, f"the connection failed ({exc or type(exc).__name__})") from None
        raise AssertionError("unreachable")  # the loop returns or raises


def _json(reply: httpx.Response) -> Any:
    if reply.is_error:
        raise ApiError(reply.status_code, _problem(reply))
    return reply.json() if reply.content else None


def _problem(reply: httpx.Response) -> dict[str, Any]:
    """The problem+json body; a body that is not one (a proxy's error page) becomes its first line as the detail."""
    try:
        body = reply.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("detail"):
        return body
    text = reply.text.strip().splitlines()[0][:200] if reply.text.strip() else reply.reason_phrase
    return {"status": reply.status_code, "detail": f"HTTP {reply.status_code}: {text}"}
