"""leadflood.providers.v1.ProvidersService: the third-party providers a service talks to, each said to be
configured or not, so the web client's settings can show it without a key's value ever leaving the service."""

from __future__ import annotations

from dataclasses import dataclass

from leadflood.providers.v1 import providers_pb2, providers_pb2_grpc


@dataclass(frozen=True)
class Provider:
    name: str
    purpose: str
    settings: tuple[str, ...]
    configured: bool
    when_unset: str


class ProvidersServicer(providers_pb2_grpc.ProvidersServiceServicer):
    def __init__(self, service: str, providers: list[Provider]) -> None:
        self.reply = providers_pb2.ListProvidersResponse(
            providers=[
                providers_pb2.Provider(
                    name=p.name,
                    purpose=p.purpose,
                    settings=list(p.settings),
                    configured=p.configured,
                    service=service,
                    when_unset=p.when_unset,
                )  # fmt: skip
                for p in providers
            ]
        )

    async def ListProviders(self, request, ctx):  # type: ignore[no-untyped-def]
        return self.reply
