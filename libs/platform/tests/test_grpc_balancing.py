"""A channel to a target naming several servers (the pods behind a headless Service) spreads its calls over all of
them, with the servers' own options, and reaches a server again soon after it comes back."""

from __future__ import annotations

import asyncio
import contextlib
import time

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from devstack.ports import free_port
from leadflood_platform import grpc_client
from leadflood_platform.server import SERVER_OPTIONS


class Counted(health.aio.HealthServicer):
    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    async def Check(self, request, context):  # type: ignore[no-untyped-def]
        self.calls += 1
        return health_pb2.HealthCheckResponse(status=health_pb2.HealthCheckResponse.SERVING)


async def test_calls_spread_over_every_address_the_target_names() -> None:
    servers, counters, ports = [], [], []
    for _ in range(3):
        server, counter, port = grpc.aio.server(options=SERVER_OPTIONS), Counted(), free_port()
        health_pb2_grpc.add_HealthServicer_to_server(counter, server)
        server.add_insecure_port(f"127.0.0.1:{port}")
        await server.start()
        servers.append(server), counters.append(counter), ports.append(port)
    target = "ipv4:" + ",".join(f"127.0.0.1:{port}" for port in ports)
    channel = grpc_client.channel(target, timeout_s=5)
    try:
        stub = health_pb2_grpc.HealthStub(channel)
        for _ in range(60):
            await stub.Check(health_pb2.HealthCheckRequest(), wait_for_ready=True)
        calls = [counter.calls for counter in counters]
        # round_robin: each server a third, give or take the first calls made while connections came up.
        assert sum(calls) == 60 and min(calls) >= 10, calls
    finally:
        await channel.close()
        for server in servers:
            await server.stop(None)


async def test_a_server_back_after_an_outage_is_reached_within_seconds() -> None:
    """round_robin reconnects a lost server by itself, with a backoff that grows while it stays away; capped at a
    second between attempts, a service restarted after an outage is called again at once, not minutes later."""
    port = free_port()

    async def serving() -> grpc.aio.Server:
        server = grpc.aio.server(options=SERVER_OPTIONS)
        health_pb2_grpc.add_HealthServicer_to_server(Counted(), server)
        server.add_insecure_port(f"127.0.0.1:{port}")
        await server.start()
        return server

    server = await serving()
    channel = grpc_client.channel(f"127.0.0.1:{port}", timeout_s=1)
    stub = health_pb2_grpc.HealthStub(channel)
    try:
        await stub.Check(health_pb2.HealthCheckRequest())
        await server.stop(None)
        # The outage: 8 s of calls failing (the default backoff would grow past 10 s between attempts by then).
        outage_ends, failed = time.monotonic() + 8, 0
        while time.monotonic() < outage_ends:
            with contextlib.suppress(grpc.aio.AioRpcError):
                await stub.Check(health_pb2.HealthCheckRequest())
            failed += 1
            await asyncio.sleep(0.2)
        assert failed >= 3  # each call fails after its own retries
        server = await serving()
        back = time.monotonic()
        while True:
            try:
                await stub.Check(health_pb2.HealthCheckRequest())
                break
            except grpc.aio.AioRpcError:
                assert time.monotonic() - back < 5, "the channel did not reconnect within 5 s of the server's return"
                await asyncio.sleep(0.05)
        assert time.monotonic() - back < 2.5
    finally:
        await channel.close()
        await server.stop(None)


async def test_a_second_server_on_a_taken_port_fails_to_start() -> None:
    """gRPC binds with SO_REUSEPORT by default: two servers on one port both started, sharing its connections
    (two test stacks' services answered each other's calls). With the servers' options the second one refuses."""
    port = free_port()
    first = grpc.aio.server(options=SERVER_OPTIONS)
    first.add_insecure_port(f"127.0.0.1:{port}")
    await first.start()
    try:
        second = grpc.aio.server(options=SERVER_OPTIONS)
        with contextlib.suppress(RuntimeError):  # grpc.aio raises on a port it cannot bind, or returns 0
            assert second.add_insecure_port(f"127.0.0.1:{port}") == 0
            await second.start()
            raise AssertionError("a second server started on a taken port")
    finally:
        await first.stop(None)
