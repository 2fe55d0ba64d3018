"""GET /health (the process is up) and GET /ready (everything it depends on answers)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from grpc_health.v1 import health_pb2

router = APIRouter()


@router.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


async def _check(name: str, probe: Any) -> tuple[str, str | None]:
    try:
        await asyncio.wait_for(probe, timeout=2)
        return name, None
    except Exception as exc:  # any failure means this dependency is not ready
        return name, str(exc) or type(exc).__name__


async def _service(stub: Any) -> None:
    reply = await stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=2)
    if reply.status != health_pb2.HealthCheckResponse.SERVING:
        raise RuntimeError(health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status))


async def _nats(bus: Any) -> None:
    if not bus.nc.is_connected:
        raise RuntimeError("not connected")
    await bus.nc.flush(timeout=2)


@router.get("/ready")
async def ready(request: Request) -> JSONResponse:
    state = request.app.state
    checks = [_check("database", state.db.ping()), _check("nats", _nats(state.bus))]
    checks += [_check(name, _service(stub)) for name, stub in state.services.health.items()]
    results = dict(await asyncio.gather(*checks))
    down = {name: error for name, error in results.items() if error}
    body = {
        "status": "ready" if not down else "unavailable",
        "checks": {name: ("ok" if not error else f"down: {error}") for name, error in results.items()},
    }
    if down:
        body["detail"] = f"not ready: {', '.join(down)} down"
    return JSONResponse(body, status_code=503 if down else 200)
