"""The request, org and job a piece of work belongs to, carried across awaits for logs and calls."""

from __future__ import annotations

import contextlib
import contextvars
import uuid
from collections.abc import Iterator

from leadflood_platform.errors import Unauthenticated

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
org_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("org_id", default=None)
user_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("user_id", default=None)
job_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("job_id", default=None)
# Who made the call being served (its verified identity's name: `gateway`, a service, `team:<name>`).
caller: contextvars.ContextVar[str | None] = contextvars.ContextVar("caller", default=None)

_VARS = {"request_id": request_id, "org_id": org_id, "user_id": user_id, "job_id": job_id, "caller": caller}

# gRPC metadata keys a caller sets and every service reads. Only what is safe to take on trust: the org
# and user come from the call's signed identity (leadflood_platform.identity), never from metadata.
METADATA_KEYS = {"request_id": "x-request-id"}


def current() -> dict[str, str]:
    """The known context values, for log records and outgoing metadata."""
    return {name: value for name, var in _VARS.items() if (value := var.get()) is not None}


@contextlib.contextmanager
def bound(**values: str | None) -> Iterator[None]:
    """Set context values for the duration of a block, restoring the previous ones after."""
    tokens = [(_VARS[name], _VARS[name].set(value)) for name, value in values.items()]
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


def outgoing_metadata() -> list[tuple[str, str]]:
    """The context as gRPC metadata for a call to another service."""
    values = current()
    return [(key, values[name]) for name, key in METADATA_KEYS.items() if name in values]


def require_org() -> uuid.UUID:
    """The caller's org; every query a service runs is scoped by it."""
    value = org_id.get()
    try:
        return uuid.UUID(value or "")
    except ValueError:
        raise Unauthenticated("this call needs an identity that names an org") from None
