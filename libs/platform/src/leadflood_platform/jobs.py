"""Background jobs: queue one with its data, run it from JetStream with retries, record every execution."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import json
import logging
import time
import uuid
from typing import Any, ClassVar, Generic, TypeVar

import grpc
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import DecodeError, Message
from nats.aio.msg import Msg
from nats.errors import TimeoutError as FetchTimeout
from nats.js.api import AckPolicy, ConsumerConfig
from nats.js.errors import NotFoundError
from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood_platform import context, metrics, outbox, tracing
from leadflood_platform.bus import JOB_ID_HEADER, JOBS, MSG_ID, Bus, streams_declared
from leadflood_platform.db import Database
from leadflood_platform.errors import FailedPrecondition, NotFound, quoted
from leadflood_platform.group_commit import GroupCommit, Submitted
from leadflood_platform.tables import PlatformTables

log = logging.getLogger(__name__)

M = TypeVar("M", bound=Message)
R = TypeVar("R")

QUEUED, RUNNING, COMPLETED, FAILED = "queued", "running", "completed", "failed"
TERMINAL = {COMPLETED, FAILED}
# How a delivery ended, besides COMPLETED and FAILED: the job's `leadflood_job_duration_seconds` outcome label.
RETRIED, POISON, DUPLICATE, ERROR = "retried", "poison", "duplicate", "error"
# A second delivery of a job this process is working on, left to the one in flight.
IN_FLIGHT = "in_flight"
# How often a worker reads its consumers' lag from JetStream (two small requests per consumer).
QUEUE_MEASURE_INTERVAL_S = 10.0
# Deliveries outstanding on a kind's consumer across every worker replica: JetStream counts them per consumer, not
# per subscriber, and each worker fetches only what its own slots can run, so this is the fleet's ceiling, far above
# what any replica count needs (it was one process's worth, JOB_CONCURRENCY x 4, which capped a scaled-out fleet).
FLEET_ACK_PENDING = 10_000
# Claims, and completions, of jobs in flight together in one worker share a transaction, up to this many.
GROUP_COMMIT_MAX = 32

# What a delivery asks the batches for: its job's claim (id, message, delivery number) and completion (id, message,
# what perform returned).
Claim = tuple[uuid.UUID, Message, int]
Completion = tuple[uuid.UUID, Message, Any]
# A batch's claims in one statement (see JobWorker._claim_all); {columns} are the job's columns but its message.
CLAIM_MANY = """
UPDATE {table} AS j
SET status = 'running', attempts = v.delivery, started_at = coalesce(j.started_at, now()), updated_at = now()
FROM unnest($1::uuid[], $2::int[]) AS v(id, delivery)
WHERE j.id = v.id AND j.status NOT IN ('completed', 'failed') AND j.max_attempts >= v.delivery
RETURNING {columns}
"""
COMPLETE_MANY = """
UPDATE {table} AS j
SET status = 'completed', result = v.result::jsonb, error = NULL, finished_at = now(), updated_at = now()
FROM unnest($1::uuid[], $2::text[]) AS v(id, result)
WHERE j.id = v.id
"""


class RetryableJobError(Exception):
    """A transient fault (a provider's 5xx, a timeout): the job is tried again after a backoff."""


class JobStopped(Exception):
    """The job cannot go on for a reason a user caused (what it works on was deleted meanwhile).

    It fails at once with this message, without retries, and is logged without a traceback.
    """


# A peer service restarting or briefly overloaded: worth another attempt, unlike a refusal.
TRANSIENT_GRPC = {
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.ABORTED,
}


def is_transient(exc: BaseException) -> bool:
    """Faults of the infrastructure rather than of the job: a lost connection, a timeout, a peer away."""
    if isinstance(exc, RetryableJobError | ConnectionError | TimeoutError | OperationalError | InterfaceError):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, grpc.aio.AioRpcError) and exc.code() in TRANSIENT_GRPC


class JobKind(Generic[M, R]):
    """One kind of background job. A service subclasses it in its `workers.py`:

        class EnrichLead(JobKind[jobs_pb2.EnrichLeadJob, dict]):
            type = "leads.enrich"                 # the owning service's name first
            message_type = jobs_pb2.EnrichLeadJob

            def __init__(self, *, db, enricher_for): ...   # what perform needs, given by the worker
            async def perform(self, message, attempt): ...  # the slow part
            async def apply(self, session, message, outcome): ...

    The server only enqueues a kind, for which the class itself is enough (`enqueue(..., EnrichLead,
    ...)`); the worker process builds one with its dependencies and runs it.

    Where a job's status lives: its `job_executions` row is the truth (queued, running, completed,
    failed, its attempts and error). A domain row may mirror it for display (a search run's status, a
    lead's enrichment status): `on_start`, `apply` and `on_failure` write that mirror in the same
    transaction as the job's own change, so the two never disagree once committed. Between retries
    the job is queued again while the mirror still says running.
    """

    type: ClassVar[str]
    message_type: ClassVar[type[Message]]
    # Deliveries of this kind in flight at once in one worker; None: the worker's own (JOB_CONCURRENCY).
    concurrency: int | None = None

    @classmethod
    def subject(cls) -> str:
        return f"jobs.{cls.type}"

    async def perform(self, message: M, attempt: int) -> R:
        """The slow part (a provider call), given the attempt number, outside any transaction.

        Raise RetryableJobError (or let a transient fault out) to retry; JobStopped to fail at once.
        """
        raise NotImplementedError

    async def apply(self, session: AsyncSession, message: M, outcome: R) -> dict[str, Any]:
        """Records what perform returned, in the transaction that completes the job; returns its result."""
        return {}

    async def on_start(self, session: AsyncSession, message: M) -> None:
        """In the transaction that marks the job running (e.g. to show a lead as processing)."""

    async def on_start_many(self, session: AsyncSession, messages: list[M]) -> None:
        """on_start for jobs claimed together (group commit), in the transaction that marks them all running: a kind
        overrides it to do its jobs' starts in a few statements rather than one or more per job. A fault raised
        here claims each job alone (on_start), so a job's fault stays its own. The batch runs in a context of its
        own, not any one job's (logs written here name no job). Not overridden: each job's on_start, each in its
        own delivery's context."""
        for message in messages:
            await self.on_start(session, message)

    async def apply_many(self, session: AsyncSession, done: list[tuple[M, R]]) -> list[dict[str, Any]]:
        """apply for jobs completed together (message, what perform returned), in the transaction that marks them
        all completed; their results in that order. As on_start_many: a kind overrides it to record a batch in a
        few statements; a fault completes each alone (apply); not overridden, each job's apply in its own
        delivery's context."""
        return [await self.apply(session, message, outcome) for message, outcome in done]

    def batches(self, hook: str) -> bool:
        """Whether this kind overrides `on_start_many` or `apply_many` (else the worker runs each job's own hook
        in its delivery's context)."""
        return getattr(type(self), hook) is not getattr(JobKind, hook)

    async def on_failure(self, session: AsyncSession, message: M, error: str) -> None:
        """In the transaction that marks the job failed, to record the failure on the domain object."""


def public_id(owner: str, job_id: uuid.UUID | None) -> str:
    """A job's id as callers see it, `<service>.<uuid>`: it names the service that owns the job, so a
    poll asks that service alone. Empty for no job."""
    return f"{owner}.{job_id}" if job_id else ""


def parse_public_id(value: str) -> tuple[str, uuid.UUID]:
    """The owning service and the job's own id; NotFound for anything else (no job has that id)."""
    owner, _, raw = value.partition(".")
    try:
        return owner, uuid.UUID(raw)
    except ValueError:
        raise NotFound(f"job {quoted(value)} not found: a job id is <service>.<uuid>") from None


async def enqueue(
    session: AsyncSession,
    tables: PlatformTables,
    kind: type[JobKind[Any, Any]] | JobKind[Any, Any],
    message: Message,
    *,
    org_id: uuid.UUID,
    max_attempts: int,
) -> uuid.UUID:
    """Record a queued job and put its message in the outbox, both in the caller's transaction."""
    job_id = new_job(message)
    values = dict(
        id=job_id, org_id=org_id, type=kind.type, status=QUEUED, max_attempts=max_attempts,
        payload=MessageToDict(message),
    )  # fmt: skip
    if "message" in tables.jobs.c:  # platform tables v2: kept for a replay
        values["message"] = message.SerializeToString()
    await session.execute(insert(tables.jobs).values(**values))
    await outbox.enqueue(session, tables, subject=kind.subject(), message=message, msg_id=str(job_id))
    return job_id


def new_job(message: Message) -> uuid.UUID:
    """A new job's id, set on its message when the message names its job. A hot path writing the job's row in
    a statement of its own (queued, `payload` its MessageToDict, `message` serialised) then calls
    outbox.enqueue with this id as msg_id, as `enqueue` does."""
    job_id = uuid.uuid4()
    if "job_id" in message.DESCRIPTOR.fields_by_name:
        message.job_id = str(job_id)  # type: ignore[attr-defined]
    return job_id


async def replay(session: AsyncSession, tables: PlatformTables, *, job_id: uuid.UUID, org_id: uuid.UUID) -> Row:
    """A failed job (a dead letter) queued again with the message it was first sent with, its attempts afresh.

    The job's kind sees it as any delivery: a send that went out already finds its work done and does
    nothing (the kinds' own idempotency), so replaying twice has one effect.
    """
    jobs = tables.jobs
    row = (
        await session.execute(select(jobs).where(jobs.c.id == job_id, jobs.c.org_id == org_id).with_for_update())
    ).first()
    if row is None:
        raise NotFound(f"job {job_id} not found")
    if row.status != FAILED:
        raise FailedPrecondition(f"only a failed job can be replayed; this one is {row.status}")
    message = getattr(row, "message", None)
    if message is None:
        raise FailedPrecondition("this job was queued before jobs kept their messages: it cannot be replayed")
    await session.execute(
        update(jobs)
        .where(jobs.c.id == job_id)
        .values(
            status=QUEUED, attempts=0, error=None, result=None, started_at=None, finished_at=None, updated_at=func.now()
        )
    )
    # A new message (the server remembers the old id for its de-duplication window), naming its job.
    await outbox.enqueue(
        session, tables, subject=f"jobs.{row.type}", message=message, msg_id=f"{job_id}:replay:{uuid.uuid4()}",
        headers={JOB_ID_HEADER: str(job_id)},
    )  # fmt: skip
    return (await session.execute(select(jobs).where(jobs.c.id == job_id))).one()


async def get(session: AsyncSession, tables: PlatformTables, *, job_id: uuid.UUID, org_id: uuid.UUID) -> Row | None:
    """One job of the org, or None."""
    jobs = tables.jobs
    query = select(jobs).where(jobs.c.id == job_id, jobs.c.org_id == org_id)
    return (await session.execute(query)).first()


class JobWorker:
    """Durable pull consumers on the JOBS stream; explicit acks; nak with delay to retry; term for poison."""

    def __init__(
        self,
        *,
        service: str,
        db: Database,
        bus: Bus,
        tables: PlatformTables,
        kinds: list[JobKind[Any, Any]],
        backoff_ms: list[int],
        ack_wait_ms: int,
        concurrency: int = 4,
    ) -> None:
        self.service, self.db, self.bus, self.tables = service, db, bus, tables
        self.kinds, self.backoff_ms, self.ack_wait_ms = kinds, backoff_ms, ack_wait_ms
        self.concurrency = concurrency
        # The jobs this process is working on now, by kind and id: a second delivery of one of them is left
        # to the one in flight (see _process_safely).
        self._in_flight: set[tuple[str, str]] = set()
        # Per kind, the claims and the completions of its jobs in flight, each a batch at a time (group commit).
        self._claims: dict[str, GroupCommit[Claim, Row | None]] = {}
        self._completions: dict[str, GroupCommit[Completion, None]] = {}

    @functools.cached_property
    def _claim_many(self) -> str:
        columns = ", ".join(f"j.{c.name}" for c in self.tables.jobs.c if c.name != "message")
        return CLAIM_MANY.format(table=self._jobs_table, columns=columns)

    @functools.cached_property
    def _complete_many(self) -> str:
        return COMPLETE_MANY.format(table=self._jobs_table)

    @property
    def _jobs_table(self) -> str:
        jobs = self.tables.jobs
        return f"{jobs.schema}.{jobs.name}" if jobs.schema else jobs.name

    async def run(self, stop: asyncio.Event) -> None:
        await asyncio.gather(*(self._consume(kind, stop) for kind in self.kinds), self._report_queues(stop))

    @staticmethod
    def durable(service: str, kind: JobKind[Any, Any] | type[JobKind[Any, Any]]) -> str:
        """The JetStream consumer a service's workers share for one kind."""
        return f"{service}-{kind.type}".replace(".", "-")

    async def measure_queue(self, kind: JobKind[Any, Any]) -> tuple[int, int, float]:
        """The kind's consumer lag into the queue gauges: (not yet delivered, delivered and unacked, the oldest
        unacked message's age in seconds). JOBS is a work queue, so an acked message is gone and the first
        message on the kind's subject past the ack floor is the oldest one still waiting."""
        durable = self.durable(self.service, kind)
        info = await self.bus.js.consumer_info(JOBS.name, durable)
        pending, ack_pending, age = info.num_pending or 0, info.num_ack_pending or 0, 0.0
        if pending or ack_pending:
            floor = info.ack_floor.stream_seq if info.ack_floor else 0
            with contextlib.suppress(NotFoundError):
                oldest = await self.bus.js.get_msg(JOBS.name, seq=floor + 1, subject=kind.subject(), next=True)
                if oldest.time is not None:
                    age = max(0.0, (dt.datetime.now(dt.UTC) - oldest.time).total_seconds())
        metrics.CONSUMER_PENDING.labels(JOBS.name, durable).set(pending)
        metrics.CONSUMER_ACK_PENDING.labels(JOBS.name, durable).set(ack_pending)
        metrics.CONSUMER_OLDEST_PENDING_AGE.labels(JOBS.name, durable).set(age)
        return pending, ack_pending, age

    async def _report_queues(self, stop: asyncio.Event) -> None:
        """measure_queue of every kind each QUEUE_MEASURE_INTERVAL_S, until stopped (nothing on the job path);
        the first measure of each is its consumer's, once subscribed."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=QUEUE_MEASURE_INTERVAL_S)
            for kind in self.kinds:
                if not stop.is_set():
                    await self._measure_quietly(kind)

    async def _measure_quietly(self, kind: JobKind[Any, Any]) -> None:
        try:
            await self.measure_queue(kind)
        except Exception as error:  # NATS away: the gauges keep their last values until the next round
            log.warning("cannot measure the queue", extra={"subject": kind.subject(), "error": str(error)})

    async def _consume(self, kind: JobKind[Any, Any], stop: asyncio.Event) -> None:
        durable = self.durable(self.service, kind)
        if streams_declared():  # bound to the declared consumer, never created or changed here
            await self.bus.check_consumer(JOBS.name, durable)
        sub = await self.bus.js.pull_subscribe(
            kind.subject(),
            durable=durable,
            stream=JOBS.name,
            config=ConsumerConfig(
                ack_policy=AckPolicy.EXPLICIT,
                ack_wait=self.ack_wait_ms / 1000,
                # Attempts are counted by the job record; the server must never give up on its own.
                max_deliver=-1,
                max_ack_pending=FLEET_ACK_PENDING,
            ),
        )
        log.info("consuming", extra={"subject": kind.subject(), "durable": durable})
        await self._measure_quietly(kind)
        try:
            await self._fetch_until(stop, kind, sub)
        finally:
            # A pull subscription left open keeps the connection's drain waiting at shutdown.
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    async def _fetch_until(self, stop: asyncio.Event, kind: JobKind, sub: Any) -> None:
        """Keeps the kind's concurrency in flight: a finished job's slot is filled by the next fetch, rather
        than a batch waiting for its slowest job before the next batch is fetched."""
        limit = kind.concurrency or self.concurrency
        # Refilled a few slots at a time: a fetch is a request to the server, and one per finished job was a
        # visible share of a busy worker's time; the jobs in flight stay between limit - refill and limit.
        refill = max(1, limit // 4)
        running: set[asyncio.Task[None]] = set()
        try:
            while not stop.is_set():
                if running and limit - len(running) < refill:
                    await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                    continue
                try:
                    msgs = await sub.fetch(limit - len(running), timeout=1)
                except (TimeoutError, FetchTimeout):
                    continue
                except Exception:
                    log.exception("fetch failed", extra={"subject": kind.subject()})
                    await asyncio.sleep(1)
                    continue
                for msg in msgs:
                    task = asyncio.create_task(self._process_safely(kind, msg))
                    running.add(task)
                    task.add_done_callback(running.discard)
        finally:
            # Stopping: the jobs in flight finish (a cancel reaches them through the gather).
            if running:
                await asyncio.gather(*running, return_exceptions=True)

    async def _process_safely(self, kind: JobKind[Any, Any], msg: Msg) -> None:
        """One message's failure (its database gone, say) never stops the consumer: it comes back later.

        A job this process is already working on is not started twice. JetStream redelivers a message whose
        ack wait ran out, and a message can sit in the client's buffer past that wait (a pull that timed out
        on our side was still answered), so the same job can arrive twice in one process while its first
        delivery is in flight: the second is left alone (no ack, no nak), and the first's ack or nak settles
        the message. A send would otherwise go out twice (seen: two duplicates in 40 sends held at their
        server longer than the ack wait).
        """
        headers = msg.headers or {}
        key = (kind.type, headers.get(JOB_ID_HEADER) or headers.get(MSG_ID, ""))
        if key in self._in_flight:
            log.info("job already in flight here; delivery left to it", extra={"subject": msg.subject})
            metrics.JOB_DURATION.labels(kind.type, IN_FLIGHT).observe(0.0)
            return
        self._in_flight.add(key)
        started, outcome = time.perf_counter(), ERROR
        try:
            outcome = await self.process(kind, msg)
        except Exception:
            log.exception("job delivery failed; it will be redelivered", extra={"subject": msg.subject})
            with contextlib.suppress(Exception):
                await msg.nak(delay=1)
        finally:
            self._in_flight.discard(key)
            metrics.JOB_DURATION.labels(kind.type, outcome).observe(time.perf_counter() - started)
            if outcome in TERMINAL:
                metrics.JOB_ATTEMPTS.labels(kind.type, outcome).observe(msg.metadata.num_delivered or 1)

    async def process(self, kind: JobKind[Any, Any], msg: Msg) -> str:
        """Run one delivery of a job; safe to call again for the same job after a crash. Returns how it ended:
        COMPLETED, FAILED, RETRIED, POISON or DUPLICATE."""
        headers = msg.headers or {}
        raw_id = headers.get(JOB_ID_HEADER) or headers.get(MSG_ID, "")
        with tracing.consuming(headers, kind.type), context.bound(job_id=raw_id):
            try:
                job_id = uuid.UUID(raw_id)
                message = kind.message_type.FromString(msg.data)
            except (ValueError, DecodeError) as exc:
                await self._poison(kind, msg, f"undecodable message: {exc}")
                return POISON
            delivery = msg.metadata.num_delivered or 1
            try:
                job = await self._claims_of(kind).submit((job_id, message, delivery))
            except JobStopped as stopped:  # on_start found nothing left to work on
                await self._stop(kind, job_id, message, msg, stopped)
                return FAILED
            if job is None:
                await self._poison(kind, msg, f"no job record {job_id}")
                return POISON
            with context.bound(org_id=str(job.org_id)):
                if job.status in TERMINAL:
                    # A redelivery of work already finished (crash after commit, before ack).
                    log.info("job already finished; acking redelivery", extra={"status": job.status})
                    await msg.ack()
                    return DUPLICATE
                if delivery > job.max_attempts:
                    await self._fail(kind, job_id, message, msg, f"gave up after {job.max_attempts} attempts")
                    return FAILED
                return await self._execute(kind, job, message, msg, delivery)

    async def _execute(self, kind: JobKind[Any, Any], job: Row, message: Message, msg: Msg, delivery: int) -> str:
        keepalive = asyncio.create_task(self._keep_in_progress(msg))
        try:
            outcome = await kind.perform(message, delivery)
            await self._completions_of(kind).submit((job.id, message, outcome))
        except Exception as exc:
            keepalive.cancel()
            if isinstance(exc, JobStopped):
                await self._stop(kind, job.id, message, msg, exc)
                return FAILED
            if not is_transient(exc):
                log.exception("job failed permanently")
                await self._fail(kind, job.id, message, msg, str(exc) or type(exc).__name__)
                return FAILED
            if delivery < job.max_attempts:
                delay_ms = self.backoff_ms[min(delivery, len(self.backoff_ms)) - 1] if self.backoff_ms else 0
                # A provider that said when to come back (Retry-After) is not asked again sooner.
                delay_ms = max(delay_ms, int((getattr(exc, "retry_after_s", None) or 0) * 1000))
                log.warning(
                    "job attempt failed; retrying", extra={"attempt": delivery, "delay_ms": delay_ms, "error": str(exc)}
                )
                async with self.db.transaction() as session:
                    await self._set(session, job.id, status=QUEUED, error=str(exc))
                await msg.nak(delay=delay_ms / 1000)
                return RETRIED
            await self._fail(kind, job.id, message, msg, str(exc) or type(exc).__name__)
            return FAILED
        finally:
            keepalive.cancel()
        # Not awaiting the server's answer: an ack lost on the way is a redelivery that finds the job completed.
        await msg.ack()
        log.debug("job completed", extra={"attempt": delivery})
        return COMPLETED

    def _claims_of(self, kind: JobKind[Any, Any]) -> GroupCommit[Claim, Row | None]:
        if kind.type not in self._claims:
            self._claims[kind.type] = GroupCommit(functools.partial(self._claim_all, kind), max_batch=GROUP_COMMIT_MAX)
        return self._claims[kind.type]

    def _completions_of(self, kind: JobKind[Any, Any]) -> GroupCommit[Completion, None]:
        if kind.type not in self._completions:
            batch = functools.partial(self._complete_all, kind)
            self._completions[kind.type] = GroupCommit(batch, max_batch=GROUP_COMMIT_MAX)
        return self._completions[kind.type]

    async def _claim_all(self, kind: JobKind[Any, Any], batch: list[Submitted[Claim]]) -> list[Row | None | Exception]:
        """Claims for the jobs of a batch in one transaction: one statement claims every job that may run, then each
        one's on_start (in its own delivery's context), or the kind's on_start_many for them all. Should anything
        fail (an on_start stopping its job), each is claimed alone, as one at a time would have been, so a job's
        fault stays its own."""
        if len(batch) > 1:
            try:
                return await self._claim_together(kind, batch)
            except Exception as error:
                log.info("claims of a batch failed together; claiming each alone", extra={"error": str(error)})
        return [await one.within(self._claim_alone, kind, *one.item) for one in batch]

    async def _claim_together(self, kind: JobKind[Any, Any], batch: list[Submitted[Claim]]) -> list[Row | None]:
        ids, deliveries = [one.item[0] for one in batch], [one.item[2] for one in batch]
        async with self.db.transaction() as session:
            connection = await session.connection()
            claimed = {row.id: row for row in await connection.exec_driver_sql(self._claim_many, (ids, deliveries))}
            if kind.batches("on_start_many"):
                await kind.on_start_many(session, [one.item[1] for one in batch if one.item[0] in claimed])
            else:
                for one in batch:
                    job_id, message, _ = one.item
                    if (job := claimed.get(job_id)) is not None:
                        await one.within(self._start, kind, session, message, job)
            # A job not claimed, as it is, for its caller to see why not (finished already, out of attempts).
            jobs = self.tables.jobs
            rest = [job_id for job_id in ids if job_id not in claimed]
            if rest:
                for row in await session.execute(select(jobs).where(jobs.c.id.in_(rest))):
                    claimed[row.id] = row
        return [claimed.get(job_id) for job_id in ids]

    @staticmethod
    async def _start(kind: JobKind[Any, Any], session: AsyncSession, message: Message, job: Row) -> None:
        with context.bound(org_id=str(job.org_id)):
            await kind.on_start(session, message)

    async def _claim_alone(
        self, kind: JobKind[Any, Any], job_id: uuid.UUID, message: Message, delivery: int
    ) -> Row | None | Exception:
        try:
            return await self._claim(kind, job_id, message, delivery)
        except Exception as exc:  # to its caller alone
            return exc

    async def _complete_all(
        self, kind: JobKind[Any, Any], batch: list[Submitted[Completion]]
    ) -> list[None | Exception]:
        """Completions of the jobs of a batch in one transaction: each one's apply (in its own delivery's context), or
        the kind's apply_many for them all, then one statement marks them all completed. Should anything fail, each
        completes alone (and a job whose apply fails is retried or failed by its caller, as ever)."""
        if len(batch) > 1:
            try:
                async with self.db.transaction() as session:
                    if kind.batches("apply_many"):
                        applied = await kind.apply_many(session, [(one.item[1], one.item[2]) for one in batch])
                        if len(applied) != len(batch):
                            raise RuntimeError(f"apply_many gave {len(applied)} results for {len(batch)} jobs")
                        results = [json.dumps(result) for result in applied]
                    else:
                        results = [json.dumps(await one.within(kind.apply, session, *one.item[1:])) for one in batch]
                    ids = [one.item[0] for one in batch]
                    await (await session.connection()).exec_driver_sql(self._complete_many, (ids, results))
                return [None] * len(batch)
            except Exception as error:
                log.info("completions of a batch failed together; completing each alone", extra={"error": str(error)})
        return [await one.within(self._complete_alone, kind, *one.item) for one in batch]

    async def _complete_alone(
        self, kind: JobKind[Any, Any], job_id: uuid.UUID, message: Message, outcome: Any
    ) -> None | Exception:
        try:
            async with self.db.transaction() as session:
                result = await kind.apply(session, message, outcome)
                done = {"status": COMPLETED, "result": result, "error": None, "finished_at": func.now()}
                await self._set(session, job_id, **done)
        except Exception as exc:  # to its caller alone
            return exc
        return None

    async def _claim(self, kind: JobKind[Any, Any], job_id: uuid.UUID, message: Message, delivery: int) -> Row | None:
        jobs = self.tables.jobs
        # Claimed in one statement when it may run (its row locked, as a concurrent delivery's claim waits);
        # else the job as it is, for the caller to see why not.
        claim = (
            update(jobs)
            .where(jobs.c.id == job_id, jobs.c.status.not_in(TERMINAL), jobs.c.max_attempts >= delivery)
            .values(
                status=RUNNING,
                attempts=delivery,
                started_at=func.coalesce(jobs.c.started_at, func.now()),
                updated_at=func.now(),
            )
            .returning(*jobs.c)
        )
        async with self.db.transaction() as session:
            job = (await session.execute(claim)).first()
            if job is None:
                return (await session.execute(select(jobs).where(jobs.c.id == job_id))).first()
            with context.bound(org_id=str(job.org_id)):
                await kind.on_start(session, message)
            return job

    async def _fail(
        self, kind: JobKind, job_id: uuid.UUID, message: Message, msg: Msg, error: str, *, quiet: bool = False
    ) -> None:
        async with self.db.transaction() as session:
            await self._set(session, job_id, status=FAILED, error=error, finished_at=func.now())
            await kind.on_failure(session, message, error)
        if not quiet:
            log.error("job failed", extra={"error": error})
        await msg.term()

    async def _stop(
        self, kind: JobKind[Any, Any], job_id: uuid.UUID, message: Message, msg: Msg, stopped: JobStopped
    ) -> None:
        log.warning("job stopped", extra={"reason": str(stopped)})
        await self._fail(kind, job_id, message, msg, str(stopped), quiet=True)

    async def _poison(self, kind: JobKind[Any, Any], msg: Msg, error: str) -> None:
        """Terminate a message that can never succeed, and keep a record of it."""
        log.error("poison message terminated", extra={"subject": msg.subject, "error": error})
        async with self.db.transaction() as session:
            await session.execute(
                insert(self.tables.jobs).values(
                    id=uuid.uuid4(),
                    org_id=uuid.UUID(int=0),
                    type=kind.type,
                    status=FAILED,
                    attempts=msg.metadata.num_delivered or 1,
                    max_attempts=0,
                    payload={"subject": msg.subject, "headers": dict(msg.headers or {}), "data": msg.data.hex()},
                    error=f"poison: {error}",
                    finished_at=func.now(),
                )
            )
        await msg.term()

    async def _set(self, session: AsyncSession, job_id: uuid.UUID, **values: Any) -> None:
        jobs = self.tables.jobs
        await session.execute(update(jobs).where(jobs.c.id == job_id).values(updated_at=func.now(), **values))

    async def _keep_in_progress(self, msg: Msg) -> None:
        """Tell JetStream a long job is alive, so it is not redelivered to another worker meanwhile."""
        with contextlib.suppress(asyncio.CancelledError):
            while True:
                await asyncio.sleep(self.ack_wait_ms / 3000)
                await msg.in_progress()
