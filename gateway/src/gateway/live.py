"""Live updates: the domain events on NATS, fanned out to each signed-in browser's event stream, org by org.

One core NATS subscription per gateway process (on each service's subject tree, the EVENTS stream's own
subjects) receives every event as JetStream stores it. Core, not a JetStream consumer: an event here is a
hint for a page to read again over REST (the truth), so nothing needs acking, redelivering or keeping on
the server; a consumer per process (or per browser) would be server state to create and clean up after a
crash, and could not filter by org anyway (subjects do not carry the org). What a gateway misses while
NATS reconnects, the browser makes good by reading again: a stream that cannot replay sends `reset`.

Each stream has a bounded queue: a browser that does not read its events fast enough is dropped (its
queue is emptied and the stream ends) instead of holding memory; it reconnects and gets `reset`.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import json
import logging
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import json_format, symbol_database
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

# Imported for the message types they register: an event is decoded by its Lf-Type header's name.
from leadflood.icp.v1 import events_pb2 as _icp_events  # noqa: F401
from leadflood.inbox.v1 import events_pb2 as _inbox_events  # noqa: F401
from leadflood.leads.v1 import events_pb2 as _leads_events  # noqa: F401
from leadflood.runs.v1 import events_pb2 as _runs_events  # noqa: F401
from leadflood.sequences.v1 import events_pb2 as _sequences_events  # noqa: F401
from leadflood_platform.bus import TYPE_HEADER, events_stream

log = logging.getLogger(__name__)

BUFFER = 256  # events waiting for one slow browser before it is dropped
REPLAY = 4096  # recent events (all orgs) kept to replay after a reconnect with Last-Event-ID
HEARTBEAT_S = 15.0  # a comment line this often keeps proxies from closing an idle stream
RETRY_MS = 3000  # the browser's wait before reconnecting, sent once per stream
_END = object()


@dataclass
class Frame:
    seq: int
    org_id: str
    text: bytes  # the whole SSE frame, encoded once for every browser of the org


@dataclass(eq=False)  # each browser is its own, however alike
class Listener:
    org_id: str
    queue: asyncio.Queue[Any] = field(default_factory=lambda: asyncio.Queue(BUFFER))
    dropped: bool = False

    def offer(self, item: Any) -> bool:
        """Queue an event; False (and the stream ends) when the browser is too far behind."""
        try:
            self.queue.put_nowait(item)
            return True
        except asyncio.QueueFull:
            self.dropped = True
            self._end()
            return False

    def _end(self) -> None:
        while not self.queue.empty():  # the memory goes at once, not when the browser catches up
            self.queue.get_nowait()
        self.queue.put_nowait(_END)


def frame(event: str, data: dict[str, Any], event_id: str | None = None) -> bytes:
    head = f"id: {event_id}\n" if event_id else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


class LiveEvents:
    """The process's one subscription, the recent events, and the browsers listening, by org."""

    def __init__(self, *, buffer: int = BUFFER, replay: int = REPLAY, heartbeat_s: float = HEARTBEAT_S) -> None:
        self.buffer, self.heartbeat_s = buffer, heartbeat_s
        self.epoch = secrets.token_hex(4)  # event ids from another process (or an earlier one) cannot be replayed
        self._seq = itertools.count(1)
        self._last_seq = 0
        self._recent: collections.deque[Frame] = collections.deque(maxlen=replay)
        self._listeners: dict[str, set[Listener]] = collections.defaultdict(set)
        self._subscriptions: list[Subscription] = []
        self.dropped = 0

    async def start(self, nc: Client) -> None:
        for subject in events_stream().subjects:
            self._subscriptions.append(await nc.subscribe(subject, cb=self._received))

    async def close(self) -> None:
        for subscription in self._subscriptions:
            await subscription.unsubscribe()
        for listeners in self._listeners.values():
            for listener in listeners:
                listener._end()  # open streams end, so a shutdown does not wait on them

    async def _received(self, msg: Msg) -> None:
        try:
            self.publish(msg.subject, (msg.headers or {}).get(TYPE_HEADER, ""), msg.data)
        except Exception:  # one bad message never stops the subscription
            log.exception("a live event could not be passed on", extra={"subject": msg.subject})

    def publish(self, subject: str, type_name: str, payload: bytes) -> None:
        """Decode an event by its type's name and hand it to its org's listeners."""
        if not type_name:
            return
        try:
            message_class = symbol_database.Default().GetSymbol(type_name)
        except KeyError:
            return  # an event type this gateway does not know yet: nothing a page waits for
        event = message_class.FromString(payload)
        org_id = getattr(event, "org_id", "")
        if not org_id:
            return
        data = json_format.MessageToDict(event)
        data.pop("orgId", None)
        seq = self._last_seq = next(self._seq)
        item = Frame(seq, org_id, frame(subject, data, f"{self.epoch}-{seq}"))
        self._recent.append(item)
        for listener in list(self._listeners.get(org_id, ())):
            if not listener.offer(item):
                self._listeners[org_id].discard(listener)  # nothing more is queued for it
                self.dropped += 1
                log.warning("a slow live stream was dropped", extra={"org_id": org_id})

    def _replay(self, org_id: str, last_event_id: str) -> list[Frame] | None:
        """The org's events after `last_event_id`, or None when they cannot all be given (the page reads again)."""
        epoch, _, seq_text = last_event_id.partition("-")
        if epoch != self.epoch or not seq_text.isdigit():
            return None
        seq = int(seq_text)
        oldest = self._recent[0].seq if self._recent else self._last_seq + 1
        if seq > self._last_seq or oldest > seq + 1:  # not one of ours, or some of what followed it is gone
            return None
        missed = [f for f in self._recent if f.seq > seq and f.org_id == org_id]
        return missed if len(missed) <= self.buffer else None

    async def stream(self, org_id: str, *, last_event_id: str = "", lifetime_s: float) -> AsyncIterator[bytes]:
        """An org's SSE stream: `retry`, `ready` (or `reset` when events since Last-Event-ID are lost, or
        replayed ones), then events and heartbeats until `lifetime_s` (the access token's life) is over."""
        listener = Listener(org_id, asyncio.Queue(self.buffer + 1))
        self._listeners[org_id].add(listener)  # before the replay is read: nothing falls between the two
        try:
            yield f"retry: {RETRY_MS}\n\n".encode()
            missed = self._replay(org_id, last_event_id) if last_event_id else []
            if missed is None:
                yield frame("reset", {"reason": "events since your last one are not kept here: read again"})
            else:
                for item in missed:
                    yield item.text
            yield frame("ready", {"heartbeatSeconds": self.heartbeat_s})
            sent = missed[-1].seq if missed else 0
            deadline = asyncio.get_running_loop().time() + lifetime_s
            while (left := deadline - asyncio.get_running_loop().time()) > 0:
                try:
                    item = await asyncio.wait_for(listener.queue.get(), min(self.heartbeat_s, left))
                except TimeoutError:
                    yield b": keep-alive\n\n"
                    continue
                if item is _END:
                    return
                if item.seq > sent:  # a replayed event queued again meanwhile is not sent twice
                    yield item.text
            yield frame("expired", {"reason": "reconnect with a new ticket"})
        finally:
            listeners = self._listeners.get(org_id, set())
            listeners.discard(listener)
            if not listeners:
                self._listeners.pop(org_id, None)

    def listening(self, org_id: str) -> int:
        return len(self._listeners.get(org_id, ()))
