"""What guards the gateway against its callers, installed in one call: password checks off the event loop,
sign-in limits, the session check of access tokens, per-user rate limits and POST idempotency keys."""

from __future__ import annotations

from fastapi import FastAPI

from gateway import auth, limits
from gateway.config import GatewaySettings
from gateway.idempotency import Idempotency


def install(app: FastAPI, settings: GatewaySettings) -> None:
    """Call before the request-context middleware is added, so it stays outermost (request ids, body limit)."""
    app.state.passwords = auth.Passwords(settings.password_hash_concurrency)
    app.state.sign_in_limits = limits.SignInLimits(
        app.state,  # its database is opened in the lifespan, after this
        limits.SignInPolicy(
            settings.sign_in_max_failures_per_account,
            settings.sign_in_max_failures_per_address,
            settings.sign_in_window_s,
            settings.sign_in_backoff_s,
        ),
    )
    app.state.sessions = auth.SessionCheck(settings.session_check_cache_s)
    app.state.rate_limiter = limits.RateLimiter(settings.rate_limit_rpm)
    app.add_middleware(Idempotency, ttl_s=settings.idempotency_ttl_s)
