"""leadflood.sequences.v1.SequencesService: proto in, domain call, proto out."""

from __future__ import annotations

import uuid

import grpc
from sqlalchemy import func, select

from leadflood.sequences.v1 import jobs_pb2 as sequences_jobs
from leadflood.sequences.v1 import sequences_pb2 as pb
from leadflood.sequences.v1 import sequences_pb2_grpc
from leadflood_platform import context, jobs, templates
from leadflood_platform.convert import parse_id
from leadflood_platform.db import Database
from leadflood_platform.errors import FailedPrecondition, InvalidArgument, NotFound, Unavailable
from sequences import convert, service, stats
from sequences.lead_directory import LeadDirectory
from sequences.models import ARCHIVED, OPEN, platform_tables
from sequences.workers import EnrollByFilter

LEAD_NOT_FOUND, NOT_A_LEAD_ID = "lead not found", "not a lead id"


class SequencesServicer(sequences_pb2_grpc.SequencesServiceServicer):
    def __init__(self, db: Database, leads: LeadDirectory) -> None:
        self.db, self.leads = db, leads

    async def CreateSequence(self, request, ctx):  # type: ignore[no-untyped-def]
        async with self.db.transaction() as session:
            sequence = await service.create(
                session=session,
                org_id=context.require_org(),
                definition=convert.definition_from_proto(request.sequence),
            )
            return pb.CreateSequenceResponse(sequence=convert.sequence_to_proto(sequence))

    async def GetSequence(self, request, ctx):  # type: ignore[no-untyped-def]
        async with self.db.transaction() as session:
            sequence = await service.get(
                session=session, org_id=context.require_org(), sequence_id=parse_id(request.sequence_id, "sequence")
            )
            return pb.GetSequenceResponse(sequence=convert.sequence_to_proto(sequence))

    async def ListSequences(self, request, ctx):  # type: ignore[no-untyped-def]
        org_id, state = context.require_org(), convert.SEQUENCE_STATE_NAME.get(request.state)
        async with self.db.snapshot() as session:
            sequences, cursor = await service.list_page(
                session=session, org_id=org_id, state=state, size=request.page_size or 50, cursor=request.cursor
            )
            reply = pb.ListSequencesResponse(
                sequences=[convert.sequence_to_proto(s) for s in sequences], next_cursor=cursor
            )
            # Counted on the first page only: "Load more" keeps the total it was shown.
            if request.with_total and not request.cursor:
                reply.total, reply.total_capped = await service.sequences_total(
                    session=session, org_id=org_id, state=state
                )
            return reply

    async def UpdateSequence(self, request, ctx):  # type: ignore[no-untyped-def]
        async with self.db.transaction() as session:
            sequence = await service.update(
                session=session,
                org_id=context.require_org(),
                sequence_id=parse_id(request.sequence_id, "sequence"),
                definition=convert.definition_from_proto(request.sequence),
            )
            return pb.UpdateSequenceResponse(sequence=convert.sequence_to_proto(sequence))

    async def _transition(self, request, action: str) -> pb.Sequence:  # type: ignore[no-untyped-def]
        async with self.db.transaction() as session:
            sequence = await service.transition(
                session=session,
                org_id=context.require_org(),
                sequence_id=parse_id(request.sequence_id, "sequence"),
                action=action,
            )
            return convert.sequence_to_proto(sequence)

    async def ActivateSequence(self, request, ctx):  # type: ignore[no-untyped-def]
        return pb.ActivateSequenceResponse(sequence=await self._transition(request, "activate"))

    async def PauseSequence(self, request, ctx):  # type: ignore[no-untyped-def]
        return pb.PauseSequenceResponse(sequence=await self._transition(request, "pause"))

    async def ResumeSequence(self, request, ctx):  # type: ignore[no-untyped-def]
        return pb.ResumeSequenceResponse(sequence=await self._transition(request, "resume"))

    async def ArchiveSequence(self, request, ctx):  # type: ignore[no-untyped-def]
        return pb.ArchiveSequenceResponse(sequence=await self._transition(request, "archive"))

    async def PreviewStep(self, request, ctx):  # type: ignore[no-untyped-def]
        org_id, sequence_id = context.require_org(), parse_id(request.sequence_id, "sequence")
        step_id = parse_id(request.step_id, "step") if request.step_id else None
        if step_id is None and not (request.subject_template or request.body_template):
            raise InvalidArgument.on("step_id", "name a saved step, or give the templates to preview")
        async with self.db.transaction() as session:
            sequence = await service.get(session=session, org_id=org_id, sequence_id=sequence_id)
        if request.lead_id:
            lead = await self._lead(parse_id(request.lead_id, "lead"))
        else:
            lead = convert.lead_fields_from_proto(request.lead)
        subject, body = service.preview(
            sequence=sequence,
            step_id=step_id,
            variant_id=request.variant_id,
            subject_template=request.subject_template,
            body_template=request.body_template,
            lead=lead,
        )
        return pb.PreviewStepResponse(subject=subject, body=body)

    async def Enroll(self, request, ctx):  # type: ignore[no-untyped-def]
        org_id, sequence_id = context.require_org(), parse_id(request.sequence_id, "sequence")
        if len(request.lead_ids) > service.MAX_ENROLL:
            raise InvalidArgument.on("lead_ids", f"must be at most {service.MAX_ENROLL} per call")
        async with self.db.transaction() as session:  # a sequence that is not there needs no lead looked up
            await service.get(session=session, org_id=org_id, sequence_id=sequence_id)
        ids, skipped = [], []
        for raw in request.lead_ids:
            try:
                ids.append(uuid.UUID(raw))
            except ValueError:
                skipped.append(pb.SkippedLead(lead_id=raw[:100], reason=NOT_A_LEAD_ID))
        found = await self._existing(list(dict.fromkeys(ids)))
        unknown = [lead for lead in dict.fromkeys(ids) if lead not in found]
        skipped += [pb.SkippedLead(lead_id=str(lead), reason=LEAD_NOT_FOUND) for lead in unknown]
        async with self.db.transaction() as session:
            enrolled, more = await service.enroll(
                session=session,
                org_id=org_id,
                sequence_id=sequence_id,
                lead_ids=[lead for lead in ids if lead in found],
                now=service.utcnow(),
                zones=found,
                reenroll=request.reenroll,
            )
            first = {enrollment.current_step_id: 1 for enrollment in enrolled if enrollment.current_step_id}
            return pb.EnrollResponse(
                enrolled=[convert.enrollment_to_proto(enrollment, first) for enrollment in enrolled],
                skipped=skipped + [pb.SkippedLead(lead_id=s.lead_id, reason=s.reason) for s in more],
            )

    async def EnrollByFilter(self, request, ctx):  # type: ignore[no-untyped-def]
        org_id, sequence_id = context.require_org(), parse_id(request.sequence_id, "sequence")
        async with self.db.transaction() as session:
            sequence = await service.get(session=session, org_id=org_id, sequence_id=sequence_id)
            if sequence.state == ARCHIVED:
                raise FailedPrecondition("the sequence is archived: leads can no longer be enrolled")
            job = sequences_jobs.EnrollByFilterJob(
                org_id=str(org_id), sequence_id=str(sequence_id), reenroll=request.reenroll
            )
            job.filter.CopyFrom(request.filter)
            if request.reenroll:  # the database's clock, the one enrollments are stamped with
                job.requested_at.FromDatetime(await session.scalar(select(func.now())))
            job_id = await jobs.enqueue(session, platform_tables, EnrollByFilter, job, org_id=org_id, max_attempts=3)
        return pb.EnrollByFilterResponse(job_id=jobs.public_id(platform_tables.schema, job_id))

    async def ListEnrollments(self, request, ctx):  # type: ignore[no-untyped-def]
        lead_id = None
        if request.lead_id:
            try:
                lead_id = uuid.UUID(request.lead_id)
            except ValueError:
                raise InvalidArgument.on("lead_id", "is not a lead id") from None
        org_id = context.require_org()
        filters = service.EnrollmentFilter(state=convert.ENROLLMENT_STATE_NAME.get(request.state), lead_id=lead_id)
        async with self.db.snapshot() as session:
            sequence, enrollments, cursor = await service.list_enrollments(
                session=session,
                org_id=org_id,
                sequence_id=parse_id(request.sequence_id, "sequence"),
                filters=filters,
                size=request.page_size or 50,
                cursor=request.cursor,
            )
            ordinals = convert.ordinals(sequence)
            reply = pb.ListEnrollmentsResponse(
                enrollments=[convert.enrollment_to_proto(e, ordinals) for e in enrollments], next_cursor=cursor
            )
            # Counted on the first page only: "Load more" keeps the total it was shown.
            if request.with_total and not request.cursor:
                reply.total, reply.total_capped = await service.enrollments_total(
                    session=session, org_id=org_id, sequence_id=sequence.id, filters=filters
                )
            return reply

    async def ListLeadsInSequences(self, request, ctx):  # type: ignore[no-untyped-def]
        try:
            lead_ids = [uuid.UUID(lead_id) for lead_id in request.lead_ids]
        except ValueError:
            raise InvalidArgument.on("lead_ids", "holds something that is not a lead id") from None
        async with self.db.transaction() as session:
            found = await service.leads_in_sequences(session=session, org_id=context.require_org(), lead_ids=lead_ids)
        return pb.ListLeadsInSequencesResponse(
            leads=[
                pb.LeadInSequence(
                    lead_id=str(enrollment.lead_id),
                    sequence_id=str(enrollment.sequence_id),
                    sequence_name=name,
                    state=convert.ENROLLMENT_STATE[enrollment.state],
                )  # fmt: skip
                for enrollment, name in found
            ]
        )

    async def StopEnrollment(self, request, ctx):  # type: ignore[no-untyped-def]
        async with self.db.transaction() as session:
            org_id, sequence_id = context.require_org(), parse_id(request.sequence_id, "sequence")
            enrollment = await service.stop_enrollment(
                session=session,
                org_id=org_id,
                sequence_id=sequence_id,
                enrollment_id=parse_id(request.enrollment_id, "enrollment"),
                reason=request.reason,
            )
            return pb.StopEnrollmentResponse(enrollment=convert.enrollment_to_proto(enrollment, {}))

    async def ListTasks(self, request, ctx):  # type: ignore[no-untyped-def]
        matching = {
            "org_id": context.require_org(),
            "state": convert.TASK_STATE_NAME.get(request.state, OPEN),
            "sequence_id": parse_id(request.sequence_id, "sequence") if request.sequence_id else None,
        }
        async with self.db.snapshot() as session:
            tasks, cursor = await service.list_tasks(
                session=session, **matching, size=request.page_size or 50, cursor=request.cursor
            )
            reply = pb.ListTasksResponse(tasks=[convert.task_to_proto(task) for task in tasks], next_cursor=cursor)
            # Counted on the first page only: "Load more" keeps the total it was shown.
            if request.with_total and not request.cursor:
                reply.total, reply.total_capped = await service.tasks_total(session=session, **matching)
            return reply

    async def CreateTask(self, request, ctx):  # type: ignore[no-untyped-def]
        org_id, lead_id = context.require_org(), parse_id(request.lead_id, "lead")
        # The lead must be the org's (read before the transaction): a task names a lead the user can open.
        await self._lead(lead_id)
        async with self.db.transaction() as session:
            task, existing = await service.create_task(
                session=session, org_id=org_id, key=request.idempotency_key, lead_id=lead_id, title=request.title,
                notes=request.notes, run_id=parse_id(request.run_id, "lead run") if request.run_id else None,
            )  # fmt: skip
            return pb.CreateTaskResponse(task=convert.task_to_proto(task), existing=existing)

    async def CompleteTask(self, request, ctx):  # type: ignore[no-untyped-def]
        async with self.db.transaction() as session:
            task = await service.complete_task(
                session=session, org_id=context.require_org(), task_id=parse_id(request.task_id, "task")
            )
            return pb.CompleteTaskResponse(task=convert.task_to_proto(task))

    async def GetSequenceStats(self, request, ctx):  # type: ignore[no-untyped-def]
        async with self.db.transaction() as session:
            sequence = await service.get(
                session=session, org_id=context.require_org(), sequence_id=parse_id(request.sequence_id, "sequence")
            )
            counted = await stats.of_sequence(session=session, sequence=sequence)
            return pb.GetSequenceStatsResponse(stats=convert.stats_to_proto(counted))

    async def _lead(self, lead_id: uuid.UUID) -> templates.LeadFields:
        try:
            lead = await self.leads.get(lead_id)
        except grpc.aio.AioRpcError as error:
            raise Unavailable(f"the leads service could not be reached ({error.code().name}); try again") from None
        if lead is None:
            raise NotFound(f"lead {lead_id} not found")
        return lead

    async def _existing(self, lead_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
        """The leads of these that exist in the org, each with its time zone ("" for none), asked of the
        leads service in one call per 500 (LeadDirectory.get_many)."""
        try:
            found = await self.leads.get_many(lead_ids)
        except grpc.aio.AioRpcError as error:
            raise Unavailable(
                f"the leads service could not be reached ({error.code().name}): nothing was enrolled; try again"
            ) from None
        return {lead_id: found[lead_id].time_zone for lead_id in lead_ids if lead_id in found}
