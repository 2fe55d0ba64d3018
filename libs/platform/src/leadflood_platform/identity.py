"""Signed internal identities: who calls a service, for which org, allowed to do what.

Every gRPC call carries `authorization: Bearer <token>`, a short-lived JWT (HS256, RFC 7519) signed with
the internal key every process of the deployment shares. It names the caller (`sub`: `gateway`, a
service, or `team:<name>` for an internal team's credential), the org it acts for (`org`; absent for the
few org-less calls such as inbound mail), the user behind it (`uid`) and its scopes (`scope`,
space-separated as in RFC 8693: `*`, `<service>:*`, `<service>:read`, `<service>:write`).

A service trusts nothing else about its caller: the org every query is scoped by comes from a token it
verified, never from a metadata value a caller could set. Processes mint their own tokens for the calls
they make (the org and user of the work in hand), so a token never outlives a few minutes and never
leaves the deployment; internal teams get theirs from the gateway in exchange for a revocable credential.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Iterable

import jwt

from leadflood_platform import context
from leadflood_platform.errors import PermissionDenied, Unauthenticated

ALGORITHM = "HS256"
ISSUER = "leadflood"
AUDIENCE = "leadflood-internal"
METADATA_KEY = "authorization"
# Clocks of two machines disagree a little; a token minted a second "in the future" is still good.
LEEWAY_S = 30
ALL = "*"
# Method-name verbs that only read: a `<service>:read` scope reaches these and nothing else.
READ_VERBS = ("Get", "List", "Describe", "Preview")
# The services a caller without a token may reach: tooling (health checks, reflection) only.
OPEN_SERVICE_PREFIX = "grpc."


@dataclasses.dataclass(frozen=True)
class Identity:
    caller: str
    org_id: str | None
    user_id: str | None
    scopes: frozenset[str]
    expires_at: float

    def allows(self, service: str, access: str) -> bool:
        """Whether a call needing `<service>:<access>` is within this identity's scopes."""
        return bool({ALL, f"{service}:*", f"{service}:{access}"} & self.scopes)


def access_of(method: str) -> str:
    """`read` for a method that only reads (by its verb), else `write`."""
    name = method.rpartition("/")[2]
    return "read" if name.startswith(READ_VERBS) else "write"


def valid_scope(scope: str) -> bool:
    service, _, access = scope.partition(":")
    return scope == ALL or (service.isidentifier() and access in ("read", "write", "*"))


class Signer:
    """Mints this process's tokens, one per (org, user) reused until half its life has passed."""

    def __init__(self, key: str, caller: str, *, ttl_s: float = 300.0) -> None:
        self._key, self.caller, self.ttl_s = key, caller, ttl_s
        self._minted: dict[tuple[str | None, str | None], tuple[str, float]] = {}

    def token(
        self,
        org_id: str | None,
        user_id: str | None = None,
        *,
        scopes: Iterable[str] = (ALL,),
        caller: str | None = None,
        ttl_s: float | None = None,
    ) -> str:
        """A fresh token; for other scopes, callers or lifetimes than this process's own, never cached."""
        now, ttl = time.time(), ttl_s or self.ttl_s
        claims: dict[str, object] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": caller or self.caller,
            "iat": int(now),
            "exp": int(now + ttl),
            "jti": uuid.uuid4().hex,
            "scope": " ".join(sorted(scopes)),
        }
        if org_id:
            claims["org"] = str(org_id)
        if user_id:
            claims["uid"] = str(user_id)
        return jwt.encode(claims, self._key, algorithm=ALGORITHM)

    def own_token(self, org_id: str | None, user_id: str | None) -> str:
        """This process's token for the work in hand: all scopes, reused while more than half its life is left."""
        key, now = (org_id, user_id), time.time()
        cached = self._minted.get(key)
        if cached and cached[1] > now:
            return cached[0]
        if len(self._minted) > 10_000:
            self._minted.clear()  # one entry per (org, user) seen: a bound, not an eviction policy
        token = self.token(org_id, user_id)
        self._minted[key] = (token, now + self.ttl_s / 2)
        return token


class Verifier:
    """Checks tokens against the current key (and the previous one, while a rotation is under way)."""

    def __init__(self, keys: Iterable[str]) -> None:
        self._keys = [key for key in keys if key]
        if not self._keys:
            raise ValueError("a verifier needs at least one key")
        self._seen: dict[str, Identity] = {}

    def verify(self, authorization: str | None) -> Identity:
        """The identity an `authorization` metadata value proves; Unauthenticated if it proves none."""
        if not authorization:
            raise Unauthenticated("this call needs an identity: send `authorization: Bearer <token>`")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthenticated("the authorization metadata must be `Bearer <token>`")
        known = self._seen.get(token)
        if known is not None and known.expires_at > time.time():
            return known  # verified before: a token is reused for minutes, checking it again is wasted CPU
        identity = self._decode(token.strip())
        if len(self._seen) > 10_000:
            self._seen.clear()
        self._seen[token] = identity
        return identity

    def _decode(self, token: str) -> Identity:
        for key in self._keys:
            try:
                claims = jwt.decode(
                    token,
                    key,
                    algorithms=[ALGORITHM],
                    audience=AUDIENCE,
                    issuer=ISSUER,
                    leeway=LEEWAY_S,
                    options={"require": ["exp", "iat", "sub", "iss", "aud"]},
                )
            except jwt.InvalidSignatureError:
                continue  # maybe signed with the other key of a rotation
            except jwt.PyJWTError:
                break
            return Identity(
                caller=str(claims["sub"]),
                org_id=_org(claims.get("org")),
                user_id=str(claims["uid"]) if claims.get("uid") else None,
                scopes=frozenset(str(claims.get("scope", "")).split()),
                expires_at=float(claims["exp"]),
            )
        # The reason stays out of the reply: it would tell a forger which check to work on next.
        raise Unauthenticated("the identity token is not valid")


def _org(value: object) -> str | None:
    if not value:
        return None
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise Unauthenticated("the identity token is not valid") from None


def require(identity: Identity, service: str, method: str) -> None:
    """PermissionDenied unless the identity's scopes reach this method."""
    access = access_of(method)
    if not identity.allows(service, access):
        raise PermissionDenied(f"{identity.caller} lacks the scope {service}:{access} for {method.rpartition('/')[2]}")


# The process's signer, installed at start-up (a service, a worker, the gateway). Calls made before one
# is installed carry no token, and every service refuses them: UNAUTHENTICATED says what is missing.
_signer: Signer | None = None


def install(signer: Signer | None) -> None:
    global _signer
    _signer = signer


def outgoing_metadata() -> list[tuple[str, str]]:
    """`authorization` for a call made now, naming the org and user of the work in hand."""
    if _signer is None:
        return []
    return [(METADATA_KEY, f"Bearer {_signer.own_token(context.org_id.get(), context.user_id.get())}")]


def metadata_for(org_id: str | None, user_id: str | None = None) -> list[tuple[str, str]]:
    """`authorization` naming another org than the one in hand (a tool or test acting for one it chose)."""
    if _signer is None:
        raise RuntimeError("no identity signer is installed in this process")
    return [bearer(_signer.own_token(org_id, user_id))]


def bearer(token: str) -> tuple[str, str]:
    """The metadata pair that carries a token (for tools and tests that build their own metadata)."""
    return (METADATA_KEY, f"Bearer {token}")
