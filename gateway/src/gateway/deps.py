"""Request dependencies: the signed-in principal (its sign-in still live, within its rate limit), bound into
the context every gRPC call carries, and the one-value-per-query-parameter rule every route keeps."""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter

from fastapi import Request
from sqlalchemy.exc import DBAPIError

from gateway.auth import AccessTokens, Principal
from gateway.problems import Problem
from leadflood_platform import context
from leadflood_platform.errors import FieldViolation, InvalidArgument, PermissionDenied, Unauthenticated, Unavailable

log = logging.getLogger(__name__)

RANK = {"viewer": 0, "member": 1, "admin": 2, "owner": 3}
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Managing people, mailboxes, provider keys and internal teams' credentials, and reading the audit log: admins
# and owners. The lists of users and mailboxes are readable by everyone in the org, and so is which providers are
# set up (never a key's value): the web client offers only those, to whoever starts a search, an enrichment or a run.
ADMIN_PATHS = (
    "/v1/users", "/v1/invitations", "/v1/mailboxes", "/v1/provider-keys", "/v1/audit-log", "/v1/internal-credentials"
)  # fmt: skip
READABLE_BY_ALL = ("/v1/users", "/v1/mailboxes", "/v1/provider-keys")
# POSTs that change nothing (a preview, a ticket for the live-updates stream): a viewer may send them.
READ_ONLY_POSTS = frozenset({"/v1/sequences/{sequence_id}/preview", "/v1/events/tickets"})
# A user's own saved views change no data: a viewer keeps theirs too (sharing one is refused in routes/views.py).
PERSONAL_PATHS = ("/v1/views",)
# Access tokens this process has verified (each checked again once it expires).
ACCESS_TOKENS = AccessTokens()


def required_role(method: str, path: str) -> str:
    """The least role a request needs, by its method and route template: the one table of who may do what."""
    if path.startswith(ADMIN_PATHS):
        return "viewer" if method in SAFE_METHODS and path.startswith(READABLE_BY_ALL) else "admin"
    if method in SAFE_METHODS or path in READ_ONLY_POSTS or path.startswith(PERSONAL_PATHS):
        return "viewer"
    return "member"


def reads_system_mail(who: Principal) -> bool:
    """Whether the caller may read system mail (an invitation, whose link lets its holder join the org in the role
    it names): those who may invite, by the table above. The mail room leaves it out for everyone else."""
    return RANK[who.role] >= RANK[required_role("POST", "/v1/invitations")]


def authorize(request: Request, who: Principal) -> None:
    """403 when the caller's role is below what the route needs. Every signed-in route passes here (through
    `principal`), so a route added later is covered by the table above without a line of its own."""
    route = request.scope.get("route")
    path = getattr(route, "path_format", request.url.path)
    needed = required_role(request.method, path)
    if RANK[who.role] < RANK[needed]:
        if who.role == "viewer":
            raise PermissionDenied("a viewer can look but not change anything; ask an admin for the member role")
        raise PermissionDenied(f"only an admin or the owner can do this; your role is {who.role}")


async def principal(request: Request) -> Principal:
    """Async on purpose: it runs in the request's own task, so the context it sets reaches the handler."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated("sign in first: an Authorization: Bearer <access token> header is required")
    state = request.app.state
    who = ACCESS_TOKENS.principal(state.token_policy, token)
    try:
        role = await state.sessions.role(state.db, who)
    except (DBAPIError, OSError) as error:
        log.warning("sign-in not checked: the gateway's database is unreachable", extra={"error": str(error)[:200]})
        raise Unavailable("the sign-in could not be checked just now; try again in a moment") from None
    if role is None:
        raise Unauthenticated("this sign-in has ended (signed out, revoked or removed from the org); sign in again")
    who = dataclasses.replace(who, role=role)
    allowed, limit_headers = state.rate_limiter.take(who.user_id)
    # On whatever answers this request, this 429 and errors included (the request-context middleware adds them).
    request.state.response_headers = limit_headers
    if not allowed:
        raise Problem(
            429,
            f"too many requests: at most {state.rate_limiter.rpm} a minute; try again in "
            f"{limit_headers['Retry-After']} s",
            extensions={"limit": state.rate_limiter.rpm, "retryAfterS": int(limit_headers["Retry-After"])},
        )
    authorize(request, who)
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
