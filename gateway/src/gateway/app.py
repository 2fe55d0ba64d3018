"""Builds the FastAPI app: middleware, error mapping, routes, the web client; owns start-up and stop."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import IntegrityError

from gateway import auth, guards, openapi, problems
from gateway.clients import Services
from gateway.config import DEMO_EMAIL, DEMO_PASSWORD, GatewaySettings
from gateway.deps import query_given_once
from gateway.middleware import RequestContext
from gateway.routes import auth as auth_routes
from gateway.routes import (
    dashboard,
    events,
    health,
    icps,
    inbox,
    internal_credentials,
    jobs,
    leads,
    mail,
    mailboxes,
    providers,
    runs,
    sequences,
    suppressions,
    team,
    views,
)
from leadflood_platform import identity, metrics
from leadflood_platform.bus import Bus
from leadflood_platform.db import Database

log = logging.getLogger(__name__)


async def _seed_demo(db: Database) -> None:
    # IntegrityError: another gateway process starting at the same time seeded it first.
    with contextlib.suppress(auth.AlreadyExists, IntegrityError):
        async with db.transaction() as session:
            await auth.create_user(session=session, org_name="Demo org", email=DEMO_EMAIL, password=DEMO_PASSWORD)
            log.info("seeded the local demo user", extra={"email": DEMO_EMAIL})


def create_app(settings: GatewaySettings) -> FastAPI:
    token_policy = auth.TokenPolicy(
        settings.jwt_secret(), settings.access_token_ttl_s, settings.refresh_token_ttl_s, settings.refresh_grace_s
    )
    demo = settings.demo_enabled()
    # What the gateway's calls to the services carry: its own identity, for the signed-in user's org.
    signer = identity.Signer(settings.internal_token_keys()[0], "gateway", ttl_s=settings.internal_token_ttl_s)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        metrics.serve(settings.metrics_port)  # its own port (METRICS_PORT), never the public HTTP one
        app.state.db = Database(settings.database_url, pool_size=settings.db_pool_size)
        app.state.bus = await Bus.connect(settings.nats_url, name="gateway")
        identity.install(signer)
        app.state.signer = signer
        app.state.services = Services(settings)
        await app.state.passwords.start()  # the hashing processes, started before the first sign-in waits on them
        await events.start(app, app.state.bus)
        if demo:
            await _seed_demo(app.state.db)
        yield
        await events.stop(app)
        await app.state.services.close()
        app.state.passwords.close()
        await app.state.bus.close()
        await app.state.db.close()

    app = FastAPI(
        title="Lead Flood API",
        version="1",
        description=(
            "Lead Flood's REST API, the one the web client uses. Sign in with POST /v1/auth/login and send its "
            "`accessToken` as `Authorization: Bearer …` (the Authorize button). Every error is an RFC 9457 "
            "problem (`application/problem+json`); a 422 lists its field errors in `errors[]`."
        ),
        lifespan=lifespan,
        docs_url=None,  # served by openapi.install, from the gateway's own pinned Swagger UI
        redoc_url=None,
        dependencies=[Depends(query_given_once)],
    )
    app.state.settings, app.state.token_policy = settings, token_policy
    problems.install(app)
    openapi.install(app)
    routers = (health, auth_routes, icps, leads, jobs, mail, inbox, mailboxes, suppressions, sequences, runs, team,
               providers)  # fmt: skip
    for module in (*routers, views, internal_credentials, events, dashboard):
        app.include_router(module.router)
    app.mount("/vendor", StaticFiles(directory=settings.web_dir / "node_modules", check_dir=False), name="vendor")
    app.mount("/", StaticFiles(directory=settings.web_dir, html=True, check_dir=False), name="web")
    guards.install(app, settings)  # before RequestContext, which stays outermost
    app.add_middleware(
        RequestContext,
        max_body_bytes=settings.max_body_bytes,
        max_upload_bytes=settings.max_upload_bytes,
        # Paths whose bodies may be as large as an upload, and what a refusal of one means.
        upload_paths={leads.IMPORT_PATH: "nothing was imported", mail.INBOUND_PATH: "nothing was received"},
    )
    if settings.otel_exporter_otlp_endpoint:
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

        FastAPIInstrumentor.instrument_app(app)
    return app
