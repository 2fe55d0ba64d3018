"""Stops: the events that end a lead's enrollments (a reply, a bounce, an unsubscribe, a booked meeting, the lead
deleted),
and the mail room's word that a step's window closed before it could go (the step is sent again).

A durable JetStream pull consumer on the EVENTS stream, explicit acks: an event is acked once its
transaction committed, nak'd to come back when the database was away, and terminated when it cannot
be read. Handling one twice changes nothing (the lead has no enrollment left to stop).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from google.protobuf.message import DecodeError, Message
from nats.aio.msg import Msg
from nats.errors import TimeoutError as FetchTimeout
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from leadflood.inbox.v1 import delivery_pb2
from leadflood.inbox.v1 import events_pb2 as inbox_events
from leadflood.leads.v1 import events_pb2 as lead_events
from leadflood.sequences.v1 import events_pb2
from leadflood_platform import context, registry
from leadflood_platform.bus import Bus, UndeclaredResource, events_stream, streams_declared
from leadflood_platform.db import Database
from leadflood_platform.jobs import FLEET_ACK_PENDING
from sequences import service
from sequences.models import BOUNCED, EMAIL, MEETING_BOOKED, REPLIED, SMS, STOPPED, UNSUBSCRIBED

log = logging.getLogger(__name__)
DURABLE = "sequences-stops"
WINDOW_CLOSED = "inbox.message.failed"
KEY_PREFIX = "sequences:"
CHANNELS = {delivery_pb2.CHANNEL_EMAIL: EMAIL, delivery_pb2.CHANNEL_SMS: SMS}
# How the mail room words a refusal it stores (inbox.smtp.Bounced, inbox.sms.SmsRefused): said once, not twice.
EMAIL_REFUSED, SMS_REFUSED = "bounced: ", "sms refused: "


def bounce_reason(event: inbox_events.MessageBounced) -> str:
    """Why the enrollment stopped, in words for the channel: an email bounced; a text could not be delivered,
    with the provider's words and its error code once ("... (Twilio 21211)")."""
    code, words = event.status_code.strip(), event.diagnostic.strip()[:200]
    if event.message.channel == delivery_pb2.CHANNEL_SMS:
        words = words.removeprefix(SMS_REFUSED)
        if code and words.split(" ", 1)[0] == code:
            words = words[len(code) :].strip()
        words = _sentence_part(words)
        said = f"the text could not be delivered: {words}" if words else "the text could not be delivered"
        return f"{said} (Twilio {code})" if code else said
    words = words.removeprefix(EMAIL_REFUSED)
    said = f"the email bounced: {words}" if words else "the email bounced"
    return f"{said} ({code})" if code and code not in words else said


def _sentence_part(words: str) -> str:
    """A provider's sentence as the end of ours: "The 'To' number ... number." -> "the 'To' number ... number"."""
    words = words.rstrip(". ")
    first, _, rest = words.partition(" ")
    if first[:1].isupper() and first[1:].islower():  # "The", not "SMS" or "API"
        words = first.lower() + (f" {rest}" if rest else "")
    return words


@dataclass(frozen=True)
class StopRule:
    """An event that stops the lead's enrollments: how to read it, the state they end in, and why."""

    message_type: type[Message]
    state: str
    lead_id: Callable[[Any], str]
    reason: Callable[[Any], str]
    # The thread the event is about (a reply's, a bounced message's): an enrollment that had already
    # completed in that thread records the lead's answer too, so its last step's results count it.
    thread_id: Callable[[Any], str] = lambda m: ""
    # The channel of the message answered or bounced ("email", "sms"; "" when none): the results count the
    # stop at the last step of that channel that reached the lead.
    channel: Callable[[Any], str] = lambda m: ""


STOPS = {
    "inbox.message.received": StopRule(
        inbox_events.MessageReceived,
        REPLIED,
        lambda m: m.lead_id,
        lambda m: "the lead replied",
        lambda m: m.thread_id,
        lambda m: CHANNELS.get(m.channel, ""),
    ),
    "inbox.message.bounced": StopRule(
        inbox_events.MessageBounced,
        BOUNCED,
        lambda m: m.message.lead_id,
        bounce_reason,
        lambda m: m.message.thread_id,
        lambda m: CHANNELS.get(m.message.channel, ""),
    ),
    "inbox.recipient.unsubscribed": StopRule(
        inbox_events.RecipientUnsubscribed,
        UNSUBSCRIBED,
        lambda m: m.lead_id,
        lambda m: "the lead complained" if m.reason == "complained" else "the lead unsubscribed",
        lambda m: m.thread_id,
        lambda m: SMS if m.phone and not m.email else EMAIL if m.email else "",
    ),
    "leads.lead.deleted": StopRule(
        lead_events.LeadDeleted, STOPPED, lambda m: m.lead.id, lambda m: "the lead was deleted"
    ),
    # Published by the runs service (see MeetingBooked in sequences/v1/events.proto).
    "runs.meeting.booked": StopRule(
        events_pb2.MeetingBooked, MEETING_BOOKED, lambda m: m.lead_id, lambda m: "a meeting was booked"
    ),
}


def subjects() -> list[str]:
    """The subjects to consume: those of registered services only (the EVENTS stream takes no others)."""
    registered = {entry.name for entry in registry.services()}
    return [subject for subject in (*STOPS, WINDOW_CLOSED) if subject.split(".", 1)[0] in registered]


class StopConsumer:
    """The loop a sequences worker runs (ServiceSpec.loops) beside the scheduler."""

    def __init__(
        self,
        *,
        db: Database,
        bus: Bus,
        durable: str = DURABLE,
        batch: int = 20,
        ack_wait_s: float = 30.0,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.db, self.bus, self.durable, self.batch, self.ack_wait_s = db, bus, durable, batch, ack_wait_s
        self.clock = clock

    async def run(self, stop: asyncio.Event) -> None:
        sub = await self._subscribe(stop)
        if sub is None:
            return
        log.info("consuming stop events", extra={"durable": self.durable, "subjects": subjects()})
        try:
            while not stop.is_set():
                try:
                    msgs = await sub.fetch(self.batch, timeout=1)
                except (TimeoutError, FetchTimeout):
                    continue
                except Exception:
                    log.exception("fetching stop events failed")
                    await _pause(stop, 1)
                    continue
                for msg in msgs:  # in order: a lead's events apply as they happened
                    await self._process(msg)
        finally:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    async def _subscribe(self, stop: asyncio.Event) -> Any:
        """The durable consumer (created, or updated to today's subjects), retried until NATS answers."""
        config = ConsumerConfig(
            durable_name=self.durable,
            filter_subjects=subjects(),
            deliver_policy=DeliverPolicy.ALL,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=self.ack_wait_s,
            max_deliver=-1,
            # The fleet's ceiling, not one worker's: JetStream counts outstanding deliveries per consumer, so a
            # worker's own batch x 4 (80) left a fifth replica and beyond with no events at all.
            max_ack_pending=FLEET_ACK_PENDING,
        )
        stream = events_stream().name
        while not stop.is_set():
            try:
                if streams_declared():  # declared as a resource: bound to, never created or changed here
                    await self.bus.check_consumer(stream, self.durable)
                else:
                    await self.bus.js.add_consumer(stream, config)
                return await self.bus.js.pull_subscribe_bind(durable=self.durable, stream=stream)
            except UndeclaredResource:
                raise
            except Exception:
                log.exception("cannot create the stop events consumer yet; trying again")
                await _pause(stop, 2)
        return None

    async def _process(self, msg: Msg) -> None:
        try:
            await self.handle(msg.subject, msg.data, occurred_at=msg.metadata.timestamp)
        except (DecodeError, ValueError) as error:
            log.error("stop event cannot be read; terminated", extra={"subject": msg.subject, "error": str(error)})
            await msg.term()
            return
        except Exception:
            log.exception("stop event failed; it will be redelivered", extra={"subject": msg.subject})
            with contextlib.suppress(Exception):
                await msg.nak(delay=1)
            return
        await msg.ack_sync()

    async def handle(self, subject: str, data: bytes, *, occurred_at: dt.datetime | None = None) -> int:
        """Apply one event (stored on the stream at `occurred_at`); returns how many enrollments it changed.

        DecodeError or ValueError: the event cannot be read.
        """
        if subject == WINDOW_CLOSED:
            return await self._window_closed(inbox_events.MessageFailed.FromString(data))
        rule = STOPS.get(subject)
        if rule is None:
            return 0
        event = rule.message_type.FromString(data)
        org_id, lead = uuid.UUID(event.org_id), rule.lead_id(event)  # type: ignore[attr-defined]
        if not lead:
            return 0
        with context.bound(org_id=str(org_id)):
            async with self.db.transaction() as session:
                stopped = await service.stop_lead(
                    session=session,
                    org_id=org_id,
                    lead_id=uuid.UUID(lead),
                    state=rule.state,
                    reason=rule.reason(event),
                    cause_event_id=event.event_id,  # type: ignore[attr-defined]
                    occurred_at=occurred_at,
                    channel=rule.channel(event),
                )
                thread = rule.thread_id(event)
                if thread:
                    stopped += await service.answer_completed(
                        session=session, org_id=org_id, thread_id=thread, state=rule.state, reason=rule.reason(event),
                        channel=rule.channel(event),
                    )  # fmt: skip
        if stopped:
            log.info("enrollments stopped", extra={"lead_id": lead, "state": rule.state, "count": len(stopped)})
        return len(stopped)

    async def _window_closed(self, event: inbox_events.MessageFailed) -> int:
        key = event.message.idempotency_key
        if not event.window_closed or not key.startswith(KEY_PREFIX):
            return 0
        enrollment_id, _, step_id = key.removeprefix(KEY_PREFIX).partition(":")
        org_id = uuid.UUID(event.org_id)
        with context.bound(org_id=str(org_id)):
            async with self.db.transaction() as session:
                reopened = await service.reopen_step(
                    session=session,
                    org_id=org_id,
                    enrollment_id=uuid.UUID(enrollment_id),
                    step_id=uuid.UUID(step_id),
                    now=self.clock(),
                )
        return int(reopened)


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
