"""The HTTP server's own limits, which uvicorn's httptools protocol lacks: a request's line and headers may
be at most so many bytes (431), and must arrive within so many seconds of the connection or the previous
answer (408, or a silent close for a connection that sent nothing). Without them, a 32 MB header was read
whole and a client trickling a header line every 2 s held its connection open indefinitely."""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


def _refusal(status: int, phrase: str, detail: str) -> bytes:
    body = json.dumps(
        {
            "type": f"https://leadflood.dev/problems/{phrase.lower().replace(' ', '-')}",
            "title": phrase,
            "status": status,
            "detail": detail,
        }
    ).encode()
    head = (
        f"HTTP/1.1 {status} {phrase}\r\ncontent-type: application/problem+json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode() + body


class GuardedHttpTools(HttpToolsProtocol):
    """httptools with a header size limit and a header deadline (Go's ReadHeaderTimeout, nginx's
    client_header_timeout). A request's body is bounded by the app's own body limit."""

    max_header_bytes = 16 * 1024
    header_timeout_s = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_bytes = 0
        self._in_headers = True  # a new connection waits for its first request's headers
        self._got_bytes = False
        self._header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._header_timer = self.loop.call_later(self.header_timeout_s, self._too_slow)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _too_slow(self) -> None:
        self._header_timer = None
        if self.transport.is_closing() or not self._in_headers:
            return
        if self._got_bytes:
            detail = f"the request's headers did not arrive within {self.header_timeout_s:g} s"
            self.transport.write(_refusal(408, "Request Timeout", detail))
        # A connection that sent nothing (a browser's spare) is closed without a word: an unasked-for 408 on
        # it could be read as the answer to the request a client sends on it next.
        self.transport.close()

    def data_received(self, data: bytes) -> None:
        self._got_bytes = True
        if self._in_headers:
            self._header_bytes += len(data)
        super().data_received(data)
        if self._in_headers and self._header_bytes > self.max_header_bytes and not self.transport.is_closing():
            detail = f"the request line and headers are larger than {self.max_header_bytes:,} bytes"
            self.transport.write(_refusal(431, "Request Header Fields Too Large", detail))
            self.transport.close()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if not self._in_headers:  # the next request on a kept-alive connection: its own deadline
            self._in_headers, self._header_bytes = True, 0
            self._arm()

    def on_headers_complete(self) -> None:
        self._in_headers, self._header_bytes = False, 0
        self._disarm()
        super().on_headers_complete()


def config(app: Any, *, port: int, max_header_bytes: int, header_timeout_s: float, keep_alive_s: int) -> uvicorn.Config:
    """uvicorn's settings for the gateway, its limits included (h11's too, should it be chosen instead)."""
    protocol = type(
        "GatewayHttp",
        (GuardedHttpTools,),
        {"max_header_bytes": max_header_bytes, "header_timeout_s": header_timeout_s},
    )
    return uvicorn.Config(
        app,
        host="0.0.0.0",  # noqa: S104 - a server's port, reached through the ingress in a cluster
        port=port,
        http=protocol,
        h11_max_incomplete_event_size=max_header_bytes,
        timeout_keep_alive=keep_alive_s,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=5,
    )


def reuse_port_socket(port: int, host: str = "0.0.0.0") -> socket.socket:  # noqa: S104 - as config()'s
    """The HTTP port bound with SO_REUSEPORT, for one of several gateway processes sharing it. Bound, not yet
    listening: uvicorn listens once the app's start-up is done, so the kernel hands this process no connection
    before it can answer (a socket that does not listen is no part of the port's group)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def run(server: uvicorn.Server, sockets: list[Any] | None = None) -> None:
    """Serves until stopped, on uvloop (uvicorn's `auto` loop: the stdlib's where uvloop is missing). The stdlib
    loop cost the gateway about a third more CPU per request under load (bench/gateway_load.py)."""
    server.run(sockets=sockets)
