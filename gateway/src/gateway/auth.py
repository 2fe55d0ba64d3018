"""Sign-in: password check, short-lived access tokens, rotating refresh tokens with reuse detection."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.models import Org, RefreshToken, User
from leadflood_platform.errors import AlreadyExists, Unauthenticated

hasher = PasswordHasher()
# Verified against when the email is unknown, so a miss costs as much as a wrong password.
_DUMMY_HASH = hasher.hash("not-a-real-password")


@dataclass(frozen=True)
class Principal:
    user_id: str
    org_id: str
    email: str


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


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def decode_access(policy: TokenPolicy, token: str) -> Principal:
    try:
        claims = jwt.decode(token, policy.secret, algorithms=["HS256"], options={"require": ["exp", "sub"]})
    except jwt.PyJWTError as exc:
        raise Unauthenticated(f"invalid access token: {exc}") from None
    if claims.get("typ") != "access":
        raise Unauthenticated("invalid access token: not an access token")
    return Principal(user_id=claims["sub"], org_id=claims["org"], email=claims["email"])


async def _issue(session: AsyncSession, policy: TokenPolicy, user: User, family_id: uuid.UUID) -> Tokens:
    now = int(time.time())
    access = jwt.encode(
        {
            "sub": str(user.id),
            "org": str(user.org_id),
            "email": user.email,
            "typ": "access",
            "iat": now,
            "exp": now + policy.access_ttl_s,
        },
        policy.secret,
        algorithm="HS256",
    )
    refresh = secrets.token_urlsafe(32)
    session.add(
        RefreshToken(
            token_hash=_hash(refresh),
            family_id=family_id,
            user_id=user.id,
            expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=policy.refresh_ttl_s),
        )
    )
    return Tokens(access, refresh, policy.access_ttl_s)


async def login(*, session: AsyncSession, policy: TokenPolicy, email: str, password: str) -> Tokens:
    user = (await session.execute(select(User).where(User.email == email.strip().lower()))).scalar_one_or_none()
    try:
        hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerifyMismatchError, InvalidHashError):
        user = None
    if user is None:
        raise Unauthenticated("wrong email or password")
    return await _issue(session, policy, user, uuid.uuid4())


async def refresh(*, session: AsyncSession, policy: TokenPolicy, token: str) -> Tokens:
    """Rotate: the presented token is spent and a new one issued; a spent token revokes its family."""
    stored = (
        await session.execute(select(RefreshToken).where(RefreshToken.token_hash == _hash(token)).with_for_update())
    ).scalar_one_or_none()
    if stored is None:
        raise Unauthenticated("invalid refresh token")
    now = dt.datetime.now(dt.UTC)
    if stored.used_at is not None:
        await revoke_family(session=session, family_id=stored.family_id)
        raise Unauthenticated("refresh token reused; every session of this sign-in is revoked")
    if stored.expires_at <= now:
        raise Unauthenticated("refresh token expired")
    stored.used_at = now
    user = await session.get(User, stored.user_id)
    assert user is not None  # a foreign key guarantees it
    return await _issue(session, policy, user, stored.family_id)


async def revoke_family(*, session: AsyncSession, family_id: uuid.UUID) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.used_at.is_(None))
        .values(used_at=dt.datetime.now(dt.UTC))
    )


async def logout(*, session: AsyncSession, token: str) -> None:
    stored = (
        await session.execute(select(RefreshToken).where(RefreshToken.token_hash == _hash(token)))
    ).scalar_one_or_none()
    if stored is not None:
        await revoke_family(session=session, family_id=stored.family_id)


async def create_user(*, session: AsyncSession, org_name: str, email: str, password: str) -> User:
    """A user in the org of that name (created if new); the operator's way to add people."""
    email = email.strip().lower()
    if (await session.execute(select(User).where(User.email == email))).scalar_one_or_none():
        raise AlreadyExists(f"user {email} already exists")
    org = (await session.execute(select(Org).where(Org.name == org_name))).scalars().first()
    if org is None:
        org = Org(id=uuid.uuid4(), name=org_name)
        session.add(org)
        await session.flush()
    user = User(id=uuid.uuid4(), org_id=org.id, email=email, password_hash=hasher.hash(password))
    session.add(user)
    await session.flush()
    return user
