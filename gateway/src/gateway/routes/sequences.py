"""Sequences over HTTP: definitions and their lifecycle, previews, enrollments, and the call tasks steps make."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Annotated, Any, Literal, get_args

from fastapi import APIRouter, Depends, Query, Request
from pydantic import Field

from gateway.auth import Principal
from gateway.deps import principal
from gateway.routes.leads import ListQuery
from gateway.routes.schemas import (
    Body,
    CursorPage,
    Int32,
    Reply,
    Timestamps,
    documents,
    enum_word,
    total_json,
)
from leadflood.leads.v1 import leads_pb2
from leadflood.sequences.v1 import sequences_pb2 as pb

router = APIRouter()
Who = Annotated[Principal, Depends(principal)]
Id = Annotated[str, Field(max_length=100)]
Template = Annotated[str, Field(max_length=20_000)]  # the service's own limit (templates.MAX_TEMPLATE)
Weekday = Annotated[int, Field(ge=1, le=7)]  # ISO 8601: Monday is 1
# The service looks each lead up in the leads service before it enrolls any: 1,000 took 5 s on the
# development machine, the channel's whole default deadline.
ENROLL_TIMEOUT_S = 30.0
# Leads one ListLeads call names by id, at most (ListLeadsRequest.lead_ids).
LEADS_PER_CALL = 500
REENROLL = (
    "Enroll again the leads that went through this sequence before (completed, replied, stopped...): each starts "
    "over at the first step and is sent its steps again. Without it they are skipped, saying so. A lead still in "
    "the sequence is skipped either way."
)
Channel = Literal["email", "sms", "call_task"]
DelayUnit = Literal["business_days", "hours"]
EnrollmentState = Literal[
    "active", "completed", "replied", "bounced", "unsubscribed", "meeting_booked", "paused", "failed", "stopped"
]


def _enum(enum: Any, prefix: str, word: str) -> int:
    """The contract's number for a word of the API: "call_task" -> CHANNEL_CALL_TASK; "" -> unspecified."""
    return enum.Value(f"{prefix}{word.upper()}") if word else 0


class WindowBody(Body):
    days: list[Weekday] = Field(default_factory=list, max_length=7)
    start_time: str = Field(default="", max_length=5)
    end_time: str = Field(default="", max_length=5)
    time_zone: str = Field(default="", max_length=64)


class VariantBody(Body):
    id: Id = ""
    name: str = Field(default="", max_length=100)
    weight: Int32 = 0
    subject_template: Template = ""
    body_template: Template = ""


class StepBody(Body):
    id: Id = ""
    channel: Channel
    delay_amount: Int32 = 0
    delay_unit: DelayUnit = "business_days"
    subject_template: Template = ""
    body_template: Template = ""
    variants: list[VariantBody] = Field(default_factory=list, max_length=5)


class SequenceBody(Body):
    name: str = Field(max_length=200)
    window: WindowBody = Field(default_factory=WindowBody)
    mailbox_id: Id = ""
    steps: list[StepBody] = Field(default_factory=list, max_length=20)

    def definition(self) -> pb.SequenceDefinition:
        window = self.window
        return pb.SequenceDefinition(
            name=self.name,
            window=pb.SendingWindow(
                days=window.days, start_time=window.start_time, end_time=window.end_time, time_zone=window.time_zone
            ),
            mailbox_id=self.mailbox_id,
            steps=[
                pb.Step(
                    id=step.id,
                    channel=_enum(pb.Channel, "CHANNEL_", step.channel),
                    delay_amount=step.delay_amount,
                    delay_unit=_enum(pb.DelayUnit, "DELAY_UNIT_", step.delay_unit),
                    subject_template=step.subject_template,
                    body_template=step.body_template,
                    variants=[pb.StepVariant(**variant.model_dump()) for variant in step.variants],
                )
                for step in self.steps
            ],
        )


class LeadFieldsBody(Body):
    email: str = Field(default="", max_length=320)
    first_name: str = Field(default="", max_length=200)
    last_name: str = Field(default="", max_length=200)
    company_name: str = Field(default="", max_length=200)
    title: str = Field(default="", max_length=200)
    company_domain: str = Field(default="", max_length=253)
    industry: str = Field(default="", max_length=200)
    location: str = Field(default="", max_length=200)
    seniority: str = Field(default="", max_length=100)
    linkedin_url: str = Field(default="", max_length=500)


class PreviewBody(Body):
    """A saved step (stepId), or unsaved templates (a builder's live preview); for a stored lead or given fields."""

    step_id: Id = ""
    variant_id: Id = ""
    subject_template: Template = ""
    body_template: Template = ""
    lead_id: Id = ""
    lead: LeadFieldsBody | None = None


class EnrollBody(Body):
    lead_ids: list[Id] = Field(min_length=1, max_length=1000)
    reenroll: bool = Field(default=False, description=REENROLL)


class StopBody(Body):
    reason: str = Field(default="", max_length=500)


class SendingWindow(Reply):
    days: list[int] = Field(description="ISO weekdays, Monday 1")
    start_time: str = Field(description="HH:MM, in the window's time zone")
    end_time: str
    time_zone: str


class StepVariant(Reply):
    id: str
    name: str
    weight: int
    subject_template: str
    body_template: str


class SequenceStep(Reply):
    id: str
    ordinal: int
    channel: Literal["unspecified", "email", "sms", "call_task"]
    delay_amount: int
    delay_unit: Literal["unspecified", "business_days", "hours"]
    subject_template: str
    body_template: str
    variants: list[StepVariant] = Field(description="A/B variants; empty when the step has one text")


class Sequence(Reply):
    id: str
    name: str
    state: Literal["unspecified", "draft", "active", "paused", "archived"]
    window: SendingWindow
    mailbox_id: str | None
    steps: list[SequenceStep]
    created_at: datetime | None
    updated_at: datetime | None


class SequencePage(CursorPage):
    sequences: list[Sequence] = Field(description="Newest first")


def sequence_json(sequence: pb.Sequence) -> dict[str, Any]:
    window = sequence.window
    return {
        "id": sequence.id,
        "name": sequence.name,
        "state": enum_word(sequence.state, pb.SequenceState, "SEQUENCE_STATE_"),
        "window": {
            "days": list(window.days),
            "startTime": window.start_time,
            "endTime": window.end_time,
            "timeZone": window.time_zone,
        },
        "mailboxId": sequence.mailbox_id or None,
        "steps": [
            {
                "id": step.id,
                "ordinal": step.ordinal,
                "channel": enum_word(step.channel, pb.Channel, "CHANNEL_"),
                "delayAmount": step.delay_amount,
                "delayUnit": enum_word(step.delay_unit, pb.DelayUnit, "DELAY_UNIT_"),
                "subjectTemplate": step.subject_template,
                "bodyTemplate": step.body_template,
                "variants": [
                    {
                        "id": v.id,
                        "name": v.name,
                        "weight": v.weight,
                        "subjectTemplate": v.subject_template,
                        "bodyTemplate": v.body_template,
                    }
                    for v in step.variants
                ],
            }
            for step in sequence.steps
        ],
        **Timestamps.of(sequence, "created_at", "updated_at"),
    }


class LeadBrief(Reply):
    """The lead as a list names it, read from the leads service once per page."""

    name: str = Field(description="First and last name; empty when the lead has none")
    email: str | None
    phone: str | None = Field(description="E.164, for a call task's number to dial; null when the lead has none")


LEAD_FIELD = "The lead's name and email; null when the lead was deleted"


class Enrollment(Reply):
    id: str
    sequence_id: str
    lead_id: str
    lead: LeadBrief | None = Field(default=None, description=LEAD_FIELD)
    state: Literal["unspecified", EnrollmentState]
    current_step_id: str | None
    current_step: int | None = Field(description="The 1-based position of the step it waits at")
    steps_done: int
    waiting_reason: str | None = Field(description="Why it waits: `delay`, `window`, `sequence_paused`...")
    waiting_detail: str | None
    stop_reason: str | None
    next_due_at: datetime | None
    last_sent_at: datetime | None
    created_at: datetime | None
    finished_at: datetime | None


class EnrollmentPage(CursorPage):
    enrollments: list[Enrollment] = Field(description="Oldest first")


class Task(Reply):
    id: str
    sequence_id: str | None = Field(description="The sequence whose call step made it; null for a lead run's")
    enrollment_id: str | None
    step_id: str | None
    run_id: str | None = Field(description="The lead run whose call-task action made it; null for a sequence's")
    lead_id: str
    lead: LeadBrief | None = Field(default=None, description=LEAD_FIELD)
    title: str
    notes: str
    state: Literal["unspecified", "open", "done"]
    created_at: datetime | None
    completed_at: datetime | None


class TaskPage(CursorPage):
    tasks: list[Task] = Field(description="Newest first")


def _lead_json(lead: leads_pb2.Lead) -> dict[str, Any]:
    return {
        "name": " ".join(filter(None, [lead.first_name.strip(), lead.last_name.strip()])),
        "email": lead.email or None,
        "phone": lead.phone or None,
    }


async def leads_by_id(request: Request, lead_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The leads named, by id, each as a list shows it: one ListLeads call per 500 (a page of enrollments or tasks
    is one call), never one per lead. A deleted lead is not among them."""
    unique = list(dict.fromkeys(lead_id for lead_id in lead_ids if lead_id))
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(unique), LEADS_PER_CALL):
        some = unique[start : start + LEADS_PER_CALL]
        reply = await request.app.state.services.leads.ListLeads(
            leads_pb2.ListLeadsRequest(lead_ids=some, filtered=leads_pb2.FILTERED_VIEW_ALL, page_size=len(some))
        )
        found |= {lead.id: _lead_json(lead) for lead in reply.leads}
    return found


def _with_lead(item: dict[str, Any], leads: Mapping[str, dict[str, Any]] | None) -> dict[str, Any]:
    """The item with its lead (null when deleted) when the leads were read, as it was otherwise."""
    return item if leads is None else item | {"lead": leads.get(item["leadId"])}


def enrollment_json(enrollment: pb.Enrollment, leads: Mapping[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    return _with_lead(_enrollment_json(enrollment), leads)


def _enrollment_json(enrollment: pb.Enrollment) -> dict[str, Any]:
    return {
        "id": enrollment.id,
        "sequenceId": enrollment.sequence_id,
        "leadId": enrollment.lead_id,
        "state": enum_word(enrollment.state, pb.EnrollmentState, "ENROLLMENT_STATE_"),
        "currentStepId": enrollment.current_step_id or None,
        "currentStep": enrollment.current_step_ordinal or None,
        "stepsDone": enrollment.steps_done,
        "waitingReason": enum_word(enrollment.waiting_reason, pb.WaitReason, "WAIT_REASON_")
        if enrollment.waiting_reason
        else None,
        "waitingDetail": enrollment.waiting_detail or None,
        "stopReason": enrollment.stop_reason or None,
        **Timestamps.of(enrollment, "next_due_at", "last_sent_at", "created_at", "finished_at"),
    }


def task_json(task: pb.Task, leads: Mapping[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    return _with_lead(_task_json(task), leads)


def _task_json(task: pb.Task) -> dict[str, Any]:
    return {
        "id": task.id,
        "sequenceId": task.sequence_id or None,
        "enrollmentId": task.enrollment_id or None,
        "stepId": task.step_id or None,
        "runId": task.run_id or None,
        "leadId": task.lead_id,
        "title": task.title,
        "notes": task.notes,
        "state": enum_word(task.state, pb.TaskState, "TASK_STATE_"),
        **Timestamps.of(task, "created_at", "completed_at"),
    }


def _camel(word: str) -> str:
    head, *rest = word.split("_")
    return head + "".join(part.title() for part in rest)


def _counts_json(counts: pb.StepCounts) -> dict[str, int]:
    return {
        "sent": counts.sent,
        "replied": counts.replied,
        "bounced": counts.bounced,
        "unsubscribed": counts.unsubscribed,
        "meetingBooked": counts.meeting_booked,
        "skipped": counts.skipped,
        "tasks": counts.tasks,
    }


def stats_json(stats: pb.SequenceStats) -> dict[str, Any]:
    enrollments = stats.enrollments
    return {
        "sequenceId": stats.sequence_id,
        "enrollments": {
            "total": enrollments.total,
            **{_camel(state): getattr(enrollments, state) for state in get_args(EnrollmentState)},
        },
        "steps": [
            {
                "stepId": step.step_id,
                "ordinal": step.ordinal or None,
                "channel": enum_word(step.channel, pb.Channel, "CHANNEL_"),
                "removed": step.removed,
                **_counts_json(step.counts),
                "variants": [
                    {"variantId": v.variant_id, "name": v.name, "weight": v.weight, **_counts_json(v.counts)}
                    for v in step.variants
                ],
            }
            for step in stats.steps
        ],
        "beforeFirstStep": _counts_json(stats.before_first_step),
    }


def _sequences(request: Request) -> Any:
    return request.app.state.services.sequences


@router.get("/v1/sequences", **documents(SequencePage))
async def list_sequences(
    request: Request,
    who: Who,
    state: Literal["", "draft", "active", "paused", "archived"] = "",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str, Query(max_length=500)] = "",
) -> dict[str, Any]:
    """Every sequence but the archived ones, newest first, or those in `state`; the first page counts them (`total`)."""
    reply = await _sequences(request).ListSequences(
        pb.ListSequencesRequest(
            state=_enum(pb.SequenceState, "SEQUENCE_STATE_", state),
            page_size=limit,
            cursor=cursor,
            with_total=not cursor,
        )
    )
    return {
        "sequences": [sequence_json(s) for s in reply.sequences],
        "nextCursor": reply.next_cursor or None,
        **total_json(reply),
    }


@router.post("/v1/sequences", status_code=201)
async def create_sequence(body: SequenceBody, request: Request, who: Who) -> dict[str, Any]:
    reply = await _sequences(request).CreateSequence(pb.CreateSequenceRequest(sequence=body.definition()))
    return sequence_json(reply.sequence)


@router.get("/v1/sequences/{sequence_id}", **documents(Sequence))
async def get_sequence(sequence_id: str, request: Request, who: Who) -> dict[str, Any]:
    reply = await _sequences(request).GetSequence(pb.GetSequenceRequest(sequence_id=sequence_id))
    return sequence_json(reply.sequence)


@router.get("/v1/sequences/{sequence_id}/stats")
async def sequence_stats(sequence_id: str, request: Request, who: Who) -> dict[str, Any]:
    """Progress per step and per A/B variant (sent, replied, bounced, unsubscribed, skipped) beside the
    enrollments by state, counted at one moment: each stop counts once, at the last step its lead received
    (or in beforeFirstStep), so the steps' stops and beforeFirstStep's add up to the enrollments'."""
    reply = await _sequences(request).GetSequenceStats(pb.GetSequenceStatsRequest(sequence_id=sequence_id))
    return stats_json(reply.stats)


@router.put("/v1/sequences/{sequence_id}")
async def update_sequence(sequence_id: str, body: SequenceBody, request: Request, who: Who) -> dict[str, Any]:
    """The whole definition: a step sent back with its id keeps it; a step left out is removed."""
    reply = await _sequences(request).UpdateSequence(
        pb.UpdateSequenceRequest(sequence_id=sequence_id, sequence=body.definition())
    )
    return sequence_json(reply.sequence)


async def _transition(request: Request, rpc: str, sequence_id: str) -> dict[str, Any]:
    """A lifecycle move; one the sequence's state does not allow is the service's FAILED_PRECONDITION (a 409)
    naming that state."""
    request_type = getattr(pb, f"{rpc}Request")
    reply = await getattr(_sequences(request), rpc)(request_type(sequence_id=sequence_id))
    return sequence_json(reply.sequence)


@router.post("/v1/sequences/{sequence_id}/activate")
async def activate_sequence(sequence_id: str, request: Request, who: Who) -> dict[str, Any]:
    """draft -> active: its waiting enrollments start."""
    return await _transition(request, "ActivateSequence", sequence_id)


@router.post("/v1/sequences/{sequence_id}/pause")
async def pause_sequence(sequence_id: str, request: Request, who: Who) -> dict[str, Any]:
    """active -> paused: nothing more is sent once this returns."""
    return await _transition(request, "PauseSequence", sequence_id)


@router.post("/v1/sequences/{sequence_id}/resume")
async def resume_sequence(sequence_id: str, request: Request, who: Who) -> dict[str, Any]:
    """paused -> active: what is due is sent, never again what was sent."""
    return await _transition(request, "ResumeSequence", sequence_id)


@router.post("/v1/sequences/{sequence_id}/archive")
async def archive_sequence(sequence_id: str, request: Request, who: Who) -> dict[str, Any]:
    """draft, active or paused -> archived: read-only; its unfinished enrollments stop."""
    return await _transition(request, "ArchiveSequence", sequence_id)


@router.get("/v1/sequences/{sequence_id}/preview")
async def preview_step(
    sequence_id: str,
    request: Request,
    who: Who,
    lead_id: Annotated[str, Query(alias="leadId", min_length=1, max_length=100)],
    step_id: Annotated[str, Query(alias="stepId", min_length=1, max_length=100)],
    variant_id: Annotated[str, Query(alias="variantId", max_length=100)] = "",
) -> dict[str, str]:
    """A saved step rendered for a stored lead, exactly as it would be sent."""
    return await _preview(
        request, pb.PreviewStepRequest(sequence_id=sequence_id, lead_id=lead_id, step_id=step_id, variant_id=variant_id)
    )


@router.post("/v1/sequences/{sequence_id}/preview")
async def preview_templates(sequence_id: str, body: PreviewBody, request: Request, who: Who) -> dict[str, str]:
    """Unsaved templates (or a saved step) rendered for a lead, checked as a save would check them."""
    preview = pb.PreviewStepRequest(sequence_id=sequence_id, **body.model_dump(exclude={"lead"}))
    if body.lead:
        preview.lead.CopyFrom(pb.LeadFields(**body.lead.model_dump()))
    return await _preview(request, preview)


async def _preview(request: Request, preview: pb.PreviewStepRequest) -> dict[str, str]:
    reply = await _sequences(request).PreviewStep(preview)
    return {"subject": reply.subject, "body": reply.body}


@router.post("/v1/sequences/{sequence_id}/enrollments")
async def enroll(sequence_id: str, body: EnrollBody, request: Request, who: Who) -> dict[str, Any]:
    """Each lead enrolled at the first step, or skipped with its reason: already enrolled (still in the
    sequence), already went through this sequence (unless `reenroll`), listed twice, not found. Sent again,
    the same request enrolls nobody twice."""
    reply = await _sequences(request).Enroll(
        pb.EnrollRequest(sequence_id=sequence_id, lead_ids=body.lead_ids, reenroll=body.reenroll),
        timeout=ENROLL_TIMEOUT_S,
    )
    return {
        "enrolled": [enrollment_json(e) for e in reply.enrolled],
        "skipped": [{"leadId": s.lead_id, "reason": s.reason} for s in reply.skipped],
    }


@router.post("/v1/sequences/{sequence_id}/enrollments/matching", status_code=202)
async def enroll_matching(
    sequence_id: str,
    request: Request,
    who: Who,
    query: Annotated[ListQuery, Depends()],
    reenroll: Annotated[bool, Query(description=REENROLL)] = False,
) -> dict[str, Any]:
    """Every lead the lead list's filter matches (the same query parameters as GET /v1/leads), enrolled in
    the background: poll GET /v1/jobs/{jobId} for its progress ({seen, enrolled, skipped}). Leads already in
    the sequence, or that went through it (unless `reenroll`), are skipped."""
    reply = await _sequences(request).EnrollByFilter(
        pb.EnrollByFilterRequest(sequence_id=sequence_id, filter=query.request, reenroll=reenroll)
    )
    return {"jobId": reply.job_id}


@router.get("/v1/sequences/{sequence_id}/enrollments", **documents(EnrollmentPage))
async def list_enrollments(
    sequence_id: str,
    request: Request,
    who: Who,
    state: Literal["", EnrollmentState] = "",
    lead_id: Annotated[str, Query(alias="leadId", max_length=100)] = "",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str, Query(max_length=500)] = "",
) -> dict[str, Any]:
    """Oldest first: each with its lead's name and email, state, current step, next due time and why it waits;
    the first page counts those matching (`total`)."""
    reply = await _sequences(request).ListEnrollments(
        pb.ListEnrollmentsRequest(
            sequence_id=sequence_id,
            state=_enum(pb.EnrollmentState, "ENROLLMENT_STATE_", state),
            lead_id=lead_id,
            page_size=limit,
            cursor=cursor,
            with_total=not cursor,
        )
    )
    leads = await leads_by_id(request, (e.lead_id for e in reply.enrollments))
    enrollments = [enrollment_json(e, leads) for e in reply.enrollments]
    return {"enrollments": enrollments, "nextCursor": reply.next_cursor or None, **total_json(reply)}


@router.post("/v1/sequences/{sequence_id}/enrollments/{enrollment_id}/stop")
async def stop_enrollment(
    sequence_id: str, enrollment_id: str, request: Request, who: Who, body: StopBody | None = None
) -> dict[str, Any]:
    """A user ends one lead's enrollment; one that has already ended is a 409 naming its state."""
    reply = await _sequences(request).StopEnrollment(
        pb.StopEnrollmentRequest(
            sequence_id=sequence_id, enrollment_id=enrollment_id, reason=body.reason if body else ""
        )
    )
    return enrollment_json(reply.enrollment, await leads_by_id(request, [reply.enrollment.lead_id]))


@router.get("/v1/tasks", **documents(TaskPage))
async def list_tasks(
    request: Request,
    who: Who,
    state: Literal["open", "done"] = "open",
    sequence_id: Annotated[str, Query(alias="sequenceId", max_length=100)] = "",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str, Query(max_length=500)] = "",
) -> dict[str, Any]:
    """Every call task to make, newest first: those sequences' call steps made (`sequenceId`) and lead runs'
    call-task actions (`runId`), each with its lead's name and email; the first page counts those matching
    (`total`). `sequenceId` keeps one sequence's."""
    reply = await _sequences(request).ListTasks(
        pb.ListTasksRequest(
            state=_enum(pb.TaskState, "TASK_STATE_", state),
            sequence_id=sequence_id,
            page_size=limit,
            cursor=cursor,
            with_total=not cursor,
        )
    )
    leads = await leads_by_id(request, (t.lead_id for t in reply.tasks))
    tasks = [task_json(t, leads) for t in reply.tasks]
    return {"tasks": tasks, "nextCursor": reply.next_cursor or None, **total_json(reply)}


@router.post("/v1/tasks/{task_id}/complete")
async def complete_task(task_id: str, request: Request, who: Who) -> dict[str, Any]:
    """Done; completing it again changes nothing."""
    reply = await _sequences(request).CompleteTask(pb.CompleteTaskRequest(task_id=task_id))
    return task_json(reply.task, await leads_by_id(request, [reply.task.lead_id]))
