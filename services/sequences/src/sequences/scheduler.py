"""The scheduler: claims due enrollments, sends each one's step through the mail room once, records what came of it.

One batch is one transaction. Its claim (CLAIM_SQL) reads the partial index of due, active
enrollments and locks what it takes with SKIP LOCKED, so several schedulers never take the same
enrollment and a batch costs what is due, never what waits. The sends happen inside the transaction:
a crash before the commit leaves the enrollments due, and the next claim sends again under the same
idempotency key ("sequences:<enrollment>:<step>"), which the mail room answers with the message it
already has. A send is never recorded unless the mail room answered it: the mail room or the leads
service out of reach leaves the enrollment due a little later (WAIT_REASON_RETRY).

The sequence's state and the window are checked when the enrollment is claimed, not when its next
wake-up was planned; the send carries the moment its window closes (`not_after`), and a send the
mail room defers (its cap, its spacing, the window) is due again when it says, inside the window.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import grpc
from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from leadflood.inbox.v1 import delivery_pb2, delivery_pb2_grpc
from leadflood_platform import context, templates
from leadflood_platform.convert import timestamp
from leadflood_platform.db import Database
from sequences import definitions, events, schedule, service
from sequences.lead_directory import Lead, LeadDirectory
from sequences.models import (
    ACTIVE,
    ARCHIVED,
    BOUNCED,
    CALL_TASK,
    COMPLETED,
    EMAIL,
    FAILED,
    PAUSED,
    QUEUED,
    SIMULATED,
    SKIPPED,
    SMS,
    STOPPED,
    SUPPRESSED,
    TASK_CREATED,
    UNSUBSCRIBED,
    WAIT_DELAY,
    WAIT_MAILBOX,
    WAIT_RETRY,
    WAIT_WINDOW,
    Enrollment,
    Sequence,
    Step,
    Task,
)

log = logging.getLogger(__name__)

# Due, active enrollments, oldest due first: the partial index ix_enrollments_due serves it whole.
# The claim is fair across orgs: the orgs with due enrollments, served longest ago first (one index probe
# each on ix_enrollments_org_due), then an equal share of each one's oldest due enrollments. An org alone
# gets the whole batch; ten orgs get a tenth each, however many one of them has waiting.
DUE_ORGS_SQL = """
SELECT t.org_id FROM sequences.org_turns t
WHERE EXISTS (
    SELECT 1 FROM sequences.enrollments e WHERE e.org_id = t.org_id AND e.state = 'active' AND e.next_due_at <= :now
)
ORDER BY t.served_at
LIMIT :limit
"""
CLAIM_SQL = """
SELECT e.* FROM unnest(CAST(:orgs AS uuid[])) AS o(org_id)
CROSS JOIN LATERAL (
    SELECT * FROM sequences.enrollments e
    WHERE e.org_id = o.org_id AND e.state = 'active' AND e.next_due_at <= :now
    ORDER BY e.next_due_at
    LIMIT :share
    FOR UPDATE SKIP LOCKED
) e
LIMIT :limit
"""
# A batch's transaction lasts while it sends: an org's turn another scheduler is serving is skipped, not
# waited for (it moves to the back of the line when that one commits).
SERVED_SQL = """
UPDATE sequences.org_turns SET served_at = clock_timestamp()
WHERE org_id IN (
    SELECT org_id FROM sequences.org_turns WHERE org_id = ANY(CAST(:orgs AS uuid[])) FOR UPDATE SKIP LOCKED
)
"""
SENT = {
    delivery_pb2.SEND_OUTCOME_QUEUED: QUEUED,
    delivery_pb2.SEND_OUTCOME_SUPPRESSED: SUPPRESSED,
    delivery_pb2.SEND_OUTCOME_SIMULATED: SIMULATED,
}
# The mail room refused the message itself (its address, say): sending it again would be refused again.
REFUSED = {grpc.StatusCode.INVALID_ARGUMENT}
# The org's mailbox is missing (none at all, or the sequence's was deleted): every send of the org
# would meet it, so they wait for a user to fix it rather than fail one by one.
NO_MAILBOX = {grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.NOT_FOUND}
# Sends in one SendMessages call, at most (the mail room takes up to 500).
SEND_BATCH_MAX = 500


def idempotency_key(enrollment_id: uuid.UUID, step_id: uuid.UUID) -> str:
    """The mail room's key for a step of an enrollment: one message, however often it is sent."""
    return f"sequences:{enrollment_id}:{step_id}"


async def claim(session: AsyncSession, *, now: dt.datetime, limit: int) -> list[Enrollment]:
    """Up to `limit` due, active enrollments, an equal share from each org with due ones (the least recently
    served first), locked for this transaction; none another claimer holds."""
    orgs = list((await session.execute(text(DUE_ORGS_SQL), {"now": now, "limit": limit})).scalars())
    if not orgs:
        return []
    share = math.ceil(limit / len(orgs))
    query = text(CLAIM_SQL).bindparams(orgs=orgs, now=now, share=share, limit=limit)
    result = await session.execute(
        select(Enrollment).from_statement(query), execution_options={"populate_existing": True}
    )
    claimed = list(result.scalars())
    if claimed:
        await session.execute(text(SERVED_SQL), {"orgs": list({e.org_id for e in claimed})})
    return claimed


# What became of one claimed enrollment's step.
@dataclass(frozen=True)
class Sent:
    outcome: str  # QUEUED, SUPPRESSED or SIMULATED
    message_id: str
    thread_id: str
    send_at: dt.datetime | None
    variant_id: str
    # SUPPRESSED: why (the mail room's words: "... is suppressed: unsubscribed").
    reason: str = ""


@dataclass(frozen=True)
class TaskMade:
    title: str
    notes: str


@dataclass(frozen=True)
class Skipped:
    reason: str


@dataclass(frozen=True)
class Deferred:
    retry_at: dt.datetime | None
    reason: str


@dataclass(frozen=True)
class Retry:
    detail: str
    after_s: float
    reason: str = WAIT_RETRY


@dataclass(frozen=True)
class Failed:
    reason: str


Outcome = Sent | TaskMade | Skipped | Deferred | Retry | Failed


@dataclass
class Due:
    """A claimed enrollment whose step may go now, with what sending it needs; once its outcome is recorded,
    what that writes besides the enrollment (its step's row, its events), written with the batch's (_write)."""

    enrollment: Enrollment
    sequence: Sequence
    step: Step
    ordinal: int
    closes_at: dt.datetime
    step_send: dict[str, Any] | None = None
    events: list[events.Event] = field(default_factory=list)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Scheduler:
    """The loop a sequences worker runs (ServiceSpec.loops): batches of due enrollments until stopped."""

    def __init__(
        self,
        *,
        db: Database,
        delivery: delivery_pb2_grpc.DeliveryServiceStub,
        leads: LeadDirectory,
        batch_size: int = 20,
        concurrency: int = 8,
        batches_in_flight: int = 1,
        idle_s: float = 1.0,
        retry_s: float = 30.0,
        precondition_retry_s: float = 300.0,
        call_timeout_s: float = 10.0,
        clock: Callable[[], dt.datetime] = _utcnow,
    ) -> None:
        self.db, self.delivery, self.leads = db, delivery, leads
        self.batch_size, self.idle_s, self.clock = batch_size, idle_s, clock
        self.retry_s, self.precondition_retry_s, self.call_timeout_s = retry_s, precondition_retry_s, call_timeout_s
        self.slots = asyncio.Semaphore(concurrency)
        self.batches_in_flight = batches_in_flight

    async def run(self, stop: asyncio.Event) -> None:
        """`batches_in_flight` batches at once (their claims skip each other's rows), sharing the send slots."""
        log.info("scheduler started", extra={"batch_size": self.batch_size, "batches": self.batches_in_flight})
        await asyncio.gather(*(self._batches(stop) for _ in range(self.batches_in_flight)))
        log.info("scheduler stopped")

    async def _batches(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                claimed = await self.run_once()
            except Exception:  # the database away, say: the batch rolled back, its enrollments stay due
                log.exception("scheduler batch failed; its enrollments stay due")
                claimed = 0
            if claimed < self.batch_size:  # a full batch suggests more is due: no pause then
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.idle_s)

    async def run_once(self) -> int:
        """One batch: claim, send, record, commit. Returns how many enrollments it handled."""
        async with self.db.transaction() as session:
            claimed = await claim(session, now=self.clock(), limit=self.batch_size)
            if not claimed:
                return 0
            sequences = await _sequences(session, {enrollment.sequence_id for enrollment in claimed})
            # An enrollment whose sequence is being changed right now is left as it is, still due: the
            # change (an edit, a pause) commits first, and the next batch sees it.
            ours = [enrollment for enrollment in claimed if enrollment.sequence_id in sequences]
            now = self.clock()
            due = [item for e in ours if (item := self._checked_ready(e, sequences[e.sequence_id], now))]
            outcomes = await self._attempt_all(due)
            await self._record_all(session, list(zip(due, outcomes, strict=True)), self.clock())
        return len(ours)

    async def _record_all(self, session: AsyncSession, done: list[tuple[Due, Outcome]], now: dt.datetime) -> None:
        """Every outcome of the batch in one savepoint (its SAVEPOINT, its RELEASE and its flush shared); should
        one fail, each is recorded in a savepoint of its own, so one enrollment's fault is its own."""
        if len(done) > 1:
            try:
                async with session.begin_nested():
                    for item, outcome in done:
                        await self._record(session, item, outcome, now)
                    await _write(session, [item for item, _ in done])
                return
            except Exception as error:
                if isinstance(error, DBAPIError) and error.connection_invalidated:
                    raise  # the database went away: the whole batch rolls back and stays due
                log.info("a batch's outcomes could not be recorded together; one by one", extra={"error": str(error)})
                for item, _ in done:  # the savepoint's rollback expired what it had changed
                    await session.refresh(item.enrollment)
        for item, outcome in done:
            await self._checked_record(session, item, outcome, now)

    # One enrollment that cannot be handled (a fault of ours) must not hold up the batch, nor every batch
    # after it by being claimed again first: it is set aside for retry_s, and the rest go on.

    def _checked_ready(self, enrollment: Enrollment, sequence: Sequence, now: dt.datetime) -> Due | None:
        try:
            return self._ready(enrollment, sequence, now)
        except Exception:
            log.exception("enrollment could not be scheduled", extra={"enrollment_id": str(enrollment.id)})
            self._set_aside(enrollment, now)
            return None

    async def _checked_record(self, session: AsyncSession, item: Due, outcome: Outcome, now: dt.datetime) -> None:
        enrollment_id = item.enrollment.id
        try:
            async with session.begin_nested():  # its own savepoint: a failure undoes this enrollment's writes only
                await self._record(session, item, outcome, now)
                await _write(session, [item])
        except Exception as error:
            if isinstance(error, DBAPIError) and error.connection_invalidated:
                raise  # the database went away: the whole batch rolls back and stays due
            # Its send (if any) is the mail room's already: sent again under the same key, it is that message.
            log.exception("step outcome could not be recorded", extra={"enrollment_id": str(enrollment_id)})
            await session.refresh(item.enrollment)  # the savepoint's rollback expired it
            self._set_aside(item.enrollment, now)

    def _set_aside(self, enrollment: Enrollment, now: dt.datetime) -> None:
        enrollment.next_due_at = now + dt.timedelta(seconds=self.retry_s)
        enrollment.waiting_reason, enrollment.waiting_detail = WAIT_RETRY, "an internal error; trying again"

    def _ready(self, enrollment: Enrollment, sequence: Sequence, now: dt.datetime) -> Due | None:
        """The enrollment's step if it may go now; otherwise the enrollment is set to wait (or end)."""
        if sequence.state != ACTIVE:
            # A pause or an archive changes the enrollments in its own transaction; this is the backstop.
            if sequence.state == ARCHIVED:
                service.finish(enrollment, STOPPED, "the sequence was archived", now)
            else:
                enrollment.state = PAUSED
            return None
        live = sequence.live_steps
        at = next((number for number, step in enumerate(live) if step.id == enrollment.current_step_id), None)
        if at is None:  # its step was removed and nothing follows it
            service.finish(enrollment, COMPLETED, "", now)
            return None
        slot = schedule.next_opening(now, service.window_of(sequence), service.zone_of(sequence, enrollment.time_zone))
        if slot.send_at > now:
            enrollment.next_due_at, enrollment.waiting_reason, enrollment.waiting_detail = slot.send_at, WAIT_WINDOW, ""
            return None
        return Due(enrollment, sequence, live[at], at + 1, slot.closes_at)

    async def _attempt_all(self, due: list[Due]) -> list[Outcome]:
        """Each item's outcome, in order. An org's items share their calls: its leads are read in one call, its
        sends go in one SendMessages call (the mail room's batch: one transaction for them all)."""
        by_org: dict[uuid.UUID, list[int]] = {}
        for index, item in enumerate(due):
            by_org.setdefault(item.enrollment.org_id, []).append(index)
        outcomes: list[Outcome] = [Retry("not attempted; trying again", self.retry_s)] * len(due)

        async def attempt(org_id: uuid.UUID, indexes: list[int]) -> None:
            with context.bound(org_id=str(org_id)):
                try:
                    answers = await self._attempt_org([due[index] for index in indexes])
                except Exception as error:  # never recorded as sent: tried again later
                    log.exception("step sends failed unexpectedly", extra={"enrollments": len(indexes)})
                    answers = [Retry(f"an unexpected error: {type(error).__name__}; trying again", self.retry_s)] * len(
                        indexes
                    )
            for index, answer in zip(indexes, answers, strict=True):
                outcomes[index] = answer

        await asyncio.gather(*(attempt(org_id, indexes) for org_id, indexes in by_org.items()))
        return outcomes

    async def _attempt_org(self, items: list[Due]) -> list[Outcome]:
        """One org's items (the org bound in the context): their leads, their messages, what the mail room said."""
        try:
            leads = await self.leads.get_many([item.enrollment.lead_id for item in items])
        except grpc.aio.AioRpcError as error:
            retry = Retry(f"the leads service could not be reached ({error.code().name}); trying again", self.retry_s)
            return [retry] * len(items)
        outcomes: list[Outcome | None] = []
        sends: list[tuple[int, delivery_pb2.SendMessageRequest, str]] = []  # (index, request, variant id)
        for index, item in enumerate(items):
            try:
                prepared = self._prepare(item, leads.get(item.enrollment.lead_id))
            except Exception as error:  # one enrollment's fault: its own
                log.exception("step could not be prepared", extra={"enrollment_id": str(item.enrollment.id)})
                prepared = Retry(f"an unexpected error: {type(error).__name__}; trying again", self.retry_s)
            if isinstance(prepared, tuple):
                sends.append((index, *prepared))
                outcomes.append(None)
            else:
                outcomes.append(prepared)
        replies = await self._send_all([request for _, request, _ in sends])
        for (index, _, variant_id), reply in zip(sends, replies, strict=True):
            outcomes[index] = self._answered(reply) if isinstance(reply, grpc.aio.AioRpcError) else (
                self._outcome_of(reply, variant_id)
            )  # fmt: skip
        return [outcome for outcome in outcomes if outcome is not None]

    def _prepare(self, item: Due, lead: Lead | None) -> Outcome | tuple[delivery_pb2.SendMessageRequest, str]:
        """The step's message for the lead (and its variant's id), or what became of the step without one."""
        enrollment, step = item.enrollment, item.step
        if lead is None:
            return Failed("the lead was deleted")
        enrollment.time_zone = lead.time_zone or None  # its next steps are planned in its zone as it is now
        variant = definitions.choose_variant(step.variants, enrollment.id, step.id)
        subject_source = str(variant["subject_template"]) if variant else step.subject_template
        body_source = str(variant["body_template"]) if variant else step.body_template
        try:
            subject = service.one_line(templates.render(subject_source, lead))
            body = templates.render(body_source, lead)
        except templates.RenderError as error:
            return Failed(f"step {item.ordinal}: {error}")
        if step.channel == CALL_TASK:
            if not lead.phone.strip():  # as a text step: a call nobody can dial is not a task
                return Skipped("the lead has no phone number to call")
            return TaskMade(title=subject, notes=body)
        full_name = service.one_line(f"{lead.first_name} {lead.last_name}")
        request = delivery_pb2.SendMessageRequest(
            idempotency_key=idempotency_key(enrollment.id, step.id),
            to=delivery_pb2.Recipient(lead_id=str(enrollment.lead_id), name=full_name),
            text_body=body,
            not_after=timestamp(item.closes_at),
            origin="sequences",
        )
        if step.channel == SMS:
            if not lead.phone.strip():
                return Skipped("the lead has no phone number")
            request.to.phone = lead.phone
            # Texts continue the lead's own text thread: the enrollment's thread is its emails'.
            request.channel, request.continue_lead_thread = delivery_pb2.CHANNEL_SMS, True
        else:
            if not lead.email.strip():
                return Skipped("the lead has no email address")
            request.to.email = lead.email
            request.channel, request.mailbox_id = delivery_pb2.CHANNEL_EMAIL, item.sequence.mailbox_id
            request.subject, request.thread_id = subject, enrollment.thread_id
        return request, str(variant["id"]) if variant else ""

    async def _send_all(
        self, requests: list[delivery_pb2.SendMessageRequest]
    ) -> list[delivery_pb2.SendMessageResponse | grpc.aio.AioRpcError]:
        """Each request's answer, in order: SendMessages for several. The mail room refuses a whole batch for one
        request it would refuse (a bad address, a mailbox gone): then each is sent alone, so the refusal is that
        request's own and the others go."""
        answers: list[delivery_pb2.SendMessageResponse | grpc.aio.AioRpcError] = []
        for start in range(0, len(requests), SEND_BATCH_MAX):
            chunk = requests[start : start + SEND_BATCH_MAX]
            if len(chunk) == 1:
                answers.append(await self._send_one(chunk[0]))
                continue
            try:
                async with self.slots:
                    reply = await self.delivery.SendMessages(
                        delivery_pb2.SendMessagesRequest(requests=chunk), timeout=self.call_timeout_s
                    )
            except grpc.aio.AioRpcError as error:
                if error.code() not in REFUSED | NO_MAILBOX | {grpc.StatusCode.UNIMPLEMENTED}:
                    answers += [error] * len(chunk)  # not reached: each would be tried again
                    continue
                answers += await asyncio.gather(*(self._send_one(request) for request in chunk))
                continue
            if len(reply.responses) != len(chunk):
                raise RuntimeError(f"SendMessages answered {len(reply.responses)} of {len(chunk)} requests")
            answers += reply.responses
        return answers

    async def _send_one(
        self, request: delivery_pb2.SendMessageRequest
    ) -> delivery_pb2.SendMessageResponse | grpc.aio.AioRpcError:
        async with self.slots:
            try:
                return await self.delivery.SendMessage(request, timeout=self.call_timeout_s)
            except grpc.aio.AioRpcError as error:
                return error

    def _outcome_of(self, reply: delivery_pb2.SendMessageResponse, variant_id: str) -> Outcome:
        if reply.outcome == delivery_pb2.SEND_OUTCOME_DEFERRED:
            retry_at = reply.retry_at.ToDatetime(dt.UTC) if reply.HasField("retry_at") else None
            return Deferred(retry_at, reply.reason)
        if reply.outcome in SENT:
            send_at = reply.send_at.ToDatetime(dt.UTC) if reply.HasField("send_at") else None
            return Sent(SENT[reply.outcome], reply.message_id, reply.thread_id, send_at, variant_id, reply.reason)
        return Retry(f"the mail room answered with no outcome ({reply.outcome}); trying again", self.retry_s)

    def _answered(self, error: grpc.aio.AioRpcError) -> Outcome:
        """A SendMessage that failed: refused for good, refused until the org has a mailbox, or not reached."""
        code, details = error.code(), (error.details() or "")[:300]
        if code in REFUSED:
            return Failed(f"the mail room refused the message: {details}")
        if code in NO_MAILBOX:
            return Retry(f"the mail room cannot send it yet: {details}", self.precondition_retry_s, WAIT_MAILBOX)
        return Retry(f"the mail room could not be reached ({code.name}); trying again", self.retry_s)

    async def _record(self, session: AsyncSession, item: Due, outcome: Outcome, now: dt.datetime) -> None:
        """The outcome on the enrollment; its step's row and its events are kept on the item for _write."""
        enrollment, sequence, step = item.enrollment, item.sequence, item.step
        item.step_send, item.events = None, []
        if isinstance(outcome, Sent):
            _step_row(item, outcome.outcome, variant_id=outcome.variant_id, message_id=outcome.message_id,
                      thread_id=outcome.thread_id)  # fmt: skip
            if step.channel == EMAIL:  # follow-up emails thread under the first; a text's thread is its own
                enrollment.thread_id = enrollment.thread_id or outcome.thread_id
            enrollment.last_sent_at = now
            item.events.append(events.step_sent_event(enrollment, step, outcome=outcome.outcome,
                               variant_id=outcome.variant_id, message_id=outcome.message_id,
                               thread_id=outcome.thread_id, at=now))  # fmt: skip
            if outcome.outcome == SUPPRESSED:  # the address can never be reached: nothing further is sent
                service.finish(enrollment, _unreachable(outcome.reason), outcome.reason[:500], now)
                item.events.append(events.enrollment_stopped_event(enrollment))
                return
            _advance(enrollment, sequence, item.ordinal, max(now, outcome.send_at or now), now)
        elif isinstance(outcome, TaskMade):
            task_id = await _make_task(session, item, outcome)
            _step_row(item, TASK_CREATED)
            item.events.append(
                events.step_sent_event(enrollment, step, outcome=TASK_CREATED, task_id=str(task_id), at=now)
            )
            _advance(enrollment, sequence, item.ordinal, now, now)
        elif isinstance(outcome, Skipped):
            _step_row(item, SKIPPED, detail=outcome.reason)
            _advance(enrollment, sequence, item.ordinal, now, now)
            # Said where a user looks: the enrollment itself, not only the step's record.
            note = f"step {item.ordinal} skipped: {outcome.reason}"
            if enrollment.state == COMPLETED:
                enrollment.stop_reason = note[:500]
            else:
                enrollment.waiting_detail = note[:500]
        elif isinstance(outcome, Deferred):
            not_before = outcome.retry_at or now + dt.timedelta(seconds=self.retry_s)
            zone = service.zone_of(sequence, enrollment.time_zone)
            slot = schedule.next_opening(max(not_before, now), service.window_of(sequence), zone)
            enrollment.next_due_at, enrollment.waiting_reason = slot.send_at, WAIT_MAILBOX
            enrollment.waiting_detail = outcome.reason[:500]
        elif isinstance(outcome, Retry):
            enrollment.next_due_at = now + dt.timedelta(seconds=outcome.after_s)
            enrollment.waiting_reason, enrollment.waiting_detail = outcome.reason, outcome.detail[:500]
        else:
            service.finish(enrollment, FAILED, outcome.reason[:500], now)
            item.events.append(events.enrollment_stopped_event(enrollment))
            log.warning("enrollment failed", extra={"enrollment_id": str(enrollment.id), "reason": outcome.reason})


def _unreachable(reason: str) -> str:
    """The state an enrollment ends in when the mail room refuses its lead's suppressed address."""
    if "unsubscribed" in reason or "complained" in reason:
        return UNSUBSCRIBED
    if "bounced" in reason or "undeliverable" in reason:
        return BOUNCED
    return STOPPED


async def _sequences(session: AsyncSession, ids: set[uuid.UUID]) -> dict[uuid.UUID, Sequence]:
    """The claimed enrollments' sequences with their steps, share-locked until the batch commits: an edit
    or a transition (which lock the sequence for update) waits for the batch, and the batch never sends
    from steps an edit is changing. A sequence locked for such a change is skipped, not waited for
    (waiting here, holding the enrollments, could deadlock with a pause waiting for them)."""
    query = (
        select(Sequence)
        .where(Sequence.id.in_(ids))
        .options(selectinload(Sequence.steps))
        .with_for_update(read=True, skip_locked=True)
    )
    rows = (await session.execute(query, execution_options={"populate_existing": True})).scalars()
    return {sequence.id: sequence for sequence in rows}


def _advance(enrollment: Enrollment, sequence: Sequence, ordinal: int, base: dt.datetime, now: dt.datetime) -> None:
    """On to the step after the one at `ordinal` (1-based), planned from `base`; completed after the last."""
    enrollment.steps_done += 1
    live = sequence.live_steps
    if ordinal >= len(live):
        service.finish(enrollment, COMPLETED, "", now)
        return
    following = live[ordinal]
    slot = service.plan_step(sequence, following, base, enrollment.time_zone)
    enrollment.current_step_id, enrollment.next_due_at = following.id, slot.send_at
    enrollment.waiting_reason = WAIT_WINDOW if slot.waited_for_window else WAIT_DELAY
    enrollment.waiting_detail = ""


def _step_row(
    item: Due, outcome: str, *, variant_id: str = "", message_id: str = "", thread_id: str = "", detail: str = ""
) -> None:
    """The step's one row for the enrollment (written by _write)."""
    item.step_send = {"outcome": outcome, "variant_id": variant_id, "message_id": message_id, "thread_id": thread_id,
                      "detail": detail[:500]}  # fmt: skip


# Each step's one row per enrollment, a batch's in one statement; a step sent again (its window had closed)
# updates its row.
STEP_SENDS_SQL = """
INSERT INTO sequences.step_sends
    (id, org_id, enrollment_id, step_id, channel, variant_id, outcome, message_id, thread_id, detail)
SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::text[], $6::text[], $7::text[], $8::text[],
    $9::text[], $10::text[])
ON CONFLICT (enrollment_id, step_id) DO UPDATE SET variant_id = excluded.variant_id, outcome = excluded.outcome,
    message_id = excluded.message_id, thread_id = excluded.thread_id, detail = excluded.detail, updated_at = now()
"""


async def _write(session: AsyncSession, items: list[Due]) -> None:
    """What recording the items' outcomes kept on them: their step rows in one statement, their events in one."""
    rows = [(item, item.step_send) for item in items if item.step_send is not None]
    if rows:
        columns: list[list[Any]] = [[] for _ in range(10)]
        for item, row in rows:
            enrollment, step = item.enrollment, item.step
            values = (uuid.uuid4(), enrollment.org_id, enrollment.id, step.id, step.channel, row["variant_id"],
                      row["outcome"], row["message_id"], row["thread_id"], row["detail"])  # fmt: skip
            for column, value in zip(columns, values, strict=True):
                column.append(value)
        await (await session.connection()).exec_driver_sql(STEP_SENDS_SQL, tuple(columns))
    await events.write(session, [event for item in items for event in item.events])


async def _make_task(session: AsyncSession, item: Due, made: TaskMade) -> uuid.UUID:
    enrollment = item.enrollment
    inserted = await session.execute(
        insert(Task)
        .values(
            id=uuid.uuid4(),
            org_id=enrollment.org_id,
            sequence_id=enrollment.sequence_id,
            enrollment_id=enrollment.id,
            step_id=item.step.id,
            lead_id=enrollment.lead_id,
            title=made.title[:500],
            notes=made.notes,
            state="open",
        )
        .on_conflict_do_nothing(index_elements=["enrollment_id", "step_id"])
        .returning(Task.id)
    )
    task_id = inserted.scalar_one_or_none()
    if task_id is None:
        task_id = await session.scalar(
            select(Task.id).where(Task.enrollment_id == enrollment.id, Task.step_id == item.step.id)
        )
    assert task_id is not None
    return task_id
