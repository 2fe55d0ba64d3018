"""The live events hub: org by org, replay after Last-Event-ID (or reset), and a slow browser dropped, never hoarded."""

from __future__ import annotations

import asyncio

from gateway.live import LiveEvents
from leadflood.inbox.v1 import events_pb2

TYPE = "leadflood.inbox.v1.MessageReceived"


def received(org_id: str, message_id: str) -> bytes:
    return events_pb2.MessageReceived(event_id=message_id, org_id=org_id, message_id=message_id).SerializeToString()


async def frames(stream, n: int) -> list[bytes]:  # type: ignore[no-untyped-def]
    return [await asyncio.wait_for(anext(stream), 2) for _ in range(n)]


async def test_an_org_gets_its_own_events_only() -> None:
    hub = LiveEvents(heartbeat_s=5)
    mine, theirs = hub.stream("org-a", lifetime_s=30), hub.stream("org-b", lifetime_s=30)
    assert [f.split(b"\n")[0] for f in await frames(mine, 2)] == [b"retry: 3000", b"event: ready"]
    await frames(theirs, 2)
    hub.publish("inbox.message.received", TYPE, received("org-b", "m-b"))
    hub.publish("inbox.message.received", TYPE, received("org-a", "m-a"))
    [event] = await frames(mine, 1)
    assert b"event: inbox.message.received" in event and b'"messageId":"m-a"' in event
    assert b"org-a" not in event  # the org is the stream's, never repeated in it
    [event] = await frames(theirs, 1)
    assert b'"messageId":"m-b"' in event
    await mine.aclose()
    await theirs.aclose()
    assert hub.listening("org-a") == hub.listening("org-b") == 0


async def test_a_reconnect_replays_what_it_missed_or_says_reset() -> None:
    hub = LiveEvents(heartbeat_s=5, replay=3)
    first = hub.stream("org-a", lifetime_s=30)
    await frames(first, 2)
    hub.publish("inbox.message.received", TYPE, received("org-a", "m1"))
    [seen] = await frames(first, 1)
    await first.aclose()
    last_id = seen.split(b"\n")[0].removeprefix(b"id: ").decode()
    hub.publish("inbox.message.received", TYPE, received("org-b", "other"))
    hub.publish("inbox.message.received", TYPE, received("org-a", "m2"))
    again = hub.stream("org-a", last_event_id=last_id, lifetime_s=30)
    _, replayed, ready = await frames(again, 3)
    assert b'"messageId":"m2"' in replayed and b"event: ready" in ready
    await again.aclose()
    # Two more events push m1's successor out of a 3-event memory: the gap cannot be filled.
    for n in range(3):
        hub.publish("inbox.message.received", TYPE, received("org-b", f"x{n}"))
    lost = hub.stream("org-a", last_event_id=last_id, lifetime_s=30)
    _, reset, _ = await frames(lost, 3)
    assert reset.startswith(b"event: reset")
    await lost.aclose()
    stranger = hub.stream("org-a", last_event_id="another-process-7", lifetime_s=30)
    assert (await frames(stranger, 2))[1].startswith(b"event: reset")
    await stranger.aclose()


async def test_a_slow_browser_is_dropped_with_its_queue_emptied() -> None:
    hub = LiveEvents(buffer=4, heartbeat_s=5)
    slow = hub.stream("org-a", lifetime_s=30)
    await frames(slow, 2)  # connected, then reads nothing more
    [listener] = hub._listeners["org-a"]
    for n in range(50):
        hub.publish("inbox.message.received", TYPE, received("org-a", f"m{n}"))
    assert listener.dropped and hub.dropped == 1
    assert listener.queue.qsize() == 1  # only the end marker is held
    try:
        left = await asyncio.wait_for(anext(slow), 2)
    except StopAsyncIteration:
        left = None
    assert left is None  # the stream ends; the browser reconnects and reads the page again
    assert hub.listening("org-a") == 0


async def test_heartbeats_keep_an_idle_stream_open_and_it_expires() -> None:
    hub = LiveEvents(heartbeat_s=0.05)
    idle = hub.stream("org-a", lifetime_s=0.3)
    got = [frame async for frame in idle]
    assert b": keep-alive\n\n" in got
    assert got[-1].startswith(b"event: expired")


async def test_unknown_types_and_events_without_an_org_are_skipped() -> None:
    hub = LiveEvents()
    stream = hub.stream("org-a", lifetime_s=30)
    await frames(stream, 2)
    hub.publish("inbox.something", "leadflood.nothing.v1.Unknown", b"")
    hub.publish("inbox.message.received", "", received("org-a", "no type"))
    hub.publish("inbox.message.received", TYPE, received("", "no org"))
    assert hub._last_seq == 0
    await stream.aclose()
