"""The gateway's one error mapping: gRPC codes to HTTP statuses, field names to the client's camelCase."""

from __future__ import annotations

import io
import json
import logging

import grpc
import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from sqlalchemy.exc import DBAPIError

from gateway import problems
from gateway.middleware import RequestContext
from leadflood_platform.errors import InvalidArgument, NotFound, Unavailable
from leadflood_platform.logs import JsonFormatter


def app_raising(error: Exception) -> TestClient:
    app = FastAPI()
    problems.install(app)
    app.add_middleware(
        RequestContext, max_body_bytes=100, max_upload_bytes=300, upload_paths={"/upload": "nothing was imported"}
    )

    @app.post("/boom")
    async def boom() -> None:
        raise error

    @app.post("/upload")
    async def upload(request: Request) -> dict[str, int]:
        return {"bytes": len(await request.body())}

    return TestClient(app, raise_server_exceptions=False)


@pytest.mark.parametrize(
    ("error", "status"),
    [(InvalidArgument.on("first_name", "is required"), 422), (NotFound("lead x not found"), 404),
     (Unavailable("HUNTER_API_KEY is not set"), 503)],
)  # fmt: skip
def test_domain_errors_become_problem_json(error: Exception, status: int) -> None:
    reply = app_raising(error).post("/boom")
    assert reply.status_code == status
    assert reply.headers["content-type"] == "application/problem+json"
    body = reply.json()
    assert body["status"] == status and body["instance"] == "/boom" and body["requestId"]
    if status == 422:
        assert body["errors"] == [{"field": "firstName", "message": "is required"}]


def test_a_provider_not_set_up_is_a_503_saying_so_and_naming_its_settings() -> None:
    """Not "Service Unavailable" (nothing temporary about a key never set): its own type, title and settings."""
    missing = app_raising(Unavailable("HUNTER_API_KEY is not set: the hunter enrichment provider is not configured"))
    body = missing.post("/boom").json()
    assert (body["status"], body["title"], body["settings"]) == (503, "Not set up", ["HUNTER_API_KEY"])
    assert body["type"].endswith("/not-set-up") and body["detail"].startswith("HUNTER_API_KEY is not set")
    two = app_raising(Unavailable("TWILIO_AUTH_TOKEN and TWILIO_FROM are not set: the twilio SMS provider is off"))
    assert two.post("/boom").json()["settings"] == ["TWILIO_AUTH_TOKEN", "TWILIO_FROM"]
    down = app_raising(Unavailable("the ICP service did not answer, so nothing was scored; try again")).post("/boom")
    assert (down.status_code, down.json()["title"]) == (503, "Service Unavailable") and "settings" not in down.json()


def test_an_unexpected_error_is_a_500_without_its_message() -> None:
    lines = io.StringIO()
    handler = logging.StreamHandler(lines)
    handler.setFormatter(JsonFormatter("gateway"))  # formats as it emits, with the context of that moment
    logging.getLogger(problems.__name__).addHandler(handler)
    try:
        reply = app_raising(RuntimeError("secret internals")).post("/boom")
    finally:
        logging.getLogger(problems.__name__).removeHandler(handler)
    assert reply.status_code == 500 and "secret" not in reply.text
    request_id = reply.json()["requestId"]
    assert request_id and reply.headers["x-request-id"] == request_id  # quotable, and the log line carries it
    [logged] = [entry for entry in map(json.loads, lines.getvalue().splitlines()) if entry["msg"] == "unhandled error"]
    assert logged["request_id"] == request_id


class _DriverError(Exception):
    """Stands in for the driver's exception: only its SQLSTATE and message are read."""

    def __init__(self, sqlstate: str, message: str) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


@pytest.mark.parametrize(("sqlstate", "status"), [("22021", 422), ("22012", 500), ("42P01", 500)])
def test_a_value_the_database_refuses_is_a_422_and_other_database_errors_stay_500(sqlstate: str, status: int) -> None:
    error = DBAPIError("SELECT ...", {}, _DriverError(sqlstate, 'invalid byte sequence for encoding "UTF8": 0x00'))
    reply = app_raising(error).post("/boom")
    assert reply.status_code == status
    # PostgreSQL's own words (its encoding, the byte) are logged, never answered (#18: a NUL in the sign-in
    # email came back as PostgreSQL's text).
    assert "UTF8" not in reply.text and "0x00" not in reply.text
    if status == 422:
        assert reply.json()["detail"].startswith("a value cannot be stored as given")
        assert reply.headers["x-request-id"]


def test_a_body_over_the_limit_is_413_before_the_route_runs() -> None:
    reply = app_raising(RuntimeError("never reached")).post("/boom", content=b"x" * 101)
    assert reply.status_code == 413 and reply.json()["title"] == "Content Too Large"


def test_an_upload_path_has_its_own_larger_limit_declared_or_streamed() -> None:
    client = app_raising(RuntimeError("never reached"))
    assert client.post("/upload", content=b"x" * 300).json() == {"bytes": 300}
    too_big = client.post("/upload", content=b"x" * 301)
    assert too_big.status_code == 413 and too_big.json()["detail"].endswith("nothing was imported")
    # Without a Content-Length (chunked), the limit is applied as the body arrives.
    streamed = client.post("/upload", content=iter([b"x" * 200, b"x" * 200]))
    assert streamed.status_code == 413
    assert client.post("/boom", content=b"x" * 101).status_code == 413, "other paths keep the JSON limit"


def test_every_grpc_code_a_service_sends_on_purpose_maps_to_a_4xx_or_503() -> None:
    deliberate = [grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND, grpc.StatusCode.ALREADY_EXISTS,
                  grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.RESOURCE_EXHAUSTED,
                  grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.UNAVAILABLE]  # fmt: skip
    assert [problems.HTTP_FOR_GRPC[code] for code in deliberate] == [422, 404, 409, 409, 429, 401, 503]
    assert problems.camel("weights.company_size") == "weights.companySize"
