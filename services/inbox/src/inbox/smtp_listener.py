"""An SMTP server (aiosmtpd) on the service's own event loop, run as one of its server process's loops."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiosmtpd.smtp import SMTP

log = logging.getLogger(__name__)
# aiosmtpd logs every command of every session at INFO ("mail.log"): on the capture server that was a twentieth
# of the inbox's CPU per email sent. Its warnings and errors still go to the service's log.
logging.getLogger("mail.log").setLevel(logging.WARNING)


# The common MAIL FROM / RCPT TO argument: <local@domain> with a plain dot-atom on each side, then ESMTP parameters.
_PLAIN_PATH = re.compile(
    r"<([A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)>((?: [A-Za-z0-9=.+-]+)*)"
)


class Server(SMTP):
    """aiosmtpd's server, reading a plain path without the email package's header parser (which aiosmtpd uses for
    every address: a tenth of the capture server's CPU per message); anything else as aiosmtpd reads it."""

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        plain = _PLAIN_PATH.fullmatch(arg) if arg else None
        if plain is None:
            return super()._getaddr(arg)
        address, rest = plain.group(1), plain.group(2).lstrip()
        if self.local_part_limit and len(address.rpartition("@")[0]) > self.local_part_limit:
            return None, None
        return address, rest


def listening(
    handler: Any, *, host: str, port: int, hostname: str, size_limit: int
) -> Callable[[asyncio.Event], Awaitable[None]]:
    """Serves `handler` (an aiosmtpd handler: handle_DATA and friends) on host:port until `stop` is set."""

    async def run(stop: asyncio.Event) -> None:
        server = await asyncio.get_running_loop().create_server(
            lambda: Server(handler, data_size_limit=size_limit, hostname=hostname), host, port
        )
        log.info("SMTP listening", extra={"host": host, "port": port, "as": hostname})
        try:
            await stop.wait()
        finally:
            server.close()
            await server.wait_closed()

    return run
