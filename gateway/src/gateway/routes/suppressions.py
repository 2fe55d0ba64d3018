"""The org's suppression list over HTTP: who is never sent to (email addresses, and phone numbers for texts), and
why; added and removed by hand."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import Field

from gateway.auth import Principal
from gateway.deps import principal
from gateway.routes.schemas import Body, Reply, Timestamps, Totalled, documents, total_json
from leadflood.inbox.v1 import inbox_pb2

router = APIRouter()
Who = Annotated[Principal, Depends(principal)]


class NewSuppression(Body):
    address: str = Field(
        min_length=3,
        max_length=320,
        description="An email address, or a phone number in international form (`+1 415 555 0123`: kept as E.164)",
    )


class Suppression(Reply):
    address: str = Field(description="An email address (lowercased) or a phone number in E.164 (`+14155550123`)")
    reason: str = Field(
        description="`unsubscribed` (the link, or STOP by text), `hard-bounced`, `complained`, `undeliverable` (a "
        "number that cannot take texts) or `by-hand`; the web client says each in words (Hard bounce, Added by hand...)"
    )
    created_at: datetime | None


class SuppressionPage(Totalled):
    suppressions: list[Suppression] = Field(description="In address order")
    next_after: str | None = Field(description="The `after` of the next page; null on the last")


def suppression_json(row: inbox_pb2.Suppression) -> dict[str, Any]:
    return {"address": row.address, "reason": row.reason, **Timestamps.of(row, "created_at")}


def _inbox(request: Request) -> Any:
    return request.app.state.services.inbox


@router.get("/v1/suppressions", **documents(SuppressionPage))
async def list_suppressions(
    request: Request,
    who: Who,
    q: Annotated[str, Query(max_length=200, description="Only entries containing this text (numbers: unspaced)")] = "",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    after: Annotated[str, Query(max_length=320)] = "",
) -> dict[str, Any]:
    """Who is never sent to, in address order; the first page counts those matching `q` (`total`)."""
    reply = await _inbox(request).ListSuppressions(
        inbox_pb2.ListSuppressionsRequest(page_size=limit, after=after, query=q, with_total=not after)
    )
    rows = [suppression_json(r) for r in reply.suppressions]
    return {"suppressions": rows, "nextAfter": reply.next_after or None, **total_json(reply)}


@router.post("/v1/suppressions", status_code=201)
async def add_suppression(body: NewSuppression, request: Request, response: Response, who: Who) -> dict[str, Any]:
    reply = await _inbox(request).AddSuppression(inbox_pb2.AddSuppressionRequest(address=body.address))
    if not reply.added:
        response.status_code = 200  # it was listed already, and stays as it was
    return {**suppression_json(reply.suppression), "added": reply.added}


@router.delete("/v1/suppressions/{address}", status_code=204)
async def remove_suppression(address: str, request: Request, who: Who) -> Response:
    """Send to it again: the address or number as listed, or as typed (a number in any common writing)."""
    await _inbox(request).RemoveSuppression(inbox_pb2.RemoveSuppressionRequest(address=address))
    return Response(status_code=204)
