"""POST /v1/auth/login|refresh|logout, GET /v1/me, GET /v1/config."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from gateway import auth
from gateway.config import DEMO_EMAIL, DEMO_PASSWORD
from gateway.deps import principal
from gateway.routes.schemas import Body
from leadflood_platform.errors import Unauthenticated

router = APIRouter()
TOO_MANY = {429: {"description": "Too many failed sign-ins for this account or address: wait `Retry-After` s."}}


class LoginBody(Body):
    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=1024)

    @field_validator("email")
    @classmethod
    def _no_control_characters(cls, value: str) -> str:
        # A NUL reached PostgreSQL, whose own words came back to the caller; refused here, in ours.
        if any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise PydanticCustomError("email", "Not a valid email address")
        return value.lower()


class RefreshBody(Body):
    refresh_token: str = Field(min_length=1, max_length=256)


def _tokens(tokens: auth.Tokens) -> dict[str, Any]:
    return {
        "accessToken": tokens.access_token,
        "refreshToken": tokens.refresh_token,
        "tokenType": "Bearer",
        "expiresIn": tokens.expires_in,
    }


def client_address(request: Request) -> str:
    """The caller's address: uvicorn takes it from X-Forwarded-For when the peer is a trusted proxy
    (FORWARDED_ALLOW_IPS: the ingress)."""
    return request.client.host if request.client else "unknown"


@router.post("/v1/auth/login", responses=TOO_MANY)
async def login(body: LoginBody, request: Request) -> dict[str, Any]:
    state = request.app.state
    address = client_address(request)
    await state.sign_in_limits.check(body.email, address)  # before any password is checked
    async with state.db.transaction() as session:
        user = await auth.find_user(session=session, email=body.email)
    if not await state.passwords.verify(user.password_hash if user else None, body.password) or user is None:
        await state.sign_in_limits.failed(body.email, address)
        raise Unauthenticated("wrong email or password")
    await state.sign_in_limits.succeeded(body.email)
    async with state.db.transaction() as session:
        tokens = await auth.sign_in(session=session, policy=state.token_policy, user=user)
    return _tokens(tokens)


@router.post("/v1/auth/refresh")
async def refresh(body: RefreshBody, request: Request) -> dict[str, Any]:
    # The reuse check revokes the family and must commit even though the request fails.
    async with request.app.state.db.transaction() as session:
        try:
            tokens = await auth.refresh(
                session=session, policy=request.app.state.token_policy, token=body.refresh_token
            )
        except auth.Unauthenticated as exc:
            error = exc
        else:
            error = None
    if error:
        raise error
    return _tokens(tokens)


@router.post("/v1/auth/logout", status_code=204)
async def logout(body: RefreshBody, request: Request) -> Response:
    async with request.app.state.db.transaction() as session:
        ended = await auth.logout(session=session, token=body.refresh_token)
    if ended:
        request.app.state.sessions.forget(str(ended))  # this process refuses its access tokens at once
    return Response(status_code=204)


@router.get("/v1/me")
async def me(who: Annotated[auth.Principal, Depends(principal)]) -> dict[str, str]:
    return {"userId": who.user_id, "orgId": who.org_id, "email": who.email, "role": who.role}


@router.get("/v1/config")
async def client_config(request: Request) -> dict[str, Any]:
    """What the web client needs before sign-in; the demo login only in the local default."""
    config: dict[str, Any] = {}
    if request.app.state.settings.demo_enabled():
        config["demoLogin"] = {"email": DEMO_EMAIL, "password": DEMO_PASSWORD}
    return config
