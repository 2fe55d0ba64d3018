"""The one place errors become RFC 9457 problem+json responses, gRPC status codes included."""

from __future__ import annotations

import logging
import re
from http import HTTPStatus
from typing import Any

import grpc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from grpc_status import rpc_status
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

from leadflood_platform import context
from leadflood_platform.db import refused_value
from leadflood_platform.errors import DomainError, FieldViolation, error_info, field_violations

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"

HTTP_FOR_GRPC = {
    grpc.StatusCode.INVALID_ARGUMENT: 422,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.FAILED_PRECONDITION: 409,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.OUT_OF_RANGE: 422,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
    grpc.StatusCode.CANCELLED: 499,
    grpc.StatusCode.UNIMPLEMENTED: 501,
}


class Problem(Exception):
    """An HTTP error raised by gateway code itself."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        errors: list[FieldViolation] | None = None,
        headers: dict[str, str] | None = None,
        extensions: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status, self.detail, self.errors, self.headers = status, detail, errors or [], headers or {}
        self.extensions = extensions or {}


# A provider chosen whose key or credentials are not set ("APOLLO_API_KEY is not set: ...", "TWILIO_AUTH_TOKEN and
# TWILIO_FROM are not set: ..."): still a 503 (the service cannot do it now), but nothing temporary about it, so the
# problem says what it is: its own type and title, and the settings to set as a member of its own.
_NOT_SET = re.compile(r"^(?P<settings>[A-Z][A-Z0-9_]*(?:(?:, | and )[A-Z][A-Z0-9_]*)*) (?:is|are) not set\b")
NOT_SET_UP_TITLE = "Not set up"


def _not_set_up(status: int, detail: str) -> list[str] | None:
    """The settings a 503's detail names as not set, or None when it is some other unavailability."""
    found = _NOT_SET.match(detail) if status == 503 else None
    return re.split(r", | and ", found["settings"]) if found else None


def camel(name: str) -> str:
    """first_name -> firstName, so field errors name the field the client sent."""
    return re.sub(r"_([a-z])", lambda m: m.group(1).upper(), name)


def response(
    status: int,
    detail: str,
    *,
    request: Request,
    errors: list[FieldViolation] | None = None,
    headers: dict[str, str] | None = None,
    extensions: dict[str, Any] | None = None,
) -> JSONResponse:
    title = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Client Closed Request"
    if (settings := _not_set_up(status, detail)) is not None:
        title, extensions = NOT_SET_UP_TITLE, {"settings": settings, **(extensions or {})}
    body: dict[str, Any] = {
        "type": f"https://leadflood.dev/problems/{title.lower().replace(' ', '-')}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        "requestId": context.request_id.get() or getattr(request.state, "request_id", None),
    }
    # RFC 9457 extension members: what a caller can act on (a quota's limit, its use, when it frees).
    body |= {key: value for key, value in (extensions or {}).items() if key not in body}
    if errors:
        body["errors"] = [{"field": camel(e.field), "message": e.message} for e in errors]
    if status >= 500 and body["requestId"]:
        # A 500 is answered outside the middleware that stamps every response with its id: stamped
        # here, so whoever reports the failure can quote the id the logs carry.
        headers = {**(headers or {}), "x-request-id": body["requestId"]}
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def from_grpc(error: grpc.aio.AioRpcError) -> tuple[int, str, list[FieldViolation], dict[str, Any]]:
    """The HTTP status, detail, field errors and extension members (the ErrorInfo's, camelCased) of an error."""
    status = HTTP_FOR_GRPC.get(error.code(), 500)
    if status == 500:
        log.error("upstream error", extra={"code": error.code().name, "details": error.details()})
        return status, "internal error", [], {}
    rich = rpc_status.from_call(error)
    extensions = {camel(key): _typed(value) for key, value in error_info(rich).items()}
    return status, error.details() or error.code().name, field_violations(rich), extensions


def _typed(value: str) -> Any:
    """ErrorInfo metadata is text; a count reads better as a number, a list of ids as a list."""
    if value.lstrip("-").isdigit():
        return int(value)
    if value.startswith("[") and value.endswith("]"):
        return [item for item in value[1:-1].split(",") if item]
    return value


def reworded(error: grpc.aio.AioRpcError, detail: str) -> Problem:
    """A gRPC error as the HTTP status this module maps it to, in a route's own words for what it means there."""
    return Problem(HTTP_FOR_GRPC.get(error.code(), 500), detail)


def install(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return response(
            exc.status, exc.detail, request=request, errors=exc.errors, headers=exc.headers, extensions=exc.extensions
        )

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        status = HTTP_FOR_GRPC.get(exc.code, 500)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return response(status, exc.message, request=request, errors=exc.violations, headers=headers)

    @app.exception_handler(grpc.aio.AioRpcError)
    async def _grpc(request: Request, exc: grpc.aio.AioRpcError) -> JSONResponse:
        status, detail, errors, extensions = from_grpc(exc)
        # A quota that frees at a known time says so the way HTTP does, too (RFC 9110 Retry-After).
        retry = extensions.get("retryAfterS")
        headers = {"Retry-After": str(retry)} if status == 429 and isinstance(retry, int) else None
        return response(status, detail, request=request, errors=errors, headers=headers, extensions=extensions)

    @app.exception_handler(ClientDisconnect)
    async def _client_gone(request: Request, exc: ClientDisconnect) -> JSONResponse:
        # The client went away before its body was read whole (a cancelled upload): the request did nothing
        # (an import's call is cancelled, not ended), and no one reads the answer. Not a fault of ours.
        log.info("client went away during the request")
        return response(499, "the client closed the request before its body was read whole", request=request)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = []
        for err in exc.errors():
            loc = [str(part) for part in err.get("loc", ()) if part not in ("body", "query", "path")]
            errors.append(FieldViolation(".".join(loc) or "body", err.get("msg", "invalid")))
        return response(422, "the request is not valid", request=request, errors=errors)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        return response(exc.status_code, str(exc.detail), request=request, headers=getattr(exc, "headers", None))

    @app.exception_handler(DBAPIError)
    async def _database(request: Request, exc: DBAPIError) -> JSONResponse:
        """A value the gateway's own tables (users, sessions) refuse is the caller's error."""
        refused = refused_value(exc)
        if refused is None:
            raise exc  # on to the 500 below
        # PostgreSQL's own words name its internals (an encoding, a type): logged, not answered.
        log.warning("value refused by the database", extra={"reason": refused.message})
        detail = "a value cannot be stored as given (a control character such as NUL, or a value out of range)"
        return response(422, detail, request=request)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Outside the request's context by now: bound again so the log line carries the id the reply shows.
        with context.bound(request_id=getattr(request.state, "request_id", None)):
            log.exception("unhandled error")
            return response(500, "internal error", request=request)
