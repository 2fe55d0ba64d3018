"""ASGI middleware: a request id on every request and response, an access log and the HTTP metrics, a body size
limit."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Mapping
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from leadflood_platform import context, metrics

log = logging.getLogger("gateway.access")
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
# Any other method a client sends is one label value, so a stranger cannot grow the series.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def route_template(scope: Scope) -> str:
    """The matched route's template (`/v1/leads/{lead_id}`), never the raw path: an API route sets it on the
    scope; anything else was a static mount's (`/vendor/{path}`; the web client's, and unmatched paths, `/{path}`)."""
    route = scope.get("route")
    return getattr(route, "path_format", None) or f"{scope.get('root_path', '')}/{{path}}"


class BodyTooLarge(Exception):
    pass


class RequestContext:
    """Pure ASGI (no BaseHTTPMiddleware), so streaming responses and the hot path stay cheap."""

    def __init__(
        self, app: ASGIApp, *, max_body_bytes: int, max_upload_bytes: int, upload_paths: Mapping[str, str] | None = None
    ) -> None:
        self.app, self.max_body_bytes = app, max_body_bytes
        # File uploads (a CSV import) stream through in parts, so they may be larger than a JSON body.
        self.max_upload_bytes, self.upload_paths = max_upload_bytes, dict(upload_paths or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        incoming = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
        # Also kept on the request: a 500 is answered outside this middleware, after the context ends.
        scope.setdefault("state", {})["request_id"] = request_id
        started, status = time.perf_counter(), 500
        declared = headers.get(b"content-length")
        received = 0
        limit = self.max_upload_bytes if scope["path"] in self.upload_paths else self.max_body_bytes

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise BodyTooLarge
            return message

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                # Headers a dependency asked for on whatever answers (the RateLimit fields), errors included.
                extra = [
                    (k.lower().encode(), v.encode()) for k, v in scope["state"].get("response_headers", {}).items()
                ]
                message["headers"] = [*message.get("headers", []), *extra, (b"x-request-id", request_id.encode())]
            await send(message)

        with context.bound(request_id=request_id):
            try:
                if declared is not None and declared.isdigit() and int(declared) > limit:
                    raise BodyTooLarge
                await self.app(scope, limited_receive, send_with_id)
            except BodyTooLarge:
                await self._too_large(scope, send_with_id, request_id, limit)
            finally:
                elapsed = time.perf_counter() - started
                method = scope["method"] if scope["method"] in _METHODS else "other"
                metrics.HTTP_SERVER.labels(method, route_template(scope), str(status)).observe(elapsed)
                log.info(
                    "request",
                    extra={
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": status,
                        "ms": round(elapsed * 1000, 2),
                    },
                )

    async def _too_large(self, scope: Scope, send: Any, request_id: str, limit: int) -> None:
        body = json.dumps(
            {
                "type": "https://leadflood.dev/problems/content-too-large",
                "title": "Content Too Large",
                "status": 413,
                "detail": f"the request body is larger than {limit:,} bytes"
                + (f": {self.upload_paths[scope['path']]}" if scope["path"] in self.upload_paths else ""),
                "instance": scope["path"],
                "requestId": request_id,
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
