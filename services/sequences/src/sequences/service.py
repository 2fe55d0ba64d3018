"""Sequences domain logic: definitions, the lifecycle, enrollments, stops, tasks. The caller owns the transaction."""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
import zoneinfo
from dataclasses import dataclass

from sqlalchemy import ColumnElement, exists, func, select
from sqlalchemy import update as update_rows
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from leadflood_platform import templates, totals
from leadflood_platform.errors import FailedPrecondition, InvalidArgument, NotFound
from sequences import definitions, events, schedule
from sequences.models import (
    ACTIVE,
    ARCHIVED,
    BOUNCED,
    COMPLETED,
    DONE,
    DRAFT,
    FAILED,
    IN_PROGRESS,
    MEETING_BOOKED,
    OPEN,
    PAUSED,
    QUEUED,
    REPLIED,
    STOPPED,
    UNSUBSCRIBED,
    WAIT_DELAY,
    WAIT_WINDOW,
    WINDOW_CLOSED,
    Enrollment,
    Sequence,
    Step,
    StepSend,
    Task,
)

MAX_ENROLL = 1000
MAX_PAGE = 200  # sequences, enrollments or tasks a page holds at most
# action: (the states it may start from, the state it leads to)
TRANSITIONS = {
    "activate": ((DRAFT,), ACTIVE),
    "pause": ((ACTIVE,), PAUSED),
    "resume": ((PAUSED,), ACTIVE),
    "archive": ((DRAFT, ACTIVE, PAUSED), ARCHIVED),
}
ALREADY_ENROLLED = "already enrolled in this sequence"
WENT_THROUGH = "already went through this sequence"
LISTED_TWICE = "listed more than once"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# --- sequences ---------------------------------------------------------------------------------


async def create(*, session: AsyncSession, org_id: uuid.UUID, definition: definitions.Definition) -> Sequence:
    valid = definitions.validate(definition)
    sequence = Sequence(id=uuid.uuid4(), org_id=org_id, state=DRAFT, steps=[])
    _apply_header(sequence, valid)
    session.add(sequence)
    for number, spec in enumerate(valid.steps, start=1):
        sequence.steps.append(_new_step(sequence, spec, number))
    await session.flush()
    return sequence


async def get(*, session: AsyncSession, org_id: uuid.UUID, sequence_id: uuid.UUID, lock: str | None = None) -> Sequence:
    """The org's sequence with its steps; `lock` "update" or "share" locks its row for the transaction."""
    query = select(Sequence).where(Sequence.id == sequence_id, Sequence.org_id == org_id)
    if lock:
        query = query.with_for_update(read=lock == "share")
    query = query.options(selectinload(Sequence.steps)).execution_options(populate_existing=True)
    sequence = (await session.execute(query)).scalar_one_or_none()
    if sequence is None:
        raise NotFound(f"sequence {sequence_id} not found")
    return sequence


def _sequences_matching(org_id: uuid.UUID, state: str | None) -> list[ColumnElement[bool]]:
    return [Sequence.org_id == org_id, Sequence.state == state if state else Sequence.state != ARCHIVED]


async def list_page(
    *, session: AsyncSession, org_id: uuid.UUID, state: str | None, size: int, cursor: str
) -> tuple[list[Sequence], str]:
    """A page of the org's sequences, newest first: those in `state`, or every one not archived; and the next
    page's cursor (empty at the end)."""
    if not 1 <= size <= MAX_PAGE:
        raise InvalidArgument.on("page_size", f"must be between 1 and {MAX_PAGE}")
    query = select(Sequence).where(*_sequences_matching(org_id, state)).options(selectinload(Sequence.steps))
    if cursor:
        before_at, before_id = _decode_cursor(cursor)
        query = query.where(func.row(Sequence.created_at, Sequence.id) < func.row(before_at, before_id))
    newest_first = query.order_by(Sequence.created_at.desc(), Sequence.id.desc()).limit(size + 1)
    sequences = list((await session.execute(newest_first)).scalars().all())
    return sequences[:size], _encode_cursor(sequences[size - 1]) if len(sequences) > size else ""


async def sequences_total(
    *, session: AsyncSession, org_id: uuid.UUID, state: str | None, cap: int = totals.MAX_TOTAL
) -> tuple[int, bool]:
    """How many sequences `list_page` lists over all its pages, counted up to `cap`, and whether there are more."""
    return await totals.capped_count(session, select(Sequence.id).where(*_sequences_matching(org_id, state)), cap)


async def update(
    *, session: AsyncSession, org_id: uuid.UUID, sequence_id: uuid.UUID, definition: definitions.Definition
) -> Sequence:
    """Replaces the definition. A step named by its id keeps its identity (its sends, the leads waiting
    at it); a step left out is removed, and the leads waiting at it move on to the step after it."""
    sequence = await get(session=session, org_id=org_id, sequence_id=sequence_id, lock="update")
    if sequence.state == ARCHIVED:
        raise FailedPrecondition("the sequence is archived: it can no longer be changed")
    old = sequence.live_steps
    known = {step.id: {str(v["id"]) for v in step.variants} for step in old}
    valid = definitions.validate(definition, known_steps=known)
    if not valid.steps and sequence.state in (ACTIVE, PAUSED):
        raise FailedPrecondition(f"the sequence is {sequence.state}: it needs at least one step (archive it instead)")
    _apply_header(sequence, valid)
    by_id = {step.id: step for step in old}
    new: list[Step] = []
    for number, spec in enumerate(valid.steps, start=1):
        if spec.id is None:
            step = _new_step(sequence, spec, number)
            sequence.steps.append(step)
        else:
            step = by_id[spec.id]
            _apply_step(step, spec, number)
        new.append(step)
    await session.flush()
    kept = {step.id for step in new}
    now = dt.datetime.now(dt.UTC)
    for index, gone in enumerate(old):
        if gone.id in kept:
            continue
        await _move_on_from(session, gone, _successor(old[:index], new), now)
        sent = await session.scalar(select(exists().where(StepSend.step_id == gone.id)))
        if sent:
            gone.removed, gone.ordinal = True, 0
        else:
            await session.delete(gone)
    sequence.updated_at = now
    await session.flush()
    return await get(session=session, org_id=org_id, sequence_id=sequence_id)


def _apply_header(sequence: Sequence, valid: definitions.ValidDefinition) -> None:
    sequence.name, sequence.mailbox_id = valid.name, valid.mailbox_id
    sequence.window_days = valid.window.days
    sequence.window_start, sequence.window_end = valid.window.start, valid.window.end
    sequence.time_zone = valid.window.time_zone


def _new_step(sequence: Sequence, spec: definitions.ValidStep, ordinal: int) -> Step:
    step = Step(id=uuid.uuid4(), org_id=sequence.org_id, sequence_id=sequence.id, removed=False)
    _apply_step(step, spec, ordinal)
    return step


def _apply_step(step: Step, spec: definitions.ValidStep, ordinal: int) -> None:
    step.ordinal, step.channel = ordinal, spec.channel
    step.delay_amount, step.delay_unit = spec.delay_amount, spec.delay_unit
    step.subject_template, step.body_template = spec.subject_template, spec.body_template
    step.variants = spec.variants


def _successor(before: list[Step], new: list[Step]) -> Step | None:
    """Where a lead waiting at a removed step goes: the step after the last one that preceded it and survives."""
    positions = {step.id: number for number, step in enumerate(new)}
    anchor = max((positions[step.id] for step in before if step.id in positions), default=-1)
    return new[anchor + 1] if anchor + 1 < len(new) else None


async def _move_on_from(session: AsyncSession, gone: Step, successor: Step | None, now: dt.datetime) -> None:
    waiting = Enrollment.current_step_id == gone.id
    if successor is not None:
        moved = update_rows(Enrollment).where(waiting, Enrollment.state.in_(IN_PROGRESS))
        await session.execute(moved.values(current_step_id=successor.id))
    else:
        await session.execute(
            update_rows(Enrollment)
            .where(waiting, Enrollment.state.in_(IN_PROGRESS))
            .values(state=COMPLETED, **_finished(now, "its remaining steps were removed"))
        )
    await session.execute(update_rows(Enrollment).where(waiting).values(current_step_id=None))


# --- lifecycle ---------------------------------------------------------------------------------


async def transition(*, session: AsyncSession, org_id: uuid.UUID, sequence_id: uuid.UUID, action: str) -> Sequence:
    """draft -> active -> paused -> active -> archived; FailedPrecondition naming the state otherwise.

    The sequence's enrollments follow it: `active` while it is active, `paused` while it is not.
    The sequence's row lock waits for a scheduler batch sending from it (which share-locks it), so
    once a pause returns, nothing more is sent.
    """
    sources, target = TRANSITIONS[action]
    sequence = await get(session=session, org_id=org_id, sequence_id=sequence_id, lock="update")
    if sequence.state not in sources:
        allowed = " or ".join(sources)
        raise FailedPrecondition(f"the sequence is {sequence.state}: only a {allowed} sequence can be {_past(action)}")
    if target == ACTIVE and not sequence.live_steps:
        raise FailedPrecondition("the sequence has no steps: add at least one before activating it")
    now = dt.datetime.now(dt.UTC)
    in_sequence = update_rows(Enrollment).where(Enrollment.sequence_id == sequence.id)
    if target == ACTIVE:
        await session.execute(in_sequence.where(Enrollment.state == PAUSED).values(state=ACTIVE))
    elif target == PAUSED:
        await session.execute(in_sequence.where(Enrollment.state == ACTIVE).values(state=PAUSED))
    else:
        await session.execute(
            in_sequence.where(Enrollment.state.in_(IN_PROGRESS)).values(
                state=STOPPED, **_finished(now, "the sequence was archived")
            )
        )
    sequence.state, sequence.updated_at = target, now
    await session.flush()
    return sequence


def _past(action: str) -> str:
    return {"activate": "activated", "pause": "paused", "resume": "resumed", "archive": "archived"}[action]


# --- enrollments -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Skipped:
    lead_id: str
    reason: str


async def enroll(
    *,
    session: AsyncSession,
    org_id: uuid.UUID,
    sequence_id: uuid.UUID,
    lead_ids: list[uuid.UUID],
    now: dt.datetime,
    zones: dict[uuid.UUID, str] | None = None,
    reenroll: bool = False,
) -> tuple[list[Enrollment], list[Skipped]]:
    """Each lead enrolled at the first step, or skipped (already enrolled, already went through the sequence,
    listed twice): enroll_ids, and the enrollments made read back."""
    ids, skipped = await enroll_ids(
        session=session,
        org_id=org_id,
        sequence_id=sequence_id,
        lead_ids=lead_ids,
        now=now,
        zones=zones,
        reenroll=reenroll,
    )
    if not ids:
        return [], skipped
    query = select(Enrollment).where(Enrollment.id.in_(ids)).order_by(Enrollment.created_at)
    return list((await session.execute(query)).scalars().all()), skipped


# The enrollments of a page of leads in one statement: arrays of their own values, the rest shared (no SQL to
# compile per call, as a multi-row VALUES of 500 rows was). Each lead's last enrollment in the sequence (by the
# unique index on its rounds) decides: none, round 1; one that has ended and `reenroll` ($10) asked made before
# the cut-off ($11, none: any), the next round; otherwise nothing. The unique indexes settle a race: two calls
# that both saw no enrollment insert the same round, and the second does nothing (it waits for the first's
# commit); a new round beside an enrollment still going is refused by the index on those in progress.
ENROLL_SQL = """
INSERT INTO sequences.enrollments (id, org_id, sequence_id, lead_id, round, state, time_zone, current_step_id,
    next_due_at, waiting_reason, waiting_detail, stop_reason, stop_channel, steps_done, thread_id)
SELECT r.id, $1, $2, r.lead_id, coalesce(last.round, 0) + 1, $3, r.time_zone, $4, r.next_due_at, r.waiting_reason,
    '', '', '', 0, ''
FROM unnest($5::uuid[], $6::uuid[], $7::text[], $8::timestamptz[], $9::text[])
    AS r(id, lead_id, time_zone, next_due_at, waiting_reason)
LEFT JOIN LATERAL (
    SELECT e.round, e.state, e.created_at FROM sequences.enrollments e
    WHERE e.sequence_id = $2 AND e.lead_id = r.lead_id
    ORDER BY e.round DESC
    LIMIT 1
) last ON true
WHERE last.round IS NULL
    OR ($10 AND last.state NOT IN ('active', 'paused') AND ($11::timestamptz IS NULL OR last.created_at < $11))
ON CONFLICT DO NOTHING
RETURNING id, lead_id
"""
TURN_SQL = "INSERT INTO sequences.org_turns (org_id, served_at) VALUES ($1, now()) ON CONFLICT DO NOTHING"
# What became of each lead's last enrollment in the sequence: the words of its skip.
LAST_STATE_SQL = """
SELECT DISTINCT ON (lead_id) lead_id, state FROM sequences.enrollments
WHERE sequence_id = $1 AND lead_id = ANY($2::uuid[])
ORDER BY lead_id, round DESC
"""
ENDED_AS = {
    COMPLETED: "completed",
    REPLIED: "replied",
    BOUNCED: "bounced",
    UNSUBSCRIBED: "unsubscribed",
    MEETING_BOOKED: "booked a meeting",
    FAILED: "failed",
    STOPPED: "stopped",
}


def skip_reason(last_state: str | None) -> str:
    """Why a lead was not enrolled, from its last enrollment's state: still going, or how it ended."""
    if last_state is None or last_state in IN_PROGRESS:
        return ALREADY_ENROLLED
    return f"{WENT_THROUGH} ({ENDED_AS.get(last_state, last_state)})"


async def enroll_ids(
    *,
    session: AsyncSession,
    org_id: uuid.UUID,
    sequence_id: uuid.UUID,
    lead_ids: list[uuid.UUID],
    now: dt.datetime,
    zones: dict[uuid.UUID, str] | None = None,
    reenroll: bool = False,
    reenroll_before: dt.datetime | None = None,
) -> tuple[list[uuid.UUID], list[Skipped]]:
    """Each lead enrolled at the first step, or skipped; the ids of the enrollments made.

    A lead is enrolled in a sequence once: one that has an enrollment in it, going on or ended however, is
    skipped saying which. With `reenroll`, a lead whose enrollment has ended starts again as a new
    enrollment (its own idempotency keys, so its steps are sent again); only those whose last enrollment
    was made before `reenroll_before` when given (a job run again re-enrolls nobody twice).

    The sequence's row is share-locked, so a concurrent pause or activation cannot leave an
    enrollment in the wrong state. The first step is planned now: its delay, then the window.
    """
    if len(lead_ids) > MAX_ENROLL:
        raise InvalidArgument.on("lead_ids", f"must be at most {MAX_ENROLL} per call")
    sequence = await get(session=session, org_id=org_id, sequence_id=sequence_id, lock="share")
    if sequence.state == ARCHIVED:
        raise FailedPrecondition("the sequence is archived: leads can no longer be enrolled")
    steps = sequence.live_steps
    if not steps:
        raise FailedPrecondition("the sequence has no steps: add at least one before enrolling leads")
    unique = list(dict.fromkeys(lead_ids))
    skipped = [Skipped(str(lead), LISTED_TWICE) for lead in _repeated(lead_ids)]
    if not unique:
        return [], skipped
    zones = zones or {}
    slots = [plan_step(sequence, steps[0], now, zones.get(lead_id)) for lead_id in unique]
    state = ACTIVE if sequence.state == ACTIVE else PAUSED
    params = (
        org_id,
        sequence.id,
        state,
        steps[0].id,
        [uuid.uuid4() for _ in unique],
        unique,
        [zones.get(lead_id) or None for lead_id in unique],
        [slot.send_at for slot in slots],
        [WAIT_WINDOW if slot.waited_for_window else WAIT_DELAY for slot in slots],
        reenroll,
        reenroll_before,
    )
    connection = await session.connection()
    made = {row.lead_id: row.id for row in await connection.exec_driver_sql(ENROLL_SQL, params)}
    if made:  # the org takes its turns in the scheduler's fair claim from now on
        await connection.exec_driver_sql(TURN_SQL, (org_id,))
    passed = [lead for lead in unique if lead not in made]
    if passed:
        last = {
            row.lead_id: row.state for row in await connection.exec_driver_sql(LAST_STATE_SQL, (sequence.id, passed))
        }
        skipped += [Skipped(str(lead), skip_reason(last.get(lead))) for lead in passed]
    return list(made.values()), skipped


def _repeated(values: list[uuid.UUID]) -> list[uuid.UUID]:
    seen: set[uuid.UUID] = set()
    repeated = []
    for value in values:
        if value in seen:
            repeated.append(value)
        seen.add(value)
    return repeated


def plan_step(sequence: Sequence, step: Step, base: dt.datetime, zone: str | None = None) -> schedule.Slot:
    """When `step` may go after `base`, in the lead's zone (`zone`, else the sequence's)."""
    return schedule.plan(base, step.delay_amount, step.delay_unit, window_of(sequence), zone_of(sequence, zone))


def window_of(sequence: Sequence) -> schedule.Window:
    return schedule.Window(frozenset(sequence.window_days), sequence.window_start, sequence.window_end)


def zone_of(sequence: Sequence, lead_zone: str | None = None) -> zoneinfo.ZoneInfo:
    """The zone a lead's window is read in: the lead's own (set by hand, or read from its location by the
    leads service), else the sequence's (the org's default)."""
    if lead_zone:
        try:
            return zoneinfo.ZoneInfo(lead_zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            pass  # a zone this machine's tz database lacks: the sequence's, rather than no send at all
    return schedule.zone(sequence.time_zone)


@dataclass(frozen=True)
class EnrollmentFilter:
    state: str | None = None
    lead_id: uuid.UUID | None = None


async def list_enrollments(
    *,
    session: AsyncSession,
    org_id: uuid.UUID,
    sequence_id: uuid.UUID,
    filters: EnrollmentFilter,
    size: int,
    cursor: str,
) -> tuple[Sequence, list[Enrollment], str]:
    """A page of the sequence's enrollments, oldest first, and the next page's cursor (empty at the end)."""
    if not 1 <= size <= MAX_PAGE:
        raise InvalidArgument.on("page_size", f"must be between 1 and {MAX_PAGE}")
    sequence = await get(session=session, org_id=org_id, sequence_id=sequence_id)
    query = select(Enrollment).where(*_enrollments_matching(org_id, sequence.id, filters))
    if cursor:
        after_at, after_id = _decode_cursor(cursor)
        query = query.where(func.row(Enrollment.created_at, Enrollment.id) > func.row(after_at, after_id))
    page = (await session.execute(query.order_by(Enrollment.created_at, Enrollment.id).limit(size + 1))).scalars().all()
    more = len(page) > size
    page = page[:size]
    return sequence, list(page), _encode_cursor(page[-1]) if more else ""


def _enrollments_matching(
    org_id: uuid.UUID, sequence_id: uuid.UUID, filters: EnrollmentFilter
) -> list[ColumnElement[bool]]:
    where = [Enrollment.sequence_id == sequence_id, Enrollment.org_id == org_id]
    if filters.state:
        where.append(Enrollment.state == filters.state)
    if filters.lead_id:
        where.append(Enrollment.lead_id == filters.lead_id)
    return where


async def enrollments_total(
    *,
    session: AsyncSession,
    org_id: uuid.UUID,
    sequence_id: uuid.UUID,
    filters: EnrollmentFilter,
    cap: int = totals.MAX_TOTAL,
) -> tuple[int, bool]:
    """How many enrollments `list_enrollments` lists over all its pages, counted up to `cap`, and whether there
    are more."""
    matching = select(Enrollment.id).where(*_enrollments_matching(org_id, sequence_id, filters))
    return await totals.capped_count(session, matching, cap)


def _encode_cursor(last: Sequence | Enrollment | Task) -> str:
    raw = json.dumps([last.created_at.isoformat(), str(last.id)])
    return base64.urlsafe_b64encode(raw.encode()).decode()


def _decode_cursor(cursor: str) -> tuple[dt.datetime, uuid.UUID]:
    try:
        at, last_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return dt.datetime.fromisoformat(at), uuid.UUID(last_id)
    except (ValueError, TypeError):
        raise InvalidArgument.on("cursor", "is not a cursor this list gave") from None


def _finished(now: dt.datetime, reason: str) -> dict[str, object]:
    """The columns of an enrollment that has ended (its state set beside them)."""
    return {
        "stop_reason": reason,
        "finished_at": now,
        "next_due_at": None,
        "current_step_id": None,
        "waiting_reason": None,
        "waiting_detail": "",
        "updated_at": now,
    }


def finish(enrollment: Enrollment, state: str, reason: str, now: dt.datetime) -> None:
    """Ends an enrollment (completed, stopped or failed): nothing more is sent for it."""
    enrollment.state = state
    for name, value in _finished(now, reason).items():
        setattr(enrollment, name, value)


async def stop_enrollment(
    *, session: AsyncSession, org_id: uuid.UUID, sequence_id: uuid.UUID, enrollment_id: uuid.UUID, reason: str
) -> Enrollment:
    """A user stops one enrollment; FailedPrecondition naming its state when it has already ended."""
    enrollment = (
        await session.execute(
            select(Enrollment)
            .where(
                Enrollment.id == enrollment_id,
                Enrollment.sequence_id == sequence_id,
                Enrollment.org_id == org_id,
            )
            .with_for_update()
        )
    ).scalar_one_or_none()
    if enrollment is None:
        raise NotFound(f"enrollment {enrollment_id} not found")
    if enrollment.state not in IN_PROGRESS:
        raise FailedPrecondition(f"the enrollment is {enrollment.state}: it has already ended")
    reason = reason.strip()[:500].replace("\x00", "") or "stopped by a user"
    finish(enrollment, STOPPED, reason, dt.datetime.now(dt.UTC))
    await events.enrollment_stopped(session, enrollment)
    return enrollment


# How much later than an event an enrollment may have been made and still be stopped by it: the event's
# time is the bus's clock, the enrollment's PostgreSQL's.
MAX_LEADS_ASKED = 500


async def leads_in_sequences(
    *, session: AsyncSession, org_id: uuid.UUID, lead_ids: list[uuid.UUID]
) -> list[tuple[Enrollment, str]]:
    """Of these leads, those with an enrollment still going (active or paused) in any of the org's sequences: each
    lead's earliest such enrollment and its sequence's name. A lead run leaves them out."""
    if not lead_ids:
        raise InvalidArgument.on("lead_ids", "name at least one lead")
    if len(lead_ids) > MAX_LEADS_ASKED:
        raise InvalidArgument.on("lead_ids", f"must be at most {MAX_LEADS_ASKED} per call")
    query = (
        select(Enrollment, Sequence.name)
        .join(Sequence, Sequence.id == Enrollment.sequence_id)
        .where(Enrollment.org_id == org_id, Enrollment.lead_id.in_(lead_ids), Enrollment.state.in_(IN_PROGRESS))
        .order_by(Enrollment.lead_id, Enrollment.created_at)
    )
    first: dict[uuid.UUID, tuple[Enrollment, str]] = {}
    for enrollment, name in (await session.execute(query)).all():
        first.setdefault(enrollment.lead_id, (enrollment, name))
    return list(first.values())


CLOCK_SKEW = dt.timedelta(minutes=1)


async def stop_lead(
    *,
    session: AsyncSession,
    org_id: uuid.UUID,
    lead_id: uuid.UUID,
    state: str,
    reason: str,
    cause_event_id: str = "",
    occurred_at: dt.datetime | None = None,
    channel: str = "",
) -> list[Enrollment]:
    """The lead replied, bounced, unsubscribed or booked a meeting: every enrollment of it in the org
    that is still going stops, with that state (and `channel`, the channel of the message that was answered
    or bounced, when there was one). Safe to run again for the same event (none left).

    An enrollment made after the event (`occurred_at`) is left alone: a lead who replied last week
    and was enrolled today on purpose is not stopped by last week's reply, read again by a consumer
    created today.
    """
    query = select(Enrollment).where(
        Enrollment.org_id == org_id, Enrollment.lead_id == lead_id, Enrollment.state.in_(IN_PROGRESS)
    )
    if occurred_at is not None:
        query = query.where(Enrollment.created_at <= occurred_at + CLOCK_SKEW)
    stopping = (await session.execute(query.order_by(Enrollment.id).with_for_update())).scalars().all()
    now = dt.datetime.now(dt.UTC)
    for enrollment in stopping:
        finish(enrollment, state, reason, now)
        enrollment.stop_channel = channel
        await events.enrollment_stopped(session, enrollment, cause_event_id=cause_event_id)
    return list(stopping)


async def answer_completed(
    *, session: AsyncSession, org_id: uuid.UUID, thread_id: str, state: str, reason: str, channel: str = ""
) -> list[Enrollment]:
    """A reply or a bounce in the thread of an enrollment that had already sent every step: it ends as
    that answer (replied, bounced) instead of completed, so the last step's results count it. Nothing
    more is sent either way; an enrollment that already ended otherwise keeps its state."""
    answered = (
        (
            await session.execute(
                select(Enrollment)
                .where(Enrollment.org_id == org_id, Enrollment.thread_id == thread_id, Enrollment.state == COMPLETED)
                .with_for_update()
            )
        )
        .scalars()
        .all()
    )
    for enrollment in answered:
        enrollment.state, enrollment.stop_reason, enrollment.stop_channel = state, reason[:500], channel
        await events.enrollment_stopped(session, enrollment)
    return list(answered)


async def reopen_step(
    *, session: AsyncSession, org_id: uuid.UUID, enrollment_id: uuid.UUID, step_id: uuid.UUID, now: dt.datetime
) -> bool:
    """The mail room could not send a step before its window closed: the enrollment goes back to that
    step, due when the window next opens, to send it again under the same key. Nothing happens when
    the enrollment has stopped or has moved past the step after it. True when it went back."""
    enrollment = (
        await session.execute(
            select(Enrollment).where(Enrollment.id == enrollment_id, Enrollment.org_id == org_id).with_for_update()
        )
    ).scalar_one_or_none()
    if enrollment is None:
        return False
    sent = (
        await session.execute(
            select(StepSend).where(StepSend.enrollment_id == enrollment.id, StepSend.step_id == step_id)
        )
    ).scalar_one_or_none()
    sequence = await get(session=session, org_id=org_id, sequence_id=enrollment.sequence_id)
    positions = {step.id: number for number, step in enumerate(sequence.live_steps)}
    at = positions.get(step_id)
    if sent is None or at is None or sent.outcome != QUEUED or sequence.state == ARCHIVED:
        return False
    if enrollment.state in IN_PROGRESS:
        if enrollment.current_step_id is None or positions.get(enrollment.current_step_id) != at + 1:
            return False
    elif not (enrollment.state == COMPLETED and not enrollment.stop_reason and at == len(positions) - 1):
        return False
    sent.outcome, sent.detail = WINDOW_CLOSED, "its window closed before the mail room could send it"
    slot = schedule.next_opening(now, window_of(sequence), zone_of(sequence, enrollment.time_zone))
    enrollment.state = ACTIVE if sequence.state == ACTIVE else PAUSED
    enrollment.current_step_id, enrollment.next_due_at, enrollment.finished_at = step_id, slot.send_at, None
    enrollment.waiting_reason = WAIT_WINDOW
    enrollment.waiting_detail = "its window closed before the mail room could send it: sending again when it opens"
    enrollment.steps_done = max(0, enrollment.steps_done - 1)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:  # completed, and the lead has been enrolled in the sequence again since
        return False
    return True


# --- preview -----------------------------------------------------------------------------------


def preview(
    *,
    sequence: Sequence,
    step_id: uuid.UUID | None,
    variant_id: str,
    subject_template: str,
    body_template: str,
    lead: templates.LeadFields,
) -> tuple[str, str]:
    """The subject and body as they would be sent to the lead: a saved step's (and variant's), or the
    templates given (checked as a save would check them)."""
    if step_id is None:
        for name, source in (("subject_template", subject_template), ("body_template", body_template)):
            templates.check(source, name)
        subject, body = subject_template, body_template
    else:
        step = next((s for s in sequence.live_steps if s.id == step_id), None)
        if step is None:
            raise NotFound(f"step {step_id} not found in this sequence")
        subject, body = step.subject_template, step.body_template
        if step.variants:
            variant = next((v for v in step.variants if v["id"] == variant_id), None) if variant_id else None
            if variant_id and variant is None:
                raise NotFound(f"variant {variant_id} not found in this step")
            chosen = variant or step.variants[0]
            subject, body = str(chosen["subject_template"]), str(chosen["body_template"])
    return one_line(templates.render(subject, lead)), templates.render(body, lead)


def one_line(subject: str) -> str:
    """A subject as a header carries it: its whitespace, line breaks included, collapsed to single spaces."""
    return " ".join(subject.split())


# --- tasks -------------------------------------------------------------------------------------


async def list_tasks(
    *, session: AsyncSession, org_id: uuid.UUID, state: str, sequence_id: uuid.UUID | None, size: int, cursor: str
) -> tuple[list[Task], str]:
    """A page of the tasks in `state` (of one sequence, when given), newest first, and the next page's cursor
    (empty at the end)."""
    if not 1 <= size <= MAX_PAGE:
        raise InvalidArgument.on("page_size", f"must be between 1 and {MAX_PAGE}")
    query = select(Task).where(*_tasks_matching(org_id, state, sequence_id))
    if cursor:
        before_at, before_id = _decode_cursor(cursor)
        query = query.where(func.row(Task.created_at, Task.id) < func.row(before_at, before_id))
    page = (await session.execute(query.order_by(Task.created_at.desc(), Task.id.desc()).limit(size + 1))).scalars()
    tasks = list(page)
    return tasks[:size], _encode_cursor(tasks[size - 1]) if len(tasks) > size else ""


def _tasks_matching(org_id: uuid.UUID, state: str, sequence_id: uuid.UUID | None) -> list[ColumnElement[bool]]:
    where = [Task.org_id == org_id, Task.state == state]
    if sequence_id:
        where.append(Task.sequence_id == sequence_id)
    return where


async def tasks_total(
    *, session: AsyncSession, org_id: uuid.UUID, state: str, sequence_id: uuid.UUID | None, cap: int = totals.MAX_TOTAL
) -> tuple[int, bool]:
    """How many tasks `list_tasks` lists over all its pages, counted up to `cap`, and whether there are more."""
    matching = select(Task.id).where(*_tasks_matching(org_id, state, sequence_id))
    return await totals.capped_count(session, matching, cap)


MAX_TASK_KEY = 255


async def create_task(
    *,
    session: AsyncSession,
    org_id: uuid.UUID,
    key: str,
    lead_id: uuid.UUID,
    title: str,
    notes: str = "",
    run_id: uuid.UUID | None = None,
) -> tuple[Task, bool]:
    """A call task another service's work asks for (a lead run's call-task action), listed with the sequences'
    own. The same key again is the same task, `existing` True: nothing made twice, however often or concurrently
    it is asked. (The caller announces its own progress: a run's lead settles once its task is made.)"""
    if not key.strip() or len(key) > MAX_TASK_KEY:
        raise InvalidArgument.on("idempotency_key", f"must be 1 to {MAX_TASK_KEY} characters")
    if not title.strip():
        raise InvalidArgument.on("title", "must not be empty")
    made = await session.scalar(
        insert(Task)
        .values(
            id=uuid.uuid4(),
            org_id=org_id,
            key=key,
            run_id=run_id,
            lead_id=lead_id,
            title=title[:500],
            notes=notes,
            state=OPEN,
        )  # fmt: skip
        .on_conflict_do_nothing(index_elements=["org_id", "key"])
        .returning(Task)
    )
    if made is None:
        return (await session.execute(select(Task).where(Task.org_id == org_id, Task.key == key))).scalar_one(), True
    return made, False


async def complete_task(*, session: AsyncSession, org_id: uuid.UUID, task_id: uuid.UUID) -> Task:
    """Marks a task done; completing it again changes nothing."""
    task = (
        await session.execute(select(Task).where(Task.id == task_id, Task.org_id == org_id).with_for_update())
    ).scalar_one_or_none()
    if task is None:
        raise NotFound(f"task {task_id} not found")
    if task.state == OPEN:
        task.state, task.completed_at = DONE, dt.datetime.now(dt.UTC)
    return task
