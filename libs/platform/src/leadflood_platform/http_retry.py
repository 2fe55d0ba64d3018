"""Provider HTTP calls with one stated retry policy: wait out rate limits and outages, fail fast on refusals.

Callers build the client with an explicit deadline, e.g.
`httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=5.0))`, and send only requests that are safe to repeat
(searches and look-ups), because a timed-out attempt may have reached the provider.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar

import httpx

from leadflood_platform.jobs import RetryableJobError

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]


class ProviderRejected(Exception):
    """The provider refused the request as invalid (a 4xx other than 401/403/429); sending it again cannot help.

    The message is the provider's own, so a person can act on it.
    """

    def __init__(self, message: str, *, provider: str, status: int) -> None:
        super().__init__(message)
        self.provider, self.status = provider, status


class ProviderAuthError(ProviderRejected):
    """The provider refused the API key (401/403): a setting to fix, not a fault to retry."""


class ProviderUnavailable(RetryableJobError):
    """Rate-limited, failing or unreachable through every attempt: transient, so the job is tried again later."""

    def __init__(self, message: str, *, provider: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.provider, self.retry_after_s = provider, retry_after_s


class MissingProviderKey(Exception):
    """A real provider was chosen but its API key setting is empty."""

    def __init__(self, setting: str) -> None:
        super().__init__(f"{setting} is not set: set it to use this provider, or choose the sandbox")
        self.setting = setting


async def send_with_retries(
    client: httpx.AsyncClient,
    request: httpx.Request,
    *,
    attempts: int = 4,
    backoff_s: tuple[float, ...] = (0.5, 1.0, 2.0),
    max_retry_after_s: float = 30.0,
    provider: str,
    rate_limit_statuses: frozenset[int] = frozenset({429}),
    sleep: Sleep = asyncio.sleep,
) -> httpx.Response:
    """Send until a 2xx with a JSON body comes back, at most `attempts` times; return it or raise.

    429 (or another status the provider documents as its rate limit) waits for Retry-After when given, else
    backs off; 5xx, timeouts, transport errors and an unparseable 2xx body back off by `backoff_s`.
    A Retry-After beyond `max_retry_after_s` ends the attempts at once: holding a worker that long is worse
    than letting the job's own backoff try again later.
    """
    where = {"provider": provider, "method": request.method, "host": request.url.host, "path": request.url.path}
    for attempt in range(1, attempts + 1):
        delay = backoff_s[min(attempt, len(backoff_s)) - 1] if backoff_s else 0.0
        try:
            response = await client.send(request)
        except httpx.TransportError as exc:  # includes every httpx.TimeoutException
            # The exception's type, never its text or request: the URL may carry a key.
            reason = type(exc).__name__
            status = None
        else:
            status = response.status_code
            if response.is_success:
                if status == 204 or _is_json(response.content):
                    return response
                reason = "malformed JSON in a successful reply"
            elif status in rate_limit_statuses:
                reason = "rate limited"
                asked = retry_after_s(response.headers.get("retry-after"))
                if asked is not None and asked > max_retry_after_s:
                    log.warning("provider asks to wait too long", extra={**where, "status": status, "wait_s": asked})
                    raise ProviderUnavailable(
                        f"{provider}: rate limited; asked to wait {asked:.0f} s", provider=provider, retry_after_s=asked
                    )
                delay = delay if asked is None else asked
            elif status >= 500:
                reason = f"server error {status}"
            elif status in (401, 403):
                log.error("provider refused the API key", extra={**where, "status": status})
                raise ProviderAuthError(provider_message(response), provider=provider, status=status)
            else:
                log.warning("provider rejected the request", extra={**where, "status": status})
                raise ProviderRejected(provider_message(response), provider=provider, status=status)
        if attempt == attempts:
            break
        log.warning(
            "provider call failed; retrying",
            extra={**where, "status": status, "attempt": attempt, "reason": reason, "delay_s": delay},
        )
        await sleep(delay)
    log.error("provider unavailable", extra={**where, "status": status, "attempts": attempts, "reason": reason})
    raise ProviderUnavailable(f"{provider}: {reason} after {attempts} attempts", provider=provider)


def retry_after_s(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After value: delta-seconds or an HTTP-date (RFC 9110 section 10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are always GMT
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def provider_message(response: httpx.Response) -> str:
    """The provider's own words for a refusal: Hunter's `errors[].details`, Apollo's `error` or `message`."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, list):
            details = [str(e.get("details") or e.get("id")) for e in errors if isinstance(e, dict)]
            if details:
                return "; ".join(details)
        for key in ("error", "message"):
            if isinstance(body.get(key), str) and body[key]:
                return body[key]
    text = response.text.strip()
    return text[:300] if text else f"HTTP {response.status_code} {response.reason_phrase}"


def _is_json(content: bytes) -> bool:
    try:
        json.loads(content)
    except ValueError:
        return False
    return True


class ProviderAPI:
    """What every HTTP provider adapter holds (its key, its address, the shared client) and its one way to send.

    A subclass names the provider and builds its requests; `send` applies the retry policy above.
    """

    name: ClassVar[str]
    # The statuses this provider documents as its rate limit.
    rate_limit_statuses: ClassVar[frozenset[int]] = frozenset({429})

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str,
        client: httpx.AsyncClient,
        sleep: Sleep = asyncio.sleep,  # tests pass one that records the waits instead of taking them
    ) -> None:
        self.api_key, self.base_url, self.client, self.sleep = api_key, base_url.rstrip("/"), client, sleep

    async def send(self, method: str, path: str, **options: Any) -> httpx.Response:
        """`options` as httpx's build_request takes them (params, json, headers)."""
        request = self.client.build_request(method, self.base_url + path, **options)
        return await send_with_retries(
            self.client, request, provider=self.name, rate_limit_statuses=self.rate_limit_statuses, sleep=self.sleep
        )
