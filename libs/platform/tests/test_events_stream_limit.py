"""EVENTS keeps at most EVENTS_MAX_BYTES: past it the oldest events go, and nothing is refused, so a week of
events can never fill the JetStream store that JOBS shares. Against a real nats-server of the test's own."""

from __future__ import annotations

import pytest
from nats.js.api import DiscardPolicy

from leadflood_platform import bus as bus_module
from leadflood_platform.bus import JOBS, Bus


async def test_the_events_stream_is_created_with_its_byte_limit(nats_url: str) -> None:
    bus = await Bus.connect(nats_url, name="events-limit-test")
    try:
        config = (await bus.js.stream_info("EVENTS")).config
        assert config.max_bytes == bus_module.EVENTS_MAX_BYTES
        assert config.discard == DiscardPolicy.OLD
        assert (await bus.js.stream_info(JOBS.name)).config.max_bytes in (None, -1)  # jobs are never dropped
    finally:
        await bus.close()


async def test_past_its_limit_the_oldest_events_go_and_publishing_goes_on(
    nats_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    limit = 64 * 1024
    monkeypatch.setattr(bus_module, "EVENTS_MAX_BYTES", limit)
    bus = await Bus.connect(nats_url, name="events-limit-test")
    try:
        payload = b"x" * 1024
        for n in range(200):  # about three times the limit
            await bus.publish("leads.lead.created", payload, msg_id=f"event-{n}")
        state = (await bus.js.stream_info("EVENTS")).state
        assert state.bytes <= limit
        assert state.first_seq > 1 and state.last_seq == 200  # the first ones dropped, the last one kept
        # The jobs beside a full events stream are still taken.
        assert await bus.publish("jobs.leads.enrich", b"job", msg_id="job-1")
    finally:
        await bus.close()


async def test_a_stream_request_jetstream_does_not_answer_yet_is_asked_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """A cluster electing its meta leader does not answer stream requests: start-up asks again, then goes on."""
    from nats.errors import TimeoutError as NatsTimeout
    from nats.js.errors import ServiceUnavailableError

    monkeypatch.setattr(bus_module, "STREAMS_READY_S", 10.0)
    answers: list[str] = []

    class NotReadyYet:
        async def add_stream(self, config: object) -> None:
            answers.append(config.name)  # type: ignore[attr-defined]
            if len(answers) == 1:
                raise NatsTimeout
            if len(answers) == 2:
                raise ServiceUnavailableError(code=503, description="JetStream system temporarily unavailable")

    bus = Bus.__new__(Bus)
    bus.js = NotReadyYet()  # type: ignore[assignment]
    await bus.ensure_streams()
    assert answers == [JOBS.name, JOBS.name, JOBS.name, "EVENTS"]

    monkeypatch.setattr(bus_module, "STREAMS_READY_S", 0.3)
    answers.clear()
    with pytest.raises(NatsTimeout):  # never answering: start-up stops saying so, after the deadline

        class Never(NotReadyYet):
            async def add_stream(self, config: object) -> None:
                raise NatsTimeout

        bus.js = Never()  # type: ignore[assignment]
        await bus.ensure_streams()
