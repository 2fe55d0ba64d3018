"""A STAND-IN for the inbox's DeliveryService, for a service's own tests (sequences, runs) where the real mail
room would make the test about it: idempotent on the key as the real one is, answering each new key with
`answer(request)` (a response, or a status code to fail with). The real mail room's own behaviour is
proved in services/inbox and tests/e2e against a real SMTP server."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from types import SimpleNamespace

import grpc

from leadflood.inbox.v1 import delivery_pb2, delivery_pb2_grpc
from leadflood_platform import context, grpc_client
from leadflood_platform.interceptors import Identities
from tests import internal_identity

Answer = Callable[[delivery_pb2.SendMessageRequest], delivery_pb2.SendMessageResponse | grpc.StatusCode]


def queued(request: delivery_pb2.SendMessageRequest) -> delivery_pb2.SendMessageResponse:
    """Queued, or drafted or simulated as the request asks, as the mail room answers."""
    outcome = delivery_pb2.SEND_OUTCOME_QUEUED
    if request.draft:
        outcome = delivery_pb2.SEND_OUTCOME_DRAFTED
    elif request.dry_run:
        outcome = delivery_pb2.SEND_OUTCOME_SIMULATED
    return delivery_pb2.SendMessageResponse(
        outcome=outcome,
        message_id=str(uuid.uuid4()),
        thread_id=request.thread_id or f"thread-{uuid.uuid4()}",
        status=delivery_pb2.MESSAGE_STATUS_QUEUED,
    )


class StandInDelivery(delivery_pb2_grpc.DeliveryServiceServicer):
    def __init__(self) -> None:
        self.requests: list[delivery_pb2.SendMessageRequest] = []
        self.orgs: list[str | None] = []
        self.messages: dict[str, delivery_pb2.SendMessageResponse] = {}
        self.answer: Answer = queued
        # Set `gate` to hold each answer until it opens; `arrived` is set when a request came in.
        self.gate: asyncio.Event | None = None
        self.arrived = asyncio.Event()

    async def SendMessage(self, request, ctx):  # type: ignore[no-untyped-def]
        self.requests.append(request)
        self.arrived.set()
        if self.gate is not None:
            await self.gate.wait()
        self.orgs.append(context.org_id.get())  # the org of the call's verified identity
        key = request.idempotency_key
        if key in self.messages:
            reply = delivery_pb2.SendMessageResponse()
            reply.CopyFrom(self.messages[key])
            reply.existing = True
            return reply
        answer = self.answer(request)
        if isinstance(answer, grpc.StatusCode):
            await ctx.abort(answer, f"the stand-in refuses: {answer.name}")
        if answer.outcome != delivery_pb2.SEND_OUTCOME_DEFERRED:  # a deferred send is not stored
            self.messages[key] = answer
        return answer

    def keys(self) -> list[str]:
        return [request.idempotency_key for request in self.requests]


async def serve() -> AsyncIterator[SimpleNamespace]:
    """The stand-in on a local port and a stub to it (with the platform's deadlines and retries): for a fixture."""
    servicer = StandInDelivery()
    # Verifying identities as the real mail room does: a caller that sends none is refused here too.
    server = grpc.aio.server(interceptors=[Identities("inbox", internal_identity.verifier())])
    delivery_pb2_grpc.add_DeliveryServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    channel = grpc_client.channel(f"127.0.0.1:{port}", timeout_s=5)
    yield SimpleNamespace(servicer=servicer, stub=delivery_pb2_grpc.DeliveryServiceStub(channel))
    await channel.close()
    await server.stop(None)
