"""The gateway under concurrent load: the leads list at 50 clients beside a bare FastAPI-to-gRPC app, and
GET /health while 20 clients sign in with wrong passwords.

The load comes from a subprocess of the bench (`python -m bench.gateway_load client`, uvloop, a plain
HTTP/1.1 keep-alive client in the manner of wrk): each connection sends its next request as soon as the
last answer is read, so the rate is what the server gives. Each client signs in on its own (one session
and access token each: the gateway checks each sign-in, remembering it for SESSION_CHECK_CACHE_S).

Leads list: GET /v1/leads?limit=50 (the first page with its total, as the web client opens the list) from
CLIENTS connections, WARMUP_S untimed then DURATION_S timed. Its raw limit, measured in the same run: a bare
FastAPI app (subprocesses of the bench, as many as the gateway has processes, on one SO_REUSEPORT port, with
the gateway's own uvicorn settings and event loop) answering GET /bare/leads with one ListLeads call for the
same page, its reply's protobuf bytes as the body: no auth, no middleware, no JSON. The gateway's
ratio to it is what auth, middleware and JSON cost on top of HTTP + gRPC + the leads service + SQL.

Sign-in: GET /health from one connection, one request at a time, alone and then while SIGN_IN_CLIENTS
connections post wrong passwords. The sign-in limits would answer 429 (checking no password) after 5
failures per account and 50 per address: every attempt names an account of its own (unknown accounts are
checked against a dummy hash, as much work as a wrong password) and an address of its own (X-Forwarded-For,
honoured from 127.0.0.1, the FORWARDED_ALLOW_IPS default), so each one costs a password check: the worst
case for the other requests, and the honest one. The 401s and 429s are counted and shown.

CPU per page per process is read from /proc around the timed window: on a machine shared with other work,
wall-clock rates move with the load average, the CPU a page costs much less.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx

from bench import cpu, lead_list
from bench.context import Context, Limit
from bench.report import Row
from bench.walking_slice import percentile

# The bench's stack runs the gateway as this many processes on one port (SO_REUSEPORT): one per core here.
GATEWAY_PROCESSES = 2
CLIENTS = 50
CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
PAGE = 50
SEED = 2_000  # leads loaded into the demo org when it holds fewer (numbered apart from the list figure's)
SEED_FROM = 5_000_001
WARMUP_S = 3.0
DURATION_S = 15.0
TARGET_PAGES_S = 500.0
TARGET_P99_MS = 100.0
SIGN_IN_CLIENTS = 20
HEALTH_TARGET_P99_MS = 20.0
HEALTH_DURATION_S = 10.0
# 50 clients make thousands of requests a minute as one user: the per-user limit is still taken on every
# request (its cost is in the path) but set past what the run makes, so it refuses none.
STACK_ENV = {"RATE_LIMIT_RPM": "100000000"}
SETTINGS = {
    "gatewayProcesses": GATEWAY_PROCESSES,
    "clients": CLIENTS,
    "page": PAGE,
    "seedLeads": SEED,
    "warmupS": WARMUP_S,
    "durationS": DURATION_S,
    "targetPagesPerS": TARGET_PAGES_S,
    "targetP99Ms": TARGET_P99_MS,
    "signInClients": SIGN_IN_CLIENTS,
    "healthDurationS": HEALTH_DURATION_S,
    "healthTargetP99Ms": HEALTH_TARGET_P99_MS,
}
LIST_PATH = f"/v1/leads?limit={PAGE}"
BARE_PATH = f"/bare/leads?limit={PAGE}"


# ----------------------------------------------------------------------------------------------------------
# The load client (a subprocess): `python -m bench.gateway_load client` reads its plan as JSON on stdin.


def _render(template: str, n: int) -> bytes:
    """A request from its template: `{n}` a number of its own, `{ip}` an address made from it; the body
    (after the blank line) gets its Content-Length."""
    text = template.replace("{n}", str(n)).replace("{ip}", f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}")
    head, _, body = text.partition("\r\n\r\n")
    if body:
        head += f"\r\ncontent-length: {len(body.encode())}"
    return (head + "\r\n\r\n" + body).encode()


@dataclass
class _Group:
    name: str
    templates: list[str]  # one per connection, in turn
    connections: int
    ms: list[float] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


async def _connection(
    group: _Group, index: int, host: str, port: int, measure: tuple[float, float], offset: int = 0
) -> None:
    """Requests one after another on a kept-alive connection until the window ends; only those sent within it
    are counted."""
    start, end = measure
    template = group.templates[index % len(group.templates)]
    fixed = None if "{n}" in template else _render(template, 0)
    reader = writer = None
    n = offset + index
    while (now := time.perf_counter()) < end:
        if writer is None:
            reader, writer = await asyncio.open_connection(host, port)
        request = fixed or _render(template, n)
        n += group.connections
        sent = time.perf_counter()
        try:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = head[9:12].decode()
            length = 0
            close = False
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"connection" and value.strip().lower() == b"close":
                    close = True
            if length:
                await reader.readexactly(length)
        except (OSError, asyncio.IncompleteReadError) as error:
            if len(group.errors) < 5:
                group.errors.append(f"{type(error).__name__}: {error}")
            group.statuses["error"] = group.statuses.get("error", 0) + 1
            writer.close()
            reader = writer = None
            continue
        if sent >= start:
            group.ms.append(1000 * (time.perf_counter() - sent))
            group.statuses[status] = group.statuses.get(status, 0) + 1
        if close:
            writer.close()
            reader = writer = None
        del now
    if writer is not None:
        writer.close()


async def _client(plan: dict[str, Any]) -> dict[str, Any]:
    groups = [_Group(g["name"], g["templates"], g["connections"]) for g in plan["groups"]]
    started = time.perf_counter()
    start, end = started + plan["warmup_s"], started + plan["warmup_s"] + plan["duration_s"]
    pids = {name: int(pid) for name, pid in plan.get("pids", {}).items()}

    async def window() -> tuple[dict[str, float], dict[str, float], float, float, tuple[float, float]]:
        await asyncio.sleep(max(0.0, start - time.perf_counter()))
        before, own_before, load_before = cpu.snapshot(pids), time.process_time(), os.getloadavg()[0]
        await asyncio.sleep(max(0.0, end - time.perf_counter()))
        after, own_after = cpu.snapshot(pids), time.process_time()
        return before, after, own_before, own_after, (load_before, os.getloadavg()[0])

    tasks = [
        _connection(group, i, plan["host"], plan["port"], (start, end), plan.get("offset", 0))
        for group in groups
        for i in range(group.connections)
    ]
    measured, *_ = await asyncio.gather(window(), *tasks)
    before, after, own_before, own_after, load = measured
    return {
        "seconds": plan["duration_s"],
        "cpu": cpu.spent(before, after),
        "clientCpuS": own_after - own_before,
        "load": load,
        "groups": {g.name: {"ms": g.ms, "statuses": g.statuses, "errors": g.errors} for g in groups},
    }


def _client_main() -> None:
    plan = json.loads(sys.stdin.read())
    try:
        import uvloop

        result = uvloop.run(_client(plan))
    except ImportError:
        result = asyncio.run(_client(plan))
    json.dump(result, sys.stdout)


# ----------------------------------------------------------------------------------------------------------
# The bare app (subprocesses): `python -m bench.gateway_load bare`, configured by its environment.


def _bare_main() -> None:
    import grpc
    import uvicorn
    from fastapi import FastAPI
    from fastapi.responses import Response

    from gateway import http_server
    from gateway.config import GatewaySettings
    from gateway.routes.leads import ListQuery
    from leadflood.leads.v1 import leads_pb2_grpc
    from leadflood_platform import identity

    # The bench's own identity for the org, minted by the bench process (good for minutes: longer than the run).
    metadata, target = [(identity.METADATA_KEY, os.environ["BARE_AUTHORIZATION"])], os.environ["BARE_TARGET"]
    defaults = GatewaySettings.model_construct()  # the server limits' defaults, as the gateway takes them
    app = FastAPI()
    stub: list[Any] = []

    @app.get("/bare/leads")
    async def leads(limit: int = 50) -> Response:
        if not stub:
            stub.append(leads_pb2_grpc.LeadsServiceStub(grpc.aio.insecure_channel(target)))
        request = ListQuery().request  # as the gateway builds it for GET /v1/leads?limit=..
        request.page_size, request.with_total = limit, True
        reply = await stub[0].ListLeads(request, metadata=metadata, timeout=30)
        return Response(reply.SerializeToString(), media_type="application/x-protobuf")

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    config = http_server.config(
        app,
        port=int(os.environ["BARE_PORT"]),
        max_header_bytes=defaults.max_header_bytes,
        header_timeout_s=defaults.header_timeout_s,
        keep_alive_s=defaults.keep_alive_timeout_s,
    )
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", config.port))
    http_server.run(uvicorn.Server(config), sockets=[sock])


# ----------------------------------------------------------------------------------------------------------
# The figures, in the bench process.


def _gateway_pids(ctx: Context) -> dict[str, int]:
    return {name: pid for name, pid in ctx.pids.items() if name == "gateway" or name.startswith("gateway-")}


async def _run_client(plan: dict[str, Any]) -> dict[str, Any]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.gateway_load",
        "client",
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = await proc.communicate(json.dumps(plan).encode())
    if proc.returncode != 0:
        raise RuntimeError(f"the load client failed: {err.decode()[-2000:]}")
    return json.loads(out)


def _get(path: str, token: str | None, host: str) -> str:
    auth = f"\r\nauthorization: Bearer {token}" if token else ""
    return f"GET {path} HTTP/1.1\r\nhost: {host}{auth}\r\n\r\n"


async def _sign_ins(base_url: str, count: int) -> list[str]:
    """`count` sign-ins of the demo user, a session (and access token) each."""
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
        gate = asyncio.Semaphore(4)

        async def one() -> str:
            async with gate:
                reply = await http.post("/v1/auth/login", json={"email": "demo@leadflood.local", "password": "demo"})
                reply.raise_for_status()
                return str(reply.json()["accessToken"])

        return list(await asyncio.gather(*(one() for _ in range(count))))


async def _seed(ctx: Context, org_id: str) -> int:
    """SEED leads in the org unless it has that many already (the list figure's generator, other numbers)."""
    conn = await asyncpg.connect(ctx.app_dsn)
    try:
        org = uuid.UUID(org_id)
        total = await conn.fetchval("SELECT count(*) FROM leads.leads WHERE org_id = $1", org)
        if total >= SEED:
            return int(total)
        await conn.execute(
            "INSERT INTO leads.score_explanations (org_id, id, rules) VALUES ($1, $2, $3::jsonb)"
            " ON CONFLICT DO NOTHING",
            org,
            lead_list.EXPLANATION_ID,
            lead_list.EXPLANATION,
        )
        lists = lead_list.name_lists()
        await conn.execute(lead_list.LOAD, org, *lists, lead_list.EXPLANATION_ID, SEED_FROM, SEED_FROM + SEED - 1)
        await conn.execute("ANALYZE leads.leads")
        return int(await conn.fetchval("SELECT count(*) FROM leads.leads WHERE org_id = $1", org))
    finally:
        await conn.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _start_bare(ctx: Context, org_id: str, processes: int) -> tuple[int, list[subprocess.Popen[bytes]]]:
    from leadflood_platform import identity

    port = _free_port()
    env = os.environ | {
        "BARE_AUTHORIZATION": identity.metadata_for(org_id)[0][1],
        "BARE_TARGET": ctx.grpc_targets["leads"],
        "BARE_PORT": str(port),
    }
    procs = _spawn_bare(env, processes)
    deadline = time.monotonic() + 30
    async with httpx.AsyncClient(timeout=2) as http:
        while True:
            try:
                if (await http.get(f"http://127.0.0.1:{port}/health")).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            dead = [p for p in procs if p.poll() is not None]
            if dead or time.monotonic() > deadline:
                _stop(procs)
                tail = dead[0].stderr.read().decode()[-2000:] if dead and dead[0].stderr else "no answer"
                raise RuntimeError(f"the bare app did not start: {tail}")
            await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)  # every process listening, not only the first
    return port, procs


def _spawn_bare(env: dict[str, str], processes: int) -> list[subprocess.Popen[bytes]]:
    command = [sys.executable, "-m", "bench.gateway_load", "bare"]
    return [
        subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # noqa: S603
        for _ in range(processes)
    ]


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@dataclass
class Load:
    pages_s: float
    ms: list[float]
    statuses: dict[str, int]
    cpu_ms: dict[str, float]  # per page, per process
    load: tuple[float, float]

    def describe(self, label: str) -> str:
        spent = ", ".join(f"{name} {ms:.2f}" for name, ms in self.cpu_ms.items() if ms >= 0.01)
        everything = sum(self.cpu_ms.values())
        # What the CPU a page costs allows, whatever the machine's load: the cores all to ourselves, and the
        # leads service's one process a core to itself.
        ceilings = f"{CORES} idle cores would allow {1000 * CORES / everything:,.0f} pages/s" if everything else ""
        if self.cpu_ms.get("leads"):
            ceilings += f", the leads service's one process {1000 / self.cpu_ms['leads']:,.0f}"
        return (
            f"  {label}: {self.pages_s:,.0f} pages/s, p50 {statistics.median(self.ms):.1f} / p99 "
            f"{percentile(self.ms, 99):.1f} ms, answers {self.statuses}; load {self.load[0]:.1f} -> {self.load[1]:.1f};"
            f" CPU ms a page: {spent} (all {everything:.2f}: {ceilings})"
        )


async def _list_load(port: int, template: list[str], pids: dict[str, int]) -> Load:
    plan = {
        "host": "127.0.0.1",
        "port": port,
        "warmup_s": WARMUP_S,
        "duration_s": DURATION_S,
        "pids": pids,
        "groups": [{"name": "list", "templates": template, "connections": CLIENTS}],
    }
    result = await _run_client(plan)
    group = result["groups"]["list"]
    ok = group["statuses"].get("200", 0)
    if not group["ms"] or ok < len(group["ms"]) * 0.99:
        raise RuntimeError(f"the leads list answered {group['statuses']} ({group['errors']})")
    pages = len(group["ms"])
    per_page = {name: 1000 * s / pages for name, s in result["cpu"].items()}
    per_page["load client"] = 1000 * result["clientCpuS"] / pages
    return Load(pages / result["seconds"], sorted(group["ms"]), group["statuses"], per_page, tuple(result["load"]))


async def rows(ctx: Context) -> list[Row]:
    base = ctx.base_url.removeprefix("http://")
    host, port = base.split(":")[0], int(base.split(":")[1])
    tokens = await _sign_ins(ctx.base_url, CLIENTS)
    async with httpx.AsyncClient(base_url=ctx.base_url, timeout=30) as http:
        me = await http.get("/v1/me", headers={"authorization": f"Bearer {tokens[0]}"})
        me.raise_for_status()
        org_id = me.json()["orgId"]
    leads = await _seed(ctx, org_id) if ctx.app_dsn else 0
    gateways = _gateway_pids(ctx)
    pids = {**gateways, **{name: pid for name, pid in ctx.pids.items() if name in ("leads", "postgres")}}
    ctx.progress(f"gateway load: {len(gateways)} gateway process(es), {leads:,} leads; bare app...")

    bare_port, bare = await _start_bare(ctx, org_id, len(gateways))
    try:
        bare_pids = pids | {f"bare-{i}": p.pid for i, p in enumerate(bare)}
        bare_pids = {k: v for k, v in bare_pids.items() if k not in gateways}
        raw = await _list_load(bare_port, [_get(BARE_PATH, None, host)], bare_pids)
    finally:
        _stop(bare)
    ctx.progress("gateway load: the leads list at the gateway...")
    real = await _list_load(port, [_get(LIST_PATH, token, host) for token in tokens], pids)

    ctx.progress("gateway load: GET /health alone, then beside wrong passwords...")
    alone, flooded, sign_in = await _health(host, port, pids)
    ctx.progress("gateway load: done", last=True)

    bare_limit = Limit("bare_list_pages_s", f"bare FastAPI->gRPC ListLeads, c{CLIENTS}", raw.pages_s, "pages/s")
    bare_p99 = Limit("bare_list_p99", f"bare FastAPI->gRPC ListLeads, c{CLIENTS}, p99", percentile(raw.ms, 99), "ms")
    health_limit = Limit("health_p99_alone", "GET /health p99 alone", percentile(alone, 99), "ms")
    at = f"load {real.load[0]:.1f}-{real.load[1]:.1f}"
    rate_met = "met" if real.pages_s >= TARGET_PAGES_S else "NOT met"
    p99_met = "met" if percentile(real.ms, 99) < TARGET_P99_MS else "NOT met"
    health_p99 = percentile(flooded, 99)
    health_met = "met" if health_p99 < HEALTH_TARGET_P99_MS else "NOT met"
    ctx.notes.append(
        f"gateway load ({len(gateways)} gateway process(es), {leads:,} leads in the org; GET {LIST_PATH}, "
        f"{CLIENTS} connections, {WARMUP_S:g} s warm-up + {DURATION_S:g} s timed):"
    )
    ctx.notes.append(raw.describe(f"bare FastAPI->gRPC ({len(bare)} process(es), protobuf body)"))
    ctx.notes.append(real.describe("gateway, real path (auth, middleware, JSON)"))
    ctx.notes.append(
        f"  GET /health, one connection: alone p50 {statistics.median(alone):.1f} / p99 {percentile(alone, 99):.1f} ms"
        f" (n={len(alone)}); beside {SIGN_IN_CLIENTS} wrong-password clients p50 {statistics.median(flooded):.1f} / "
        f"p99 {health_p99:.1f} / max {flooded[-1]:.1f} ms (n={len(flooded)}); sign-ins {sign_in}"
    )
    raw_label = f"raw: bare FastAPI->gRPC ListLeads, page of {PAGE}, c{CLIENTS}"
    return [
        Row(raw_label, raw.pages_s, "pages/s"),
        Row(f"{raw_label} p99", percentile(raw.ms, 99), "ms"),
        Row(
            f"GET /v1/leads page of {PAGE}, c{CLIENTS}, gateway",
            real.pages_s,
            "pages/s",
            bare_limit,
            f"target >= {TARGET_PAGES_S:g}: {rate_met} ({at})",
        ),
        Row(
            f"GET /v1/leads page of {PAGE}, c{CLIENTS}, gateway p99",
            percentile(real.ms, 99),
            "ms",
            bare_p99,
            f"target < {TARGET_P99_MS:g} ms: {p99_met} ({at})",
        ),
        Row("raw: GET /health p99, one connection, alone", health_limit.value, "ms"),
        Row(
            f"GET /health p99 beside {SIGN_IN_CLIENTS} wrong-password sign-in clients",
            health_p99,
            "ms",
            health_limit,
            f"target < {HEALTH_TARGET_P99_MS:g} ms: {health_met} (load {sign_in['load']})",
        ),
    ]


async def _health(host: str, port: int, pids: dict[str, int]) -> tuple[list[float], list[float], dict[str, Any]]:
    health = {"name": "health", "templates": [_get("/health", None, host)], "connections": 1}
    common = {"host": host, "port": port, "warmup_s": 1.0, "duration_s": HEALTH_DURATION_S, "pids": pids}
    alone = await _run_client(common | {"groups": [health]})
    body = '{"email": "nobody-{n}@bench.invalid", "password": "wrong"}'
    login = (
        f"POST /v1/auth/login HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/json\r\n"
        f"x-forwarded-for: {{ip}}\r\n\r\n{body}"
    )
    # Numbers apart from run to run (a second bench on the same stack): every attempt its own account and address.
    offset = int(time.time()) % 100_000 * 100
    flood = {"name": "sign-in", "templates": [login], "connections": SIGN_IN_CLIENTS}
    flooded = await _run_client(common | {"groups": [health, flood], "offset": offset})
    attempts = flooded["groups"]["sign-in"]
    seconds = flooded["seconds"]
    answers = attempts["statuses"]
    per = {name: 1000 * s / max(1, len(attempts["ms"])) for name, s in flooded["cpu"].items()}
    sign_in = {
        "per_s": round(len(attempts["ms"]) / seconds, 1),
        "answers": answers,
        "p50_ms": round(statistics.median(attempts["ms"]), 1) if attempts["ms"] else None,
        "cpu_ms_each": {k: round(v, 1) for k, v in per.items() if v >= 0.05},
        "load": f"{flooded['load'][0]:.1f}-{flooded['load'][1]:.1f}",
    }
    if answers.get("429"):
        sign_in["note"] = "429s: some attempts refused by the sign-in limits, checking no password"
    return sorted(alone["groups"]["health"]["ms"]), sorted(flooded["groups"]["health"]["ms"]), sign_in


if __name__ == "__main__":
    if sys.argv[1:] == ["client"]:
        _client_main()
    elif sys.argv[1:] == ["bare"]:
        _bare_main()
    else:
        sys.exit("usage: python -m bench.gateway_load client|bare")
