"""The NATS JetStream bus: the streams every service shares, publishing with de-duplication ids."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import nats
from nats.aio.client import Client
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext
from nats.js.api import RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError, NotFoundError, ServiceUnavailableError

from leadflood_platform import registry

log = logging.getLogger(__name__)

MSG_ID = "Nats-Msg-Id"
TYPE_HEADER = "Lf-Type"
# The job a message runs, when its Nats-Msg-Id is not the job's id (a replay is a new message).
JOB_ID_HEADER = "Lf-Job-Id"


@dataclass(frozen=True)
class Stream:
    name: str
    subjects: list[str]
    retention: RetentionPolicy
    max_age_s: float = 0
    # The most the stream keeps (-1: no limit); past it the oldest messages go (`discard: old`).
    max_bytes: int = -1
    # A republish of the same Nats-Msg-Id inside this window is dropped by the server: this is what
    # makes an outbox relay that crashed between publish and bookkeeping safe to run again.
    duplicate_window_s: float = 30 * 60


JOBS = Stream("JOBS", ["jobs.>"], RetentionPolicy.WORK_QUEUE)
# EVENTS keeps a week for replay, but at most this much: every stream shares a node's JetStream store
# (max_file_store: 8 GB a node in deploy/k8s/components/in-cluster-backends/nats.yaml, 4 GB in devstack/nats.py),
# and a store filled by events would refuse every new message, JOBS' included, so every job and send would stop.
# Capped, the oldest events go first; the server reserves the cap from the store, so the rest stays for the jobs
# (and it refuses a stream whose cap the store cannot hold). At the capacity plan's load a week of events is far
# more (docs/capacity.md, section 7): raise this with the store and its volume.
EVENTS_MAX_BYTES = 2 * 1024**3


def stream_replicas() -> int:
    """NATS_STREAM_REPLICAS: the copies of each stream a JetStream cluster keeps (3 on a 3-node cluster, so a lost
    node loses no acknowledged message); 1 on a single server. Its consumers follow their stream's."""
    return int(os.environ.get("NATS_STREAM_REPLICAS", "1"))


def streams_declared() -> bool:
    """NATS_STREAMS=declared: the streams and consumers are declared as resources (in Kubernetes, the NATS
    controller's Stream and Consumer kinds, deploy/k8s/components/jetstream), so a process only checks that what it
    uses is there and says what is missing; it never creates nor changes them (an update from a process would undo
    the declared replicas). `manage` (the default, for `make run` and tests): each process creates or updates them."""
    mode = os.environ.get("NATS_STREAMS", "manage")
    if mode not in ("manage", "declared"):
        raise ValueError(f"NATS_STREAMS is {mode!r}: it is `manage` or `declared`")
    return mode == "declared"


class UndeclaredResource(RuntimeError):
    """A stream or consumer this process uses is not declared (NATS_STREAMS=declared): start-up stops, naming it."""


def events_stream() -> Stream:
    """Domain events, each under its service's name (`leads.lead.created`): one subject tree per registered service."""
    subjects = [f"{service.name}.>" for service in registry.services()]
    return Stream("EVENTS", subjects, RetentionPolicy.LIMITS, max_age_s=7 * 24 * 3600, max_bytes=EVENTS_MAX_BYTES)


# How long start-up keeps asking JetStream for a stream before giving up: a cluster just started (or one whose
# meta leader is being elected after a node died) answers stream requests only once it has a leader, and on a
# busy machine that has taken longer than one request's 5 s (seen in CI: a three-node cluster's first CREATE).
STREAMS_READY_S = 60.0


async def _until_answered(call: Callable[[], Awaitable[None]], *, what: str) -> None:
    """`call`, again after a pause while JetStream does not answer or says it is not ready, for STREAMS_READY_S."""
    deadline, pause = time.monotonic() + STREAMS_READY_S, 0.25
    while True:
        try:
            return await call()
        except (NatsTimeout, ServiceUnavailableError) as error:
            if time.monotonic() + pause > deadline:
                raise
            log.warning("JetStream not ready; asking again", extra={"what": what, "error": repr(error)})
            await asyncio.sleep(pause)
            pause = min(pause * 2, 2.0)


class Bus:
    """One NATS connection per process, with its JetStream context."""

    def __init__(self, nc: Client, timeout_s: float = 5.0) -> None:
        self.nc = nc
        self.js: JetStreamContext = nc.jetstream(timeout=timeout_s)

    @classmethod
    async def connect(cls, url: str, *, name: str) -> Bus:
        # Reconnect forever: a NATS restart must not kill a service that can wait it out.
        nc = await nats.connect(url, name=name, max_reconnect_attempts=-1, reconnect_time_wait=0.5, connect_timeout=5)
        bus = cls(nc)
        await bus.ensure_streams()
        return bus

    async def ensure_streams(self) -> None:
        """Create or update the shared streams (every process may race to do it, which is harmless); with
        NATS_STREAMS=declared, check they are there with their subjects."""
        for stream in (JOBS, events_stream()):
            if streams_declared():
                await self._check_stream(stream)
                continue
            config = StreamConfig(
                name=stream.name,
                subjects=stream.subjects,
                retention=stream.retention,
                storage=StorageType.FILE,
                max_age=stream.max_age_s,
                max_bytes=stream.max_bytes,
                duplicate_window=stream.duplicate_window_s,
                num_replicas=stream_replicas(),
            )
            await _until_answered(lambda config=config: self._create_or_update(config), what=f"stream {stream.name}")

    async def _create_or_update(self, config: StreamConfig) -> None:
        try:
            await self.js.add_stream(config)
        except BadRequestError:
            await self.js.update_stream(config)

    async def _check_stream(self, stream: Stream) -> None:
        try:
            info = await self.js.stream_info(stream.name)
        except NotFoundError:
            raise UndeclaredResource(
                f"the JetStream stream {stream.name} is not declared (NATS_STREAMS=declared): apply its Stream "
                "resource (deploy/k8s/components/jetstream), or let the processes create it with NATS_STREAMS=manage"
            ) from None
        missing = sorted(set(stream.subjects) - set(info.config.subjects or []))
        if missing:
            raise UndeclaredResource(
                f"the JetStream stream {stream.name} does not carry {', '.join(missing)}: regenerate its Stream "
                "resource (python deploy/k8s/generate.py) and apply it"
            )

    async def check_consumer(self, stream: str, durable: str) -> None:
        """With NATS_STREAMS=declared, a durable consumer must be there before a process binds to it."""
        try:
            await self.js.consumer_info(stream, durable)
        except NotFoundError:
            raise UndeclaredResource(
                f"the JetStream consumer {durable} on {stream} is not declared (NATS_STREAMS=declared): apply its "
                "Consumer resource (deploy/k8s/components/jetstream), or let the processes create it with "
                "NATS_STREAMS=manage"
            ) from None

    async def publish(
        self, subject: str, payload: bytes, *, msg_id: str, headers: dict[str, str] | None = None
    ) -> bool:
        """Publish and wait for the stream's ack; False when the server dropped it as a duplicate."""
        ack = await self.js.publish(subject, payload, headers={**(headers or {}), MSG_ID: msg_id})
        return not ack.duplicate

    async def close(self) -> None:
        """Drain (finish in-flight publishes and acks), but never hang a shutdown on it."""
        if self.nc.is_closed:
            return
        try:
            await asyncio.wait_for(self.nc.drain(), timeout=5)
        except Exception:  # a drain that cannot finish still ends in a close
            log.warning("NATS drain did not finish; closing")
            await self.nc.close()
