"""Internal teams' credentials, and exchanging one for the identity token their gRPC calls carry.

An internal team calls the services directly over gRPC, where every call needs a signed identity
(leadflood_platform.identity). An owner or admin creates the team a credential for this org and the
scopes it needs (`leads:read`, `sequences:*`, ...); the team exchanges it at `POST /v1/oauth/token`, the
OAuth 2.0 client-credentials grant (RFC 6749 section 4.4), for a token that lives five minutes, and
asks again when it runs out. Revoking the credential stops new tokens at once; one already issued
ends with its short life. The secret is shown once, at creation, and stored only as its hash.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import secrets
import uuid
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator
from sqlalchemy import select, update

from gateway import audit
from gateway.auth import Principal
from gateway.deps import principal
from gateway.models import InternalCredential
from gateway.problems import Problem
from gateway.routes.schemas import Body, Reply, documents
from leadflood_platform import identity, registry
from leadflood_platform.errors import NotFound

router = APIRouter()
Who = Annotated[Principal, Depends(principal)]
TOKEN_PATH = "/v1/oauth/token"
CredentialId = Annotated[str, Path(description="The credential's id (its client id)")]
Team = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{1,39}$")]
# The secret's prefix says what it is when one turns up in a log or a repository (as GitHub's tokens do).
SECRET_PREFIX = "lfic_"


def _services() -> set[str]:
    return {service.name for service in registry.services()}


def _valid_scopes(scopes: list[str]) -> list[str]:
    known = _services()
    for scope in scopes:
        service = scope.partition(":")[0]
        if not identity.valid_scope(scope) or (scope != identity.ALL and service not in known):
            raise ValueError(
                f"{scope[:60]!r} is not a scope: use <service>:read, <service>:write or <service>:* with a "
                f"service of {', '.join(sorted(known))}"
            )
    if len(set(scopes)) != len(scopes):
        raise ValueError("each scope once")
    return sorted(scopes)


class NewCredential(Body):
    team: Team = Field(description="The team's short name (lowercase, digits, dashes); tokens name it `team:<team>`")
    scopes: list[str] = Field(min_length=1, max_length=20, description="What its tokens may call, e.g. leads:read")

    _scopes_known = field_validator("scopes")(classmethod(lambda cls, v: _valid_scopes(v)))


class Credential(Reply):
    id: str = Field(description="Also the client id at POST /v1/oauth/token")
    team: str
    scopes: list[str]
    created_at: str
    last_used_at: str | None
    revoked_at: str | None


class NewlyCreated(Credential):
    client_secret: str = Field(description="Shown this once: keep it in the team's secret store")


class CredentialList(Reply):
    credentials: list[Credential]


class Token(BaseModel):
    """RFC 6749 5.1's names, snake_case, as OAuth client libraries read them (the rest of the API is camelCase)."""

    model_config = ConfigDict(extra="forbid")
    access_token: str
    token_type: str
    expires_in: int
    scope: str


def _json(credential: InternalCredential) -> dict[str, Any]:
    def when(value: dt.datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "id": str(credential.id),
        "team": credential.team,
        "scopes": credential.scopes,
        "createdAt": when(credential.created_at),
        "lastUsedAt": when(credential.last_used_at),
        "revokedAt": when(credential.revoked_at),
    }


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@router.post("/v1/internal-credentials", status_code=201, **documents(NewlyCreated, 201))
async def create_credential(body: NewCredential, request: Request, response: Response, who: Who) -> dict[str, Any]:
    """A credential for an internal team's gRPC calls in this org (owners and admins). The secret is in this
    reply only."""
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    credential = InternalCredential(
        id=uuid.uuid4(),
        org_id=uuid.UUID(who.org_id),
        team=body.team,
        scopes=body.scopes,
        secret_hash=_hash(secret),
        created_by=uuid.UUID(who.user_id),
        created_at=dt.datetime.now(dt.UTC),
    )
    async with request.app.state.db.transaction() as session:
        session.add(credential)
        await audit.record(request, who, "internal_credential.created", f"team:{body.team}", session=session,
                           credential=str(credential.id), scopes=body.scopes)  # fmt: skip
    response.headers["Location"] = f"/v1/internal-credentials/{credential.id}"
    return _json(credential) | {"clientSecret": secret}


@router.get("/v1/internal-credentials", **documents(CredentialList))
async def list_credentials(request: Request, who: Who) -> dict[str, Any]:
    """The org's internal credentials, revoked ones included, newest first; never their secrets."""
    async with request.app.state.db.transaction() as session:
        rows = await session.scalars(
            select(InternalCredential)
            .where(InternalCredential.org_id == uuid.UUID(who.org_id))
            .order_by(InternalCredential.created_at.desc())
        )
        return {"credentials": [_json(row) for row in rows]}


@router.delete("/v1/internal-credentials/{credential_id}", status_code=204)
async def revoke_credential(credential_id: CredentialId, request: Request, who: Who) -> Response:
    """Revokes a credential: no new token from now on (one already issued ends within its five minutes)."""
    try:
        key = uuid.UUID(credential_id)
    except ValueError:
        raise NotFound(f"no internal credential {credential_id[:80]!r}") from None
    async with request.app.state.db.transaction() as session:
        credential = await session.scalar(
            select(InternalCredential)
            .where(InternalCredential.id == key, InternalCredential.org_id == uuid.UUID(who.org_id))
            .with_for_update()
        )
        if credential is None:
            raise NotFound(f"no internal credential {credential_id[:80]!r}")
        if credential.revoked_at is None:
            credential.revoked_at = dt.datetime.now(dt.UTC)
            await audit.record(request, who, "internal_credential.revoked", f"team:{credential.team}",
                               session=session, credential=credential_id)  # fmt: skip
    return Response(status_code=204)


def _invalid_client(detail: str) -> Problem:
    # RFC 6749 5.2's error code rides along as an extension, for OAuth client libraries that read it.
    return Problem(401, detail, headers={"WWW-Authenticate": 'Basic realm="leadflood"'},
                   extensions={"error": "invalid_client"})  # fmt: skip


def _client(request: Request, form: dict[str, str]) -> tuple[str, str]:
    """The client id and secret: HTTP Basic (RFC 6749 2.3.1, which clients must support), else the body."""
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            client_id, _, secret = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise _invalid_client("the Basic credentials are not valid base64 of client_id:client_secret") from None
        return client_id, secret
    return form.get("client_id", ""), form.get("client_secret", "")


@router.post(TOKEN_PATH, **documents(Token))
async def token(request: Request, response: Response) -> dict[str, Any]:
    """The client-credentials grant (RFC 6749 4.4): a form with `grant_type=client_credentials` (and
    optionally `scope`, narrower than the credential's), the credential as HTTP Basic client id and secret.
    Answers an identity token for this org's gRPC services, `Bearer` in their `authorization` metadata."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
        raise Problem(415, "send the token request as application/x-www-form-urlencoded (RFC 6749 4.4.2)")
    try:
        pairs = parse_qsl((await request.body()).decode(), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        raise Problem(400, "the form is not UTF-8", extensions={"error": "invalid_request"}) from None
    form = dict(pairs)
    if len(form) != len(pairs):  # RFC 6749 3.2: a parameter sent twice is an invalid request
        raise Problem(400, "each form parameter once", extensions={"error": "invalid_request"})
    if form.get("grant_type") != "client_credentials":
        raise Problem(400, "grant_type must be client_credentials", extensions={"error": "unsupported_grant_type"})
    client_id, secret = _client(request, form)
    try:
        key = uuid.UUID(client_id)
    except ValueError:
        raise _invalid_client("unknown client or wrong secret") from None
    async with request.app.state.db.transaction() as session:
        credential = await session.scalar(select(InternalCredential).where(InternalCredential.id == key))
        # Compared in constant time, and the same answer for an unknown id, a wrong secret and a revoked one
        # until the secret matched: nothing here tells a guesser which part was right.
        if credential is None or not hmac.compare_digest(credential.secret_hash, _hash(secret)):
            raise _invalid_client("unknown client or wrong secret")
        if credential.revoked_at is not None:
            raise _invalid_client("this credential was revoked; ask an admin of the org for a new one")
        asked = form.get("scope", "").split()
        if not set(asked) <= set(credential.scopes):
            raise Problem(400, f"scope beyond the credential's ({' '.join(credential.scopes)})",
                          extensions={"error": "invalid_scope"})  # fmt: skip
        scopes = asked or credential.scopes
        await session.execute(
            update(InternalCredential).where(InternalCredential.id == key).values(last_used_at=dt.datetime.now(dt.UTC))
        )
    signer: identity.Signer = request.app.state.signer
    minted = signer.token(str(credential.org_id), scopes=scopes, caller=f"team:{credential.team}")
    response.headers["Cache-Control"] = "no-store"  # RFC 6749 5.1: a token is never cached
    return {"access_token": minted, "token_type": "Bearer", "expires_in": int(signer.ttl_s), "scope": " ".join(scopes)}
