"""POST /v1/auth/login|refresh|logout, GET /v1/me, GET /v1/config."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import Field

from gateway import auth
from gateway.config import DEMO_EMAIL, DEMO_PASSWORD
from gateway.deps import principal
from gateway.routes.schemas import Body

router = APIRouter()


class LoginBody(Body):
    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=1024)


class RefreshBody(Body):
    refresh_token: str = Field(min_length=1, max_length=256)


def _tokens(tokens: auth.Tokens) -> dict[str, Any]:
    return {
        "accessToken": tokens.access_token,
        "refreshToken": tokens.refresh_token,
        "tokenType": "Bearer",
        "expiresIn": tokens.expires_in,
    }


@router.post("/v1/auth/login")
async def login(body: LoginBody, request: Request) -> dict[str, Any]:
    async with request.app.state.db.transaction() as session:
        tokens = await auth.login(
            session=session, policy=request.app.state.token_policy, email=body.email, password=body.password
        )
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
        await auth.logout(session=session, token=body.refresh_token)
    return Response(status_code=204)


@router.get("/v1/me")
async def me(who: Annotated[auth.Principal, Depends(principal)]) -> dict[str, str]:
    return {"userId": who.user_id, "orgId": who.org_id, "email": who.email}


@router.get("/v1/config")
async def client_config(request: Request) -> dict[str, Any]:
    """What the web client needs before sign-in; the demo login only in the local default."""
    config: dict[str, Any] = {}
    if request.app.state.settings.demo_enabled():
        config["demoLogin"] = {"email": DEMO_EMAIL, "password": DEMO_PASSWORD}
    return config
