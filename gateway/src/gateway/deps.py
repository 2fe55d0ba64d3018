"""Request dependencies: the signed-in principal, bound into the context every gRPC call carries,
and the one-value-per-query-parameter rule every route keeps."""

from __future__ import annotations

from collections import Counter

from fastapi import Request

from gateway.auth import Principal, decode_access
from leadflood_platform import context
from leadflood_platform.errors import FieldViolation, InvalidArgument, Unauthenticated


async def principal(request: Request) -> Principal:
    """Async on purpose: it runs in the request's own task, so the context it sets reaches the handler."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated("sign in first: an Authorization: Bearer <access token> header is required")
    who = decode_access(request.app.state.token_policy, token)
    # Each request runs in its own task with a copy of the context: nothing leaks to the next one.
    context.org_id.set(who.org_id)
    context.user_id.set(who.user_id)
    return who


async def query_given_once(request: Request) -> None:
    """Every query parameter this API takes holds one value. FastAPI would keep the last of a repeated
    one silently (`?status=new&status=failed` listing failed leads only), so a repeat is a 422 instead."""
    counts = Counter(key for key, _ in request.query_params.multi_items())
    repeated = [FieldViolation(key, f"given {n} times; give it once") for key, n in counts.items() if n > 1]
    if repeated:
        raise InvalidArgument("a query parameter was given more than once", repeated)
