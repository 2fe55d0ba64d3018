"""NATS_STREAMS=declared (production, where the streams and consumers are Kubernetes resources): a process never
creates nor changes a stream or a consumer; it checks they are there and stops naming what is missing. Against a
real nats-server of the test's own."""

from __future__ import annotations

import pytest

from leadflood_platform import bus as bus_module
from leadflood_platform.bus import JOBS, Bus, UndeclaredResource, streams_declared


async def test_declared_streams_are_checked_never_created(nats_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NATS_STREAMS", "declared")
    with pytest.raises(UndeclaredResource, match="stream JOBS is not declared"):
        await Bus.connect(nats_url, name="declared-test")
    monkeypatch.setenv("NATS_STREAMS", "manage")  # what `make run` does: the process creates them
    managing = await Bus.connect(nats_url, name="manage-test")
    await managing.close()

    monkeypatch.setenv("NATS_STREAMS", "declared")
    checking = await Bus.connect(nats_url, name="declared-test")  # declared now: the check passes
    try:
        with pytest.raises(UndeclaredResource, match="consumer inbox-inbox-send on JOBS is not declared"):
            await checking.check_consumer(JOBS.name, "inbox-inbox-send")
        await checking.js.add_consumer(JOBS.name, durable_name="inbox-inbox-send", filter_subject="jobs.inbox.send")
        await checking.check_consumer(JOBS.name, "inbox-inbox-send")
        # A stream that lost a subject the code publishes on is named too.
        info = await checking.js.stream_info(JOBS.name)
        info.config.subjects = ["jobs.only.this"]
        await checking.js.update_stream(info.config)
        with pytest.raises(UndeclaredResource, match="does not carry jobs.>"):
            await checking.ensure_streams()
    finally:
        await checking.close()


def test_the_mode_is_manage_or_declared(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NATS_STREAMS", raising=False)
    assert not streams_declared()
    monkeypatch.setenv("NATS_STREAMS", "declared")
    assert bus_module.streams_declared()
    monkeypatch.setenv("NATS_STREAMS", "yes")
    with pytest.raises(ValueError, match="`manage` or `declared`"):
        streams_declared()
