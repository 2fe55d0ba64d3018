"""GET /v1/provider-keys: each third-party provider the services talk to, set or unset, never its value. Each
service answers for its own (leadflood.providers.v1, from its own settings); anyone in the org reads it."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import Field

from gateway.auth import Principal
from gateway.deps import principal
from gateway.routes.schemas import Reply, documents
from leadflood.providers.v1 import providers_pb2

router = APIRouter()


class ProviderKey(Reply):
    name: str = Field(description="apollo, hunter, twilio, google_calendar, alert_webhook")
    purpose: str
    service: str = Field(description="The service that uses it")
    settings: list[str] = Field(description="The settings that configure it, by name")
    configured: bool = Field(description="Every setting it needs has a value (the values are never shown)")
    when_unset: str = Field(description="What happens while it is not configured")


class ProviderKeyList(Reply):
    providers: list[ProviderKey]
    unavailable: list[str] = Field(description="Services that did not answer: their providers are missing")


@router.get("/v1/provider-keys", **documents(ProviderKeyList))
async def list_provider_keys(request: Request, who: Annotated[Principal, Depends(principal)]) -> dict[str, Any]:
    stubs = request.app.state.services.providers
    replies = await asyncio.gather(
        *(stub.ListProviders(providers_pb2.ListProvidersRequest()) for stub in stubs.values()), return_exceptions=True
    )
    found = [p for reply in replies if isinstance(reply, providers_pb2.ListProvidersResponse) for p in reply.providers]
    down = [n for n, r in zip(stubs, replies, strict=True) if not isinstance(r, providers_pb2.ListProvidersResponse)]
    return {
        "providers": [
            {
                "name": p.name,
                "purpose": p.purpose,
                "service": p.service,
                "settings": list(p.settings),
                "configured": p.configured,
                "whenUnset": p.when_unset,
            }  # fmt: skip
            for p in sorted(found, key=lambda p: (p.service, p.name))
        ],
        "unavailable": down,
    }
