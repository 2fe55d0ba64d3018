"""SequencesService over a real in-process gRPC server with the platform's interceptor: what a caller (the
gateway) sends and gets back, the codes of refusals, and the leads service read with the caller's org."""

from __future__ import annotations

import asyncio
import uuid
from types import SimpleNamespace

import grpc
import pytest
from grpc_status import rpc_status

from leadflood.leads.v1 import leads_pb2, leads_pb2_grpc
from leadflood.sequences.v1 import sequences_pb2 as pb
from leadflood_platform import context, grpc_client
from leadflood_platform.errors import field_violations
from leadflood_platform.interceptors import Identities
from sequences.lead_directory import LeadsService
from tests import internal_identity

EMAIL_STEP = pb.Step(
    channel=pb.CHANNEL_EMAIL,
    subject_template="Quick question, {{ lead.firstName | default('there') }}",
    body_template="Hi {{ lead.firstName | default('there') }}, how is {{ lead.companyName }}?",
)


async def _refused(call) -> grpc.aio.AioRpcError:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return caught.value


def _definition(*steps: pb.Step, **fields: object) -> pb.SequenceDefinition:
    return pb.SequenceDefinition(name="Q1 outreach", steps=list(steps or [EMAIL_STEP]), **fields)  # type: ignore[arg-type]


async def test_a_bad_template_is_invalid_argument_naming_the_step_and_field(api: SimpleNamespace) -> None:
    bad = pb.Step(channel=pb.CHANNEL_EMAIL, subject_template="Hi", body_template="Hi {{ lead.fristName }}")
    error = await _refused(api.stub.CreateSequence(pb.CreateSequenceRequest(sequence=_definition(EMAIL_STEP, bad))))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in field_violations(rpc_status.from_call(error))] == ["steps[1].body_template"]
    assert "unknown variable lead.fristName" in (error.details() or "")


async def test_a_sequence_from_draft_to_enrollments(api: SimpleNamespace) -> None:
    created = (await api.stub.CreateSequence(pb.CreateSequenceRequest(sequence=_definition()))).sequence
    assert created.state == pb.SEQUENCE_STATE_DRAFT
    assert (list(created.window.days), created.window.start_time, created.window.end_time) == (
        [1, 2, 3, 4, 5], "09:00", "17:00"
    )  # fmt: skip
    assert created.window.time_zone == "UTC"
    [step] = created.steps
    assert (step.ordinal, step.delay_unit) == (1, pb.DELAY_UNIT_BUSINESS_DAYS) and uuid.UUID(step.id)

    activated = await api.stub.ActivateSequence(pb.ActivateSequenceRequest(sequence_id=created.id))
    assert activated.sequence.state == pb.SEQUENCE_STATE_ACTIVE
    error = await _refused(api.stub.ActivateSequence(pb.ActivateSequenceRequest(sequence_id=created.id)))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert (error.details() or "").startswith("the sequence is active")

    ada = api.leads.add(email="ada@acme.example", first_name="Ada", company_name="Acme")
    unknown = str(uuid.uuid4())
    reply = await api.stub.Enroll(
        pb.EnrollRequest(sequence_id=created.id, lead_ids=[str(ada), unknown, "not-an-id", str(ada)])
    )
    assert [e.lead_id for e in reply.enrolled] == [str(ada)]
    assert {(s.lead_id, s.reason) for s in reply.skipped} == {
        (unknown, "lead not found"), ("not-an-id", "not a lead id"), (str(ada), "listed more than once")
    }  # fmt: skip
    again = await api.stub.Enroll(pb.EnrollRequest(sequence_id=created.id, lead_ids=[str(ada)]))
    assert [s.reason for s in again.skipped] == ["already enrolled in this sequence"]
    assert set(api.leads.orgs_asked) == {api.org}  # the leads service is asked in the caller's org

    [enrollment] = (await api.stub.ListEnrollments(pb.ListEnrollmentsRequest(sequence_id=created.id))).enrollments
    assert (enrollment.state, enrollment.current_step_id, enrollment.current_step_ordinal) == (
        pb.ENROLLMENT_STATE_ACTIVE, step.id, 1
    )  # fmt: skip
    assert enrollment.waiting_reason in (pb.WAIT_REASON_DELAY, pb.WAIT_REASON_WINDOW)
    assert enrollment.next_due_at.seconds > 0

    paused = await api.stub.PauseSequence(pb.PauseSequenceRequest(sequence_id=created.id))
    assert paused.sequence.state == pb.SEQUENCE_STATE_PAUSED
    [held] = (await api.stub.ListEnrollments(pb.ListEnrollmentsRequest(sequence_id=created.id))).enrollments
    assert (held.state, held.waiting_reason) == (pb.ENROLLMENT_STATE_PAUSED, pb.WAIT_REASON_SEQUENCE_PAUSED)

    stopped = await api.stub.StopEnrollment(
        pb.StopEnrollmentRequest(sequence_id=created.id, enrollment_id=held.id, reason="wrong person")
    )
    assert (stopped.enrollment.state, stopped.enrollment.stop_reason) == (pb.ENROLLMENT_STATE_STOPPED, "wrong person")
    error = await _refused(
        api.stub.StopEnrollment(pb.StopEnrollmentRequest(sequence_id=created.id, enrollment_id=held.id))
    )
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION

    # Stopped, the lead has been through the sequence: pressing Enroll again skips it; `reenroll` starts it over.
    again = await api.stub.Enroll(pb.EnrollRequest(sequence_id=created.id, lead_ids=[str(ada)]))
    assert [(s.lead_id, s.reason) for s in again.skipped] == [
        (str(ada), "already went through this sequence (stopped)")
    ] and not again.enrolled
    restarted = await api.stub.Enroll(pb.EnrollRequest(sequence_id=created.id, lead_ids=[str(ada)], reenroll=True))
    assert [e.lead_id for e in restarted.enrolled] == [str(ada)] and not restarted.skipped
    assert restarted.enrolled[0].id != held.id


async def test_enroll_calls_at_once_for_the_same_lead_make_one_enrollment(api: SimpleNamespace) -> None:
    created = (await api.stub.CreateSequence(pb.CreateSequenceRequest(sequence=_definition()))).sequence
    await api.stub.ActivateSequence(pb.ActivateSequenceRequest(sequence_id=created.id))
    lead = str(api.leads.add(email="grace@acme.example", first_name="Grace"))
    ask = pb.EnrollRequest(sequence_id=created.id, lead_ids=[lead])
    replies = await asyncio.gather(*(api.stub.Enroll(ask) for _ in range(5)))
    assert sum(len(reply.enrolled) for reply in replies) == 1
    assert sorted(s.reason for reply in replies for s in reply.skipped) == ["already enrolled in this sequence"] * 4
    listed = await api.stub.ListEnrollments(pb.ListEnrollmentsRequest(sequence_id=created.id, with_total=True))
    assert listed.total == 1


async def test_preview_renders_for_a_stored_lead_given_fields_or_unsaved_templates(api: SimpleNamespace) -> None:
    created = (await api.stub.CreateSequence(pb.CreateSequenceRequest(sequence=_definition()))).sequence
    step_id = created.steps[0].id
    ada = api.leads.add(email="ada@acme.example", first_name="Ada", company_name="Acme")
    stored = await api.stub.PreviewStep(
        pb.PreviewStepRequest(sequence_id=created.id, step_id=step_id, lead_id=str(ada))
    )
    assert (stored.subject, stored.body) == ("Quick question, Ada", "Hi Ada, how is Acme?")
    given = await api.stub.PreviewStep(
        pb.PreviewStepRequest(sequence_id=created.id, step_id=step_id, lead=pb.LeadFields(company_name="Blix"))
    )
    assert (given.subject, given.body) == ("Quick question, there", "Hi there, how is Blix?")
    unsaved = await api.stub.PreviewStep(
        pb.PreviewStepRequest(
            sequence_id=created.id, subject_template="{{ lead.title | upper }}\nsecond line", lead_id=str(ada)
        )
    )
    assert unsaved.subject == "second line"  # one line, as a subject header carries it
    error = await _refused(
        api.stub.PreviewStep(pb.PreviewStepRequest(sequence_id=created.id, body_template="{{ lead.oops }}"))
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    error = await _refused(
        api.stub.PreviewStep(pb.PreviewStepRequest(sequence_id=created.id, step_id=step_id, lead_id=str(uuid.uuid4())))
    )
    assert error.code() == grpc.StatusCode.NOT_FOUND
    api.leads.down = True
    error = await _refused(
        api.stub.PreviewStep(pb.PreviewStepRequest(sequence_id=created.id, step_id=step_id, lead_id=str(ada)))
    )
    assert error.code() == grpc.StatusCode.UNAVAILABLE


async def test_an_update_keeps_the_steps_it_names(api: SimpleNamespace) -> None:
    created = (await api.stub.CreateSequence(pb.CreateSequenceRequest(sequence=_definition()))).sequence
    kept = pb.Step()
    kept.CopyFrom(created.steps[0])
    kept.delay_amount, kept.delay_unit = 3, pb.DELAY_UNIT_HOURS
    added = pb.Step(channel=pb.CHANNEL_CALL_TASK, subject_template="Call {{ lead.fullName }}", delay_amount=1)
    window = pb.SendingWindow(days=[pb.WEEKDAY_MONDAY], start_time="08:30", end_time="12:00", time_zone="Europe/Berlin")
    updated = (
        await api.stub.UpdateSequence(
            pb.UpdateSequenceRequest(sequence_id=created.id, sequence=_definition(added, kept, window=window))
        )
    ).sequence
    assert [(s.id == kept.id, s.ordinal, s.channel) for s in updated.steps] == [
        (False, 1, pb.CHANNEL_CALL_TASK), (True, 2, pb.CHANNEL_EMAIL)
    ]  # fmt: skip
    assert (updated.steps[1].delay_amount, updated.steps[1].delay_unit) == (3, pb.DELAY_UNIT_HOURS)
    assert updated.window == window
    fetched = await api.stub.GetSequence(pb.GetSequenceRequest(sequence_id=created.id))
    assert fetched.sequence == updated


async def test_another_orgs_sequence_and_unknown_ids_are_not_found(api: SimpleNamespace) -> None:
    created = (await api.stub.CreateSequence(pb.CreateSequenceRequest(sequence=_definition()))).sequence
    listed = await api.stub.ListSequences(pb.ListSequencesRequest())
    assert [s.id for s in listed.sequences] == [created.id]
    with context.bound(org_id=str(uuid.uuid4())):
        error = await _refused(api.stub.GetSequence(pb.GetSequenceRequest(sequence_id=created.id)))
        assert error.code() == grpc.StatusCode.NOT_FOUND
        assert (await api.stub.ListSequences(pb.ListSequencesRequest())).sequences == []
    for call in (
        api.stub.GetSequence(pb.GetSequenceRequest(sequence_id="nope")),
        api.stub.CompleteTask(pb.CompleteTaskRequest(task_id=str(uuid.uuid4()))),
    ):
        assert (await _refused(call)).code() == grpc.StatusCode.NOT_FOUND
    assert (await api.stub.ListTasks(pb.ListTasksRequest())).tasks == []


async def test_a_lead_runs_call_task_is_made_once_and_listed_with_the_sequences_own(api: SimpleNamespace) -> None:
    """Another service's work (a lead run's call-task action) makes its call task here: one per key, listed with
    the sequences' tasks and completed the same way; a lead not in the org is refused."""
    lead, run = str(api.leads.add(email="ada@acme.example", first_name="Ada")), str(uuid.uuid4())
    ask = pb.CreateTaskRequest(
        idempotency_key=f"runs:{run}:{lead}:call_task", lead_id=lead, title="Call Ada at Acme (+14155550123)",
        run_id=run,
    )  # fmt: skip
    replies = await asyncio.gather(*(api.stub.CreateTask(ask) for _ in range(3)))  # a redone lead, say
    assert len({reply.task.id for reply in replies}) == 1
    assert sorted(reply.existing for reply in replies) == [False, True, True]
    made = replies[0].task
    assert (made.run_id, made.lead_id, made.sequence_id, made.enrollment_id, made.step_id) == (run, lead, "", "", "")
    assert made.state == pb.TASK_STATE_OPEN

    listed = await api.stub.ListTasks(pb.ListTasksRequest(with_total=True))
    assert ([t.id for t in listed.tasks], listed.total) == ([made.id], 1)
    done = await api.stub.CompleteTask(pb.CompleteTaskRequest(task_id=made.id))
    assert done.task.state == pb.TASK_STATE_DONE and done.task.run_id == run
    assert (await api.stub.ListTasks(pb.ListTasksRequest())).tasks == []

    unknown = ask.__class__(idempotency_key="runs:x", lead_id=str(uuid.uuid4()), title="Call", run_id=run)
    assert (await _refused(api.stub.CreateTask(unknown))).code() == grpc.StatusCode.NOT_FOUND
    keyless = ask.__class__(lead_id=lead, title="Call")
    error = await _refused(api.stub.CreateTask(keyless))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in field_violations(rpc_status.from_call(error))] == ["idempotency_key"]


class LeadsStandIn(leads_pb2_grpc.LeadsServiceServicer):
    """GetLead only, answering for one org: what the real leads service does with the org of the call's token."""

    def __init__(self, org: str, lead: leads_pb2.Lead) -> None:
        self.org, self.lead = org, lead

    async def GetLead(self, request, ctx):  # type: ignore[no-untyped-def]
        if context.org_id.get() != self.org or request.lead_id != self.lead.id:
            await ctx.abort(grpc.StatusCode.NOT_FOUND, "lead not found")
        return leads_pb2.GetLeadResponse(lead=self.lead)


async def test_leads_are_read_from_the_leads_service_in_the_callers_org() -> None:
    org, lead_id = str(uuid.uuid4()), uuid.uuid4()
    lead = leads_pb2.Lead(id=str(lead_id), email="ada@acme.example", first_name="Ada", company_domain="acme.example")
    server = grpc.aio.server(interceptors=[Identities("leads", internal_identity.verifier())])
    leads_pb2_grpc.add_LeadsServiceServicer_to_server(LeadsStandIn(org, lead), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    channel = grpc_client.channel(f"127.0.0.1:{port}", timeout_s=5)
    try:
        directory = LeadsService(channel, timeout_s=5)
        with context.bound(org_id=org):
            found = await directory.get(lead_id)
            assert found is not None and (found.first_name, found.company_domain) == ("Ada", "acme.example")
            assert await directory.get(uuid.uuid4()) is None
        with context.bound(org_id=str(uuid.uuid4())):
            assert await directory.get(lead_id) is None  # another org's lead is not there
    finally:
        await channel.close()
        await server.stop(None)
