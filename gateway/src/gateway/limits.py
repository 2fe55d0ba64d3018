"""Limits on callers: failed sign-ins per account and per client address (in PostgreSQL, so every gateway
process and a restart see them), and requests a minute per signed-in user (in each process's memory)."""

from __future__ import annotations

import datetime as dt
import math
import random
import time
from dataclasses import dataclass
from typing import Any

from gateway.problems import Problem

RATE_POLICY = "peruser"


@dataclass(frozen=True)
class SignInPolicy:
    max_per_account: int
    max_per_address: int
    window_s: int
    backoff_s: float


class SignInLimits:
    """Failures counted per key (`account:<email>`, `address:<ip>`) within a window. Past a key's limit it is
    refused for the backoff, doubled with each further failure and never longer than the window; the block
    expires by itself, so an account's owner is never locked out for good, and a success clears the account's
    count. A refused attempt checks no password and counts nothing (an attacker cannot extend a block by
    hammering on it). One read before the password check, one write after a failure."""

    def __init__(self, state: Any, policy: SignInPolicy) -> None:
        self.state, self.policy = state, policy  # the app's state: its `db` is opened in the lifespan

    @property
    def db(self) -> Any:
        return self.state.db

    def _keys(self, email: str, address: str) -> dict[str, int]:
        return {f"account:{email}": self.policy.max_per_account, f"address:{address}": self.policy.max_per_address}

    async def check(self, email: str, address: str) -> None:
        """A 429 problem with Retry-After while either key is blocked."""
        keys = list(self._keys(email, address))
        async with self.db.driver(transaction=False) as conn:
            rows = await conn.fetch(
                "SELECT key, blocked_until, now() AS now FROM sign_in_limits"
                " WHERE key = ANY($1::text[]) AND blocked_until > now()",
                keys,
            )
        if not rows:
            return
        row = max(rows, key=lambda r: r["blocked_until"])
        wait = max(1, math.ceil((row["blocked_until"] - row["now"]).total_seconds()))
        which = "this account" if row["key"].startswith("account:") else "this address"
        raise Problem(
            429,
            f"too many failed sign-ins for {which}; try again in {_words(wait)}",
            headers={"Retry-After": str(wait)},
            extensions={"retryAfterS": wait},
        )

    async def failed(self, email: str, address: str) -> None:
        """Counts a failure against both keys (a new window when the last one is over); a key at its limit is
        blocked for backoff * 2^(failures - limit) seconds from now, at most the window."""
        window = dt.timedelta(seconds=self.policy.window_s)
        keys = self._keys(email, address)
        async with self.db.driver(transaction=True) as conn:
            rows = await conn.fetch(
                """
                INSERT INTO sign_in_limits AS l (key, failures, window_started_at, last_failure_at)
                SELECT key, 1, now(), now() FROM unnest($1::text[]) AS key
                ON CONFLICT (key) DO UPDATE SET
                    failures = CASE WHEN l.window_started_at < now() - $2::interval THEN 1 ELSE l.failures + 1 END,
                    window_started_at = CASE WHEN l.window_started_at < now() - $2::interval
                                             THEN now() ELSE l.window_started_at END,
                    last_failure_at = now()
                RETURNING key, failures
                """,
                list(keys),
                window,
            )
            for row in rows:
                over = row["failures"] - keys[row["key"]]
                if over >= 0:
                    seconds = min(float(self.policy.window_s), self.policy.backoff_s * 2 ** min(over, 30))
                    await conn.execute(
                        "UPDATE sign_in_limits SET blocked_until = now() + make_interval(secs => $2) WHERE key = $1",
                        row["key"],
                        seconds,
                    )
            if random.random() < 0.01:  # noqa: S311 - pruning now and then, not security
                await conn.execute(
                    "DELETE FROM sign_in_limits WHERE last_failure_at < now() - $1::interval"
                    " AND (blocked_until IS NULL OR blocked_until < now())",
                    window,
                )

    async def succeeded(self, email: str) -> None:
        """The owner got in: the account's count starts again (the address's stays: one right password does not
        excuse a thousand wrong ones from there)."""
        async with self.db.driver(transaction=False) as conn:
            await conn.execute("DELETE FROM sign_in_limits WHERE key = $1", f"account:{email}")


def _words(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    return f"{math.ceil(seconds / 60)} minutes"


@dataclass
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    """A token bucket per user: `rpm` requests at once, refilled at rpm/60 a second. In this process's memory:
    with N gateway worker processes a user may get up to N times the limit (each worker sees its share of the
    requests; set RATE_LIMIT_RPM to the total divided by the worker count to keep the total)."""

    def __init__(self, rpm: int) -> None:
        self.rpm = max(1, rpm)
        self.per_s = self.rpm / 60
        self._buckets: dict[str, _Bucket] = {}
        self.policy_header = f'"{RATE_POLICY}";q={self.rpm};w=60'

    def take(self, user_id: str) -> tuple[bool, dict[str, str]]:
        """Whether the request may go ahead, and the RateLimit fields (draft-ietf-httpapi-ratelimit-headers) to
        answer with: `r` the requests left, `t` seconds until the bucket is full again; Retry-After when refused."""
        now = time.monotonic()
        bucket = self._buckets.get(user_id)
        if bucket is None:
            if len(self._buckets) > 100_000:  # users idle a minute have full buckets: forgetting them is exact
                self._buckets = {k: b for k, b in self._buckets.items() if now - b.at < 60}
            bucket = self._buckets[user_id] = _Bucket(float(self.rpm), now)
        else:
            bucket.tokens = min(float(self.rpm), bucket.tokens + (now - bucket.at) * self.per_s)
            bucket.at = now
        allowed = bucket.tokens >= 1
        if allowed:
            bucket.tokens -= 1
        remaining = int(bucket.tokens)
        full_in = math.ceil((self.rpm - bucket.tokens) / self.per_s)
        headers = {"RateLimit-Policy": self.policy_header, "RateLimit": f'"{RATE_POLICY}";r={remaining};t={full_in}'}
        if not allowed:
            headers["Retry-After"] = str(max(1, math.ceil((1 - bucket.tokens) / self.per_s)))
        return allowed, headers
