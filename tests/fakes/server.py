"""A tiny threaded HTTP server on 127.0.0.1 for tests: scripted replies first, a record of every request."""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


class Sleeps(list[float]):
    """Stands in for asyncio.sleep in a client under test: records each wait instead of taking it."""

    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: Any = None  # bytes or str go out as they are; anything else as JSON
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0  # wait before answering; longer than the client's timeout makes a hang

    def payload(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return b"" if self.body is None else json.dumps(self.body).encode()


@dataclass(frozen=True)
class Received:
    method: str
    target: str  # path and query string, as sent
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # names lower-cased
    body: bytes

    def param(self, name: str, default: str = "") -> str:
        return self.query.get(name, [default])[0]


def server_error() -> Reply:
    return Reply(500, "<html><body>Internal Server Error</body></html>", {"content-type": "text/html"})


def malformed_json() -> Reply:
    return Reply(200, '{"people": [{"id": ')


def hang(seconds: float = 30.0) -> Reply:
    return Reply(200, {}, delay_s=seconds)


class FakeServer:
    """Start with `with`; `script()` queues replies that win over `answer()`; `received` records every request."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self._script: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._httpd, "start the server with `with` first"
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self._script.extend(replies)

    def scripted(self) -> Reply | None:
        with self._lock:
            return self._script.popleft() if self._script else None

    def answer(self, request: Received) -> Reply:
        """What the fake says when nothing is scripted; subclasses speak their provider's API here."""
        return self.scripted() or Reply(404, {"error": "not found"})

    def __enter__(self) -> FakeServer:
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.fake = self  # type: ignore[attr-defined]
        # A short poll keeps `shutdown()` quick; the default half second adds up over a test suite.
        threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closing.set()  # releases any reply still hanging
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()

    def _record(self, request: Received) -> None:
        with self._lock:
            self.received.append(request)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        fake: FakeServer = self.server.fake  # type: ignore[attr-defined]
        length = int(self.headers.get("content-length") or 0)
        parts = urlsplit(self.path)
        request = Received(
            method=self.command,
            target=self.path,
            path=parts.path,
            query=parse_qs(parts.query),
            headers={name.lower(): value for name, value in self.headers.items()},
            body=self.rfile.read(length) if length else b"",
        )
        fake._record(request)
        reply = fake.answer(request)
        if reply.delay_s and fake._closing.wait(reply.delay_s):
            self.close_connection = True
            return
        payload = reply.payload()
        try:
            self.send_response(reply.status)
            headers = {"content-type": "application/json; charset=utf-8", **reply.headers}
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up waiting
            self.close_connection = True

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        pass  # tests read `received`, not stderr
