"""An SMTP server (aiosmtpd) on the service's own event loop, run as one of its server process's loops."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiosmtpd.smtp import SMTP

log = logging.getLogger(__name__)
# aiosmtpd logs every command of every session at INFO ("mail.log"): on the capture server that was a twentieth
# of the inbox's CPU per email sent. Its warnings and errors still go to the service's log.
logging.getLogger("mail.log").setLevel(logging.WARNING)


def listening(
    handler: Any, *, host: str, port: int, hostname: str, size_limit: int
) -> Callable[[asyncio.Event], Awaitable[None]]:
    """Serves `handler` (an aiosmtpd handler: handle_DATA and friends) on host:port until `stop` is set."""

    async def run(stop: asyncio.Event) -> None:
        server = await asyncio.get_running_loop().create_server(
            lambda: SMTP(handler, data_size_limit=size_limit, hostname=hostname), host, port
        )
        log.info("SMTP listening", extra={"host": host, "port": port, "as": hostname})
        try:
            await stop.wait()
        finally:
            server.close()
            await server.wait_closed()

    return run
