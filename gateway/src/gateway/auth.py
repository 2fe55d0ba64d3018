"""Sign-in: password check (off the event loop), short-lived access tokens tied to their sign-in, rotating
refresh tokens with a grace window for racing tabs and reuse detection after it."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import hmac
import logging
import multiprocessing
import os
import random
import secrets
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

import jwt
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway import hashing
from gateway.models import Membership, Org, RefreshToken, User
from leadflood_platform.errors import AlreadyExists, Unauthenticated

log = logging.getLogger(__name__)
hasher = hashing.hasher
# Verified against when the email is unknown, so a miss costs as much as a wrong password.
_DUMMY_HASH = hasher.hash("not-a-real-password")
NOT_VALID = "the access token is not valid; sign in again"


class Passwords:
    """Argon2 hashing and checking off the event loop, in `concurrency` processes of their own (gateway/hashing.py):
    a hash takes tens of milliseconds of CPU, which on the event loop stalled every other request behind a flood
    of wrong passwords, and as threads of the gateway's own process still crowded its event loop out. The pool's
    size bounds how many run at once; the rest wait their turn. A hashing process that dies (killed, out of
    memory) is replaced: the pool is made anew and the check tried once more."""

    def __init__(self, concurrency: int) -> None:
        self.concurrency = max(1, concurrency)
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        # spawn, not fork: the gateway's process has gRPC's threads by then, which a fork does not survive.
        return ProcessPoolExecutor(
            max_workers=self.concurrency,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=hashing.start,
            initargs=(os.getpid(),),
        )

    async def _run(self, fn: Any, *args: Any) -> Any:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool, fn, *args)
        except BrokenProcessPool:
            log.warning("a password-hashing process died; starting them again")
            broken, self._pool = self._pool, self._new_pool()
            broken.shutdown(wait=False, cancel_futures=True)
            return await loop.run_in_executor(self._pool, fn, *args)

    async def start(self) -> None:
        """Starts the processes now (each takes a moment to import), not on the first sign-in."""
        await asyncio.gather(*(self._run(hashing.ready) for _ in range(self.concurrency)))

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """Whether `password` matches; an unknown user (None) costs a check all the same."""
        matched = await self._run(hashing.check, password_hash or _DUMMY_HASH, password)
        return bool(matched) and password_hash is not None

    async def hash(self, password: str) -> str:
        return str(await self._run(hashing.make, password))

    def close(self) -> None:
        # Waits for a check under way (a fraction of a second): not waiting left the pool's exit hook writing to
        # a closed pipe when the process ended ("Bad file descriptor" on stderr).
        self._pool.shutdown(wait=True, cancel_futures=True)


@dataclass(frozen=True)
class Principal:
    user_id: str
    org_id: str
    email: str
    # The sign-in (refresh token family) the access token belongs to: signing out revokes it.
    session_id: str = ""
    # The user's role in the org, read afresh (within SESSION_CHECK_CACHE_S) on every request.
    role: str = "viewer"


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str
    expires_in: int


@dataclass(frozen=True)
class TokenPolicy:
    secret: str
    access_ttl_s: int
    refresh_ttl_s: int
    # A rotated refresh token presented again this soon gets the same new pair; later, it revokes its family.
    refresh_grace_s: float = 10.0


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _successor(policy: TokenPolicy, token: str) -> str:
    """The refresh token that replaces `token`: derived from it with the server's secret, so a refresh racing
    itself (two tabs) computes the same one without the plain token ever being stored."""
    digest = hmac.new(policy.secret.encode(), b"refresh:" + token.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def decode_access(policy: TokenPolicy, token: str) -> Principal:
    """The token's principal; any fault is "not valid" to the caller, and the library's reason goes to the log."""
    return _decode_access(policy, token)[0]


def _decode_access(policy: TokenPolicy, token: str) -> tuple[Principal, float]:
    try:
        claims = jwt.decode(token, policy.secret, algorithms=["HS256"], options={"require": ["exp", "sub"]})
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("the access token has expired; refresh it or sign in again") from None
    except jwt.PyJWTError as exc:
        log.info("access token refused", extra={"reason": str(exc)})
        raise Unauthenticated(NOT_VALID) from None
    if claims.get("typ") != "access" or not all(isinstance(claims.get(k), str) for k in ("sub", "org", "email")):
        log.info("access token refused", extra={"reason": "not an access token"})
        raise Unauthenticated(NOT_VALID)
    who = Principal(
        user_id=claims["sub"], org_id=claims["org"], email=claims["email"], session_id=str(claims.get("sid", ""))
    )
    return who, float(claims["exp"])


class AccessTokens:
    """Access tokens already verified, remembered until they expire: a client sends the same token on every
    request for minutes, and checking its signature and claims again each time was about a twentieth of a
    listed page's CPU at the gateway. Only a token that passed every check is remembered, and only for its
    policy (its secret); a remembered one past its `exp` is decoded again, and refused as expired. Whether its
    sign-in is still live is SessionCheck's question, asked on every request all the same."""

    MAX = 50_000

    def __init__(self) -> None:
        self._known: dict[tuple[TokenPolicy, str], tuple[Principal, float]] = {}

    def principal(self, policy: TokenPolicy, token: str) -> Principal:
        key = (policy, token)
        known = self._known.get(key)
        if known is not None and known[1] > time.time():
            return known[0]
        who, expires = _decode_access(policy, token)
        if len(self._known) >= self.MAX:  # one entry per live token; expired ones go when it grows this large
            now = time.time()
            self._known = {k: v for k, v in self._known.items() if v[1] > now}
            if len(self._known) >= self.MAX:
                self._known.clear()
        self._known[key] = (who, expires)
        return who


def _access_token(policy: TokenPolicy, user: User, family_id: uuid.UUID, issued: int) -> str:
    claims = {
        "sub": str(user.id),
        "org": str(user.org_id),
        "email": user.email,
        "sid": str(family_id),
        "typ": "access",
        "iat": issued,
        "exp": issued + policy.access_ttl_s,
    }
    return jwt.encode(claims, policy.secret, algorithm="HS256")


async def _issue(
    session: AsyncSession, policy: TokenPolicy, user: User, family_id: uuid.UUID, refresh: str, issued: dt.datetime
) -> Tokens:
    session.add(
        RefreshToken(
            token_hash=_hash(refresh),
            family_id=family_id,
            user_id=user.id,
            expires_at=issued + dt.timedelta(seconds=policy.refresh_ttl_s),
        )
    )
    return Tokens(_access_token(policy, user, family_id, int(issued.timestamp())), refresh, policy.access_ttl_s)


async def find_user(*, session: AsyncSession, email: str) -> User | None:
    return (await session.execute(select(User).where(User.email == email))).scalar_one_or_none()


async def sign_in(*, session: AsyncSession, policy: TokenPolicy, user: User) -> Tokens:
    """A new sign-in (refresh token family) for a user whose password was checked."""
    issued = dt.datetime.now(dt.UTC).replace(microsecond=0)
    return await _issue(session, policy, user, uuid.uuid4(), secrets.token_urlsafe(32), issued)


async def refresh(*, session: AsyncSession, policy: TokenPolicy, token: str) -> Tokens:
    """Rotate: the presented token is spent and its successor issued. Presented again within the grace window
    (two tabs refreshing at once), it gets that same pair; after it, it is a replay and revokes its family."""
    stored = (
        await session.execute(select(RefreshToken).where(RefreshToken.token_hash == _hash(token)).with_for_update())
    ).scalar_one_or_none()
    if stored is None:
        raise Unauthenticated("the refresh token is not valid; sign in again")
    if stored.revoked_at is not None:
        raise Unauthenticated("this sign-in has ended; sign in again")
    now = dt.datetime.now(dt.UTC)
    user = await session.get(User, stored.user_id)
    assert user is not None  # a foreign key guarantees it
    if stored.used_at is not None:
        if (now - stored.used_at).total_seconds() <= policy.refresh_grace_s:
            issued = int(stored.used_at.timestamp())
            access = _access_token(policy, user, stored.family_id, issued)
            return Tokens(access, _successor(policy, token), policy.access_ttl_s)
        await revoke_family(session=session, family_id=stored.family_id)
        log.warning("refresh token replayed; its sign-in is revoked", extra={"family_id": str(stored.family_id)})
        raise Unauthenticated("refresh token reused; every session of this sign-in is revoked")
    if stored.expires_at <= now:
        raise Unauthenticated("the refresh token has expired; sign in again")
    # Whole seconds, as the access token's iat: a racing refresh rebuilds the very same pair from it.
    stored.used_at = now.replace(microsecond=0)
    return await _issue(session, policy, user, stored.family_id, _successor(policy, token), stored.used_at)


async def revoke_family(*, session: AsyncSession, family_id: uuid.UUID) -> None:
    now = dt.datetime.now(dt.UTC)
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


async def logout(*, session: AsyncSession, token: str) -> uuid.UUID | None:
    """Ends the token's sign-in (its refresh tokens and access tokens); the ended family's id, if any."""
    stored = (
        await session.execute(select(RefreshToken).where(RefreshToken.token_hash == _hash(token)))
    ).scalar_one_or_none()
    if stored is None:
        return None
    await revoke_family(session=session, family_id=stored.family_id)
    return stored.family_id


class SessionCheck:
    """An access token's sign-in still live (not signed out, not revoked as a replay) and its user's role in the
    org now (a changed role or a removal holds at once, not when the token expires): one indexed read,
    remembered for a couple of seconds per sign-in so a busy client costs one read per interval. Another worker
    process learns of a sign-out within that interval; this one at once."""

    def __init__(self, ttl_s: float) -> None:
        self.ttl_s = ttl_s
        self._known: dict[str, tuple[float, str | None]] = {}

    def forget(self, session_id: str | None = None) -> None:
        """Forget one sign-in, or every one (a role changed: the next request reads it again)."""
        if session_id is None:
            self._known.clear()
        else:
            self._known.pop(session_id, None)

    async def role(self, db: Any, who: Principal) -> str | None:
        """The user's role, or None when the sign-in has ended or the user is no longer in the org."""
        now = time.monotonic()
        known = self._known.get(who.session_id)
        if known and known[0] > now:
            return known[1]
        try:
            family, user, org = uuid.UUID(who.session_id), uuid.UUID(who.user_id), uuid.UUID(who.org_id)
        except ValueError:
            return None
        async with db.driver(transaction=False) as conn:
            role = await conn.fetchval(
                "SELECT m.role FROM memberships m WHERE m.user_id = $2 AND m.org_id = $3 AND NOT EXISTS"
                " (SELECT 1 FROM refresh_tokens t WHERE t.family_id = $1 AND t.revoked_at IS NOT NULL)",
                family,
                user,
                org,
            )
        if len(self._known) > 50_000:  # one entry per live sign-in; old ones go when it grows this large
            self._known = {k: v for k, v in self._known.items() if v[0] > now}
        # Each kept for between half and all of the interval: sign-ins made together (a team opening the app, a
        # load test) would otherwise all expire together and their checks queue for the pool's connections at once.
        self._known[who.session_id] = (now + self.ttl_s * (0.5 + random.random() / 2), role)
        return role


async def create_user(
    *, session: AsyncSession, org_name: str, email: str, password: str, role: str | None = None
) -> User:
    """A user in the org of that name (created if new, the user its owner; else a member unless `role` says);
    the operator's way to add people."""
    email = email.strip().lower()
    if (await session.execute(select(User).where(User.email == email))).scalar_one_or_none():
        raise AlreadyExists(f"user {email} already exists")
    org = (await session.execute(select(Org).where(Org.name == org_name))).scalars().first()
    role = role or ("member" if org else "owner")  # the first user of an org owns it
    if org is None:
        org = Org(id=uuid.uuid4(), name=org_name)
        session.add(org)
        await session.flush()
    user = User(id=uuid.uuid4(), org_id=org.id, email=email, password_hash=hasher.hash(password))
    session.add(user)
    await session.flush()
    session.add(Membership(org_id=org.id, user_id=user.id, role=role))
    await session.flush()
    return user
