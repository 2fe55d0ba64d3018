"""Live updates over Server-Sent Events: a short-lived single-use ticket, then the org's event stream.

A browser's EventSource cannot send an Authorization header. So the page asks for a ticket with its
bearer token (POST /v1/events/tickets) and opens GET /v1/events?ticket=… with it. The ticket is random,
good for TICKET_TTL_S and for one stream only (taken from a NATS key-value bucket with a compare-and-
delete, so two gateway processes cannot both honour it): a URL that lands in a log or a proxy's history
is worthless a moment later, and nothing long-lived (the access token) ever travels in a URL. A cookie
was the other way; it would be the API's only cookie, with CSRF and SameSite to defend, for one route.
A stream lasts as long as an access token would (then `expired`): the browser asks for a new ticket,
which needs a token that is still good.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request
from fastapi.responses import StreamingResponse
from nats.js.api import KeyValueConfig, StorageType
from nats.js.errors import APIError, BadRequestError, KeyDeletedError, KeyNotFoundError, NotFoundError
from nats.js.kv import KeyValue

from gateway.auth import Principal
from gateway.deps import principal
from gateway.live import LiveEvents
from gateway.routes.schemas import Reply, documents
from leadflood_platform.bus import Bus, streams_declared
from leadflood_platform.errors import Unauthenticated

router = APIRouter()
Who = Annotated[Principal, Depends(principal)]

TICKETS = "GATEWAY_EVENT_TICKETS"
TICKET_TTL_S = 30
_TICKET_SHAPE = re.compile(r"[A-Za-z0-9_-]{32,64}")
NOT_VALID = "this event stream ticket is not valid (unknown, used or expired): ask for a new one"


class EventTicket(Reply):
    ticket: str
    expires_in_seconds: int
    url: str


async def start(app: FastAPI, bus: Bus) -> None:
    """The process's live events subscription and the ticket bucket (entries expire on the server too).

    The bucket is created here unless NATS_STREAMS=declared (production, where streams are Kubernetes
    resources and no process creates one): then it must exist, as the stream KV_GATEWAY_EVENT_TICKETS.
    """
    try:
        app.state.event_tickets = await bus.js.key_value(TICKETS)
    except NotFoundError:
        if streams_declared():
            raise RuntimeError(
                f"the JetStream key-value bucket {TICKETS} (stream KV_{TICKETS}) is not declared "
                "(NATS_STREAMS=declared): declare it, or let the gateway create it with NATS_STREAMS=manage"
            ) from None
        try:
            app.state.event_tickets = await bus.js.create_key_value(ticket_bucket())
        except BadRequestError:  # another gateway process made it first
            app.state.event_tickets = await bus.js.key_value(TICKETS)
    app.state.live = LiveEvents()
    await app.state.live.start(bus.nc)


def ticket_bucket() -> KeyValueConfig:
    """The tickets' bucket (deploy/k8s/generate.py declares its stream from this too): entries expire on the
    server, one value a key, in memory (a ticket lost with a restart is asked for again)."""
    return KeyValueConfig(bucket=TICKETS, ttl=TICKET_TTL_S * 2, history=1, storage=StorageType.MEMORY)


async def stop(app: FastAPI) -> None:
    await app.state.live.close()


def _tickets(request: Request) -> KeyValue:
    return request.app.state.event_tickets


@router.post("/v1/events/tickets", status_code=201, **documents(EventTicket, 201))
async def create_ticket(request: Request, who: Who) -> dict[str, Any]:
    """A ticket for one event stream of the caller's org, good for 30 seconds: open `url` with EventSource."""
    ticket = secrets.token_urlsafe(32)
    value = {"orgId": who.org_id, "userId": who.user_id, "expires": time.time() + TICKET_TTL_S}
    await _tickets(request).create(ticket, json.dumps(value).encode())
    return {"ticket": ticket, "expiresInSeconds": TICKET_TTL_S, "url": f"/v1/events?ticket={ticket}"}


async def _redeem(request: Request, ticket: str) -> dict[str, Any]:
    if not _TICKET_SHAPE.fullmatch(ticket):
        raise Unauthenticated(NOT_VALID)
    tickets = _tickets(request)
    try:
        entry = await tickets.get(ticket)
        # Deleted only if nobody took it since it was read: one stream per ticket, across every process.
        await tickets.delete(ticket, last=entry.revision)
    except (KeyNotFoundError, KeyDeletedError):
        raise Unauthenticated(NOT_VALID) from None
    except APIError as error:
        if error.err_code in (10071, 10164):  # the stream's last sequence moved: someone else took it first
            raise Unauthenticated(NOT_VALID) from None
        raise
    value = json.loads(entry.value or b"{}")
    if value.get("expires", 0) < time.time():
        raise Unauthenticated(NOT_VALID)
    return value


@router.get(
    "/v1/events",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": (
                "A text/event-stream of the org's domain events, named by subject (`inbox.message.received`, "
                "`runs.run.progressed`, `icp.search_run.changed`, `leads.lead.updated`, "
                "`sequences.step.sent`, `sequences.enrollment.stopped`, …), each with an `id` and its event as "
                "JSON `data`. Also `ready` once connected, `reset` when events since `Last-Event-ID` are no longer "
                "kept (read the page again), `expired` when the stream's time is up (get a new ticket), and a "
                "`: keep-alive` comment every 15 s."
            ),
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        },
        401: {"description": "The ticket is unknown, used or expired."},
    },
)
async def stream_events(
    request: Request,
    ticket: Annotated[str, Query(max_length=100, description="A ticket from POST /v1/events/tickets.")] = "",
    last_event_id_query: Annotated[
        str,
        Query(
            alias="lastEventId",
            max_length=100,
            description="The id of the last event seen, for a reconnect that opens a new EventSource "
            "(which cannot send Last-Event-ID itself).",
        ),
    ] = "",
    last_event_id: Annotated[
        str, Header(max_length=100, description="The id of the last event seen (sent by EventSource on a retry).")
    ] = "",
) -> StreamingResponse:
    """The caller's org's live events (Server-Sent Events). Opened with a ticket, not a bearer token."""
    holder = await _redeem(request, ticket)
    stream = request.app.state.live.stream(
        holder["orgId"],
        last_event_id=last_event_id or last_event_id_query,
        lifetime_s=request.app.state.settings.access_token_ttl_s,
    )
    return StreamingResponse(
        stream,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache, no-store", "X-Accel-Buffering": "no"},
    )
