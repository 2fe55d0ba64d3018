"""Runs a service: its gRPC server (health, reflection, graceful stop), its outbox relay, its workers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import uvloop
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from sqlalchemy import MetaData

from leadflood.jobs.v1 import jobs_pb2, jobs_pb2_grpc
from leadflood.providers.v1 import providers_pb2, providers_pb2_grpc
from leadflood_platform import identity, logs, metrics, migrations, tracing
from leadflood_platform.bus import Bus
from leadflood_platform.db import Database
from leadflood_platform.interceptors import ContextAndErrors, Identities, Metrics
from leadflood_platform.jobs import JobKind, JobWorker
from leadflood_platform.jobs_servicer import JobsServicer
from leadflood_platform.outbox import OutboxRelay
from leadflood_platform.providers import Provider, ProvidersServicer
from leadflood_platform.settings import ServiceSettings
from leadflood_platform.tables import PlatformTables

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """What a running service process holds: settings, its database, the bus."""

    settings: ServiceSettings
    db: Database
    bus: Bus


@dataclass
class ServiceSpec:
    """Everything the platform needs to run one service; each service declares one of these."""

    name: str
    settings: ServiceSettings
    metadata: MetaData
    tables: PlatformTables
    migrations: Path
    # Adds the service's servicers to the server; returns the full names of the services it added.
    register: Callable[[grpc.aio.Server, Runtime], list[str]]
    job_kinds: Callable[[Runtime], list[JobKind[Any, Any]]] = field(default=lambda runtime: [])
    # Loops the worker process runs beside its jobs until `stop` is set (a scheduler claiming due
    # work, say): each is `async def loop(stop: asyncio.Event) -> None`, built with the runtime.
    loops: Callable[[Runtime], list[Callable[[asyncio.Event], Awaitable[None]]]] = field(default=lambda runtime: [])
    # Likewise in the server process, beside the gRPC server (a listener of another protocol, say).
    server_loops: Callable[[Runtime], list[Callable[[asyncio.Event], Awaitable[None]]]] = field(
        default=lambda runtime: []
    )
    # The third-party providers the service talks to, each configured or not (never a key's value).
    providers: list[Provider] = field(default_factory=list)


async def _until_signalled() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def _start(spec: ServiceSpec) -> Runtime:
    logs.configure(spec.name, spec.settings.log_level)
    # The identity this process's own calls carry (to other services, for the org of the work in hand).
    identity.install(
        identity.Signer(spec.settings.internal_token_keys()[0], spec.name, ttl_s=spec.settings.internal_token_ttl_s)
    )
    tracing.configure(spec.name, spec.settings.otel_exporter_otlp_endpoint)
    metrics.serve(spec.settings.metrics_port)
    db = Database(spec.settings.database_url, pool_size=spec.settings.db_pool_size)
    bus = await Bus.connect(spec.settings.nats_url, name=spec.name)
    return Runtime(spec.settings, db, bus)


async def _watch_database(runtime: Runtime, health_servicer: health.aio.HealthServicer, names: list[str]) -> None:
    """Health follows the database: a service that cannot reach its schema is NOT_SERVING."""
    serving = None
    while True:
        try:
            await asyncio.wait_for(runtime.db.ping(), timeout=2)
            status = health_pb2.HealthCheckResponse.SERVING
        except Exception as exc:  # any failure to reach the database means not ready
            status = health_pb2.HealthCheckResponse.NOT_SERVING
            log.warning("database unreachable", extra={"error": str(exc)})
        if status != serving:
            for name in names:
                await health_servicer.set(name, status)
            serving = status
        await asyncio.sleep(2)


# Each client connection is closed after 5 minutes, so clients resolve the service's pods again and spread their
# calls onto pods added since (grpc_client's round_robin); gracefully: a call in flight (an import streaming its
# file) has 5 minutes more to finish.
SERVER_OPTIONS = [
    ("grpc.max_connection_age_ms", 300_000),
    ("grpc.max_connection_age_grace_ms", 300_000),
    # gRPC binds with SO_REUSEPORT unless told not to: a second server on a taken port would start without a word
    # and take half of the first one's connections. A port in use is an error at start-up instead.
    ("grpc.so_reuseport", 0),
]


async def serve(spec: ServiceSpec) -> None:
    runtime = await _start(spec)
    verifier = identity.Verifier(spec.settings.internal_token_keys())
    interceptors: list[grpc.aio.ServerInterceptor] = [Metrics(), Identities(spec.name, verifier), ContextAndErrors()]
    if spec.settings.otel_exporter_otlp_endpoint:
        from opentelemetry.instrumentation.grpc import aio_server_interceptor

        interceptors.insert(0, aio_server_interceptor())
    server = grpc.aio.server(interceptors=interceptors, options=SERVER_OPTIONS)
    names = spec.register(server, runtime)
    jobs_pb2_grpc.add_JobsServiceServicer_to_server(JobsServicer(runtime.db, spec.tables), server)
    names.append(jobs_pb2.DESCRIPTOR.services_by_name["JobsService"].full_name)
    providers_pb2_grpc.add_ProvidersServiceServicer_to_server(ProvidersServicer(spec.name, spec.providers), server)
    names.append(providers_pb2.DESCRIPTOR.services_by_name["ProvidersService"].full_name)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    for name in ["", *names]:
        await health_servicer.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
    reflection.enable_server_reflection([*names, health.SERVICE_NAME, reflection.SERVICE_NAME], server)
    server.add_insecure_port(f"0.0.0.0:{spec.settings.grpc_port}")
    await server.start()

    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(_watch_database(runtime, health_servicer, ["", *names])),
        asyncio.create_task((relay := OutboxRelay(runtime.db, runtime.bus, spec.tables)).run(stop)),
        asyncio.create_task(relay.report_backlog(stop)),
        *(asyncio.create_task(loop(stop)) for loop in spec.server_loops(runtime)),
    ]
    log.info("serving", extra={"port": spec.settings.grpc_port, "services": names})
    await _until_signalled()
    log.info("shutting down")
    # Tell load balancers first, then let in-flight calls finish.
    await health_servicer.enter_graceful_shutdown()
    stop.set()
    await server.stop(grace=5)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await runtime.bus.close()
    await runtime.db.close()


async def work(spec: ServiceSpec) -> None:
    runtime = await _start(spec)
    worker = JobWorker(
        service=spec.name,
        db=runtime.db,
        bus=runtime.bus,
        tables=spec.tables,
        kinds=spec.job_kinds(runtime),
        backoff_ms=spec.settings.job_retry_backoff_ms,
        ack_wait_ms=spec.settings.job_ack_wait_ms,
        concurrency=spec.settings.job_concurrency,
    )
    stop = asyncio.Event()
    loops = [loop(stop) for loop in spec.loops(runtime)]
    task = asyncio.create_task(_all(worker.run(stop), *loops))
    log.info("worker started", extra={"loops": len(loops)})
    waiter = asyncio.create_task(_until_signalled())
    await asyncio.wait([task, waiter], return_when=asyncio.FIRST_COMPLETED)
    log.info("worker stopping")
    stop.set()
    # In-flight jobs finish (or time out) before the connection drains; unacked ones are redelivered.
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(task, timeout=10)
    log.info("worker drained")
    if task.done() and task.exception():
        raise task.exception()  # type: ignore[misc]
    await runtime.bus.close()
    await runtime.db.close()
    log.info("worker stopped")


async def _all(*parts: Awaitable[None]) -> None:
    """Every part to its end; the first to fail fails the whole (and the worker exits, to be restarted)."""
    await asyncio.gather(*parts)


def _run(main: Coroutine[Any, Any, None]) -> None:
    """Runs on uvloop: the stdlib loop's Python-level socket transports cost a leads list page about a
    sixth of the service's CPU (bench/gateway_load.py); grpc.aio and asyncpg both run on it."""
    uvloop.run(main)


def main(spec_factory: Callable[[], ServiceSpec], argv: list[str]) -> None:
    """`python -m <service> serve|worker|migrate`."""
    command = argv[1] if len(argv) > 1 else "serve"
    spec = spec_factory()
    if command == "migrate":
        logs.configure(spec.name, spec.settings.log_level)
        migrations.upgrade(
            url=spec.settings.database_url,
            schema=spec.name,
            script_location=spec.migrations,
            target_metadata=spec.metadata,
        )
        log.info("migrated")
    elif command == "serve":
        _run(serve(spec))
    elif command == "worker":
        _run(work(spec))
    else:
        raise SystemExit(f"usage: python -m {spec.name} serve|worker|migrate (got {command!r})")
