"""An SMTP server of the test's own, the independent witness of what left the system: it keeps every message
it accepted (its Message-ID and its decoded Subject), and can refuse for a while (451) or hold a session at
RCPT until released, so a test can kill a sender at that moment rather than after a sleep."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email.header import decode_header, make_header
from typing import Any

from aiosmtpd.controller import Controller

from devstack.ports import free_port


class Witness:
    def __init__(self) -> None:
        self.accepted: list[str] = []  # Message-IDs, in the order they arrived
        self.subjects: list[str] = []
        self.lock = threading.Lock()
        self.busy = False  # answers 451 (try again later) to every recipient while set
        self.hold = threading.Event()  # cleared: the next session waits at RCPT until it is set again
        self.hold.set()
        self.holding = threading.Event()  # a session is waiting at RCPT

    @property
    def message_ids(self) -> list[str]:
        return self.accepted

    def ours(self, tag: str) -> list[str]:
        """The subjects that end with `tag` (a test's own, among others')."""
        with self.lock:
            return [subject for subject in self.subjects if subject.endswith(tag)]

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:  # noqa: N802
        if self.busy:
            return "451 4.3.2 System not accepting network messages"
        if not self.hold.is_set():
            self.holding.set()
            await asyncio.get_running_loop().run_in_executor(None, self.hold.wait)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        head = envelope.content.decode(errors="replace").split("\r\n\r\n", 1)[0]
        unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ")
        with self.lock:
            for line in unfolded.split("\r\n"):
                name, _, value = line.partition(":")
                if name.lower() == "message-id":
                    self.accepted.append(value.strip())
                elif name.lower() == "subject":
                    self.subjects.append(str(make_header(decode_header(value.strip()))))
        return "250 2.0.0 Ok: queued"


@contextmanager
def serving() -> Iterator[tuple[Witness, int]]:
    """A witness listening on a free local port, for a fixture; a held session is released at the end."""
    handler, port = Witness(), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        handler.hold.set()
        controller.stop()
