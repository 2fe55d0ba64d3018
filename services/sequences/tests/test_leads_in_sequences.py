"""ListLeadsInSequences: which of the leads a lead run is about to work are in one of the org's sequences now
(active or paused), in any sequence, never another org's; a finished enrollment does not count."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

import grpc
import pytest

from leadflood.sequences.v1 import sequences_pb2 as pb
from leadflood_platform import context

STEP = pb.Step(channel=pb.CHANNEL_EMAIL, subject_template="Hi", body_template="Hi {{ lead.firstName }}")


async def _sequence(api: SimpleNamespace, name: str, *lead_ids: uuid.UUID) -> pb.Sequence:
    sequence = (
        await api.stub.CreateSequence(pb.CreateSequenceRequest(sequence=pb.SequenceDefinition(name=name, steps=[STEP])))
    ).sequence
    await api.stub.ActivateSequence(pb.ActivateSequenceRequest(sequence_id=sequence.id))
    await api.stub.Enroll(pb.EnrollRequest(sequence_id=sequence.id, lead_ids=[str(lead) for lead in lead_ids]))
    return sequence


async def test_leads_in_any_sequence_are_named_with_it_and_finished_ones_are_not(api: SimpleNamespace) -> None:
    ada, bob, cy, dee = (api.leads.add(email=f"{n}@acme.example", first_name=n) for n in ("ada", "bob", "cy", "dee"))
    with context.bound(org_id=str(uuid.uuid4())):
        spring = await _sequence(api, "Spring", ada)
        autumn = await _sequence(api, "Autumn", bob, cy)
        await api.stub.PauseSequence(pb.PauseSequenceRequest(sequence_id=autumn.id))  # paused: still in it
        [cy_enrollment] = [
            e
            for e in (await api.stub.ListEnrollments(pb.ListEnrollmentsRequest(sequence_id=autumn.id))).enrollments
            if e.lead_id == str(cy)
        ]
        await api.stub.StopEnrollment(pb.StopEnrollmentRequest(sequence_id=autumn.id, enrollment_id=cy_enrollment.id))
        asked = pb.ListLeadsInSequencesRequest(lead_ids=[str(lead) for lead in (ada, bob, cy, dee)])
        found = {lead.lead_id: lead for lead in (await api.stub.ListLeadsInSequences(asked)).leads}
        assert {lead: (f.sequence_id, f.sequence_name, f.state) for lead, f in found.items()} == {
            str(ada): (spring.id, "Spring", pb.ENROLLMENT_STATE_ACTIVE),
            str(bob): (autumn.id, "Autumn", pb.ENROLLMENT_STATE_PAUSED),
        }
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await api.stub.ListLeadsInSequences(pb.ListLeadsInSequencesRequest(lead_ids=["nope"]))
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        too_many = [str(uuid.uuid4()) for _ in range(501)]
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await api.stub.ListLeadsInSequences(pb.ListLeadsInSequencesRequest(lead_ids=too_many))
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with context.bound(org_id=str(uuid.uuid4())):  # another org sees none of them
        assert not (await api.stub.ListLeadsInSequences(asked)).leads
