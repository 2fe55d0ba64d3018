"""Channels to other services: a deadline on every call, retries on UNAVAILABLE, context as metadata."""

from __future__ import annotations

import json
from typing import Any

import grpc

from leadflood_platform import context, identity

SERVICE_CONFIG = {
    # Calls spread over every address the target resolves to (each pod behind a headless Service, with a
    # dns:/// target); one address, as locally, is one connection as before.
    "loadBalancingConfig": [{"round_robin": {}}],
    # Transparent retries for a peer that is briefly down (restart, rollout); never for other codes,
    # because a non-idempotent call that reached the server must not run twice.
    "methodConfig": [
        {
            "name": [{}],
            "retryPolicy": {
                "maxAttempts": 4,
                "initialBackoff": "0.1s",
                "maxBackoff": "1s",
                "backoffMultiplier": 2,
                "retryableStatusCodes": ["UNAVAILABLE"],
            },
        }
    ],
}


class _CallDetails:
    """Adds the default deadline when the caller set none, the request id, and this process's signed identity
    for the org and user of the work in hand (unless the caller brought its own `authorization`)."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s

    def details(self, details: grpc.aio.ClientCallDetails) -> grpc.aio.ClientCallDetails:
        metadata = list(details.metadata or ()) + context.outgoing_metadata()
        if not any(key == identity.METADATA_KEY for key, _ in metadata):
            metadata += identity.outgoing_metadata()
        return details._replace(
            timeout=details.timeout if details.timeout is not None else self.timeout_s,
            metadata=grpc.aio.Metadata(*metadata),
        )


# One interceptor per call shape: a channel files each interceptor under the first shape it implements.
class DeadlineAndContext(_CallDetails, grpc.aio.UnaryUnaryClientInterceptor):
    async def intercept_unary_unary(self, continuation, details, request):  # type: ignore[no-untyped-def]
        return await continuation(self.details(details), request)


class StreamDeadlineAndContext(_CallDetails, grpc.aio.StreamUnaryClientInterceptor):
    async def intercept_stream_unary(self, continuation, details, request_iterator):  # type: ignore[no-untyped-def]
        # Also for a call written to with `write()`: the caller's messages go to the call it gets back.
        return await continuation(self.details(details), request_iterator)


def channel(target: str, *, timeout_s: float, traced: bool = False) -> grpc.aio.Channel:
    interceptors: list[Any] = [DeadlineAndContext(timeout_s), StreamDeadlineAndContext(timeout_s)]
    if traced:
        from opentelemetry.instrumentation.grpc import aio_client_interceptors

        interceptors += aio_client_interceptors()
    return grpc.aio.insecure_channel(
        target,
        options=[
            ("grpc.enable_retries", 1),
            ("grpc.service_config", json.dumps(SERVICE_CONFIG)),
            ("grpc.keepalive_time_ms", 30_000),
            # round_robin reconnects a lost server by itself, with backoff growing to 2 minutes by default: a
            # service restarted in a few seconds would stay unreachable to its callers for as long. Within a
            # cluster a second is plenty between attempts.
            ("grpc.initial_reconnect_backoff_ms", 100),
            ("grpc.min_reconnect_backoff_ms", 100),
            ("grpc.max_reconnect_backoff_ms", 1_000),
        ],
        interceptors=interceptors,
    )
