"""leadflood.leads.v1.LeadsService: proto in, domain call, proto out."""

from __future__ import annotations

from leadflood.leads.v1 import leads_pb2, leads_pb2_grpc
from leadflood_platform import context
from leadflood_platform.convert import parse_id
from leadflood_platform.db import Database
from leadflood_platform.jobs import JobKind
from leads import service
from leads.convert import lead_to_proto


class LeadsServicer(leads_pb2_grpc.LeadsServiceServicer):
    def __init__(self, db: Database, enrich_kind: JobKind, max_attempts: int) -> None:
        self.db, self.enrich_kind, self.max_attempts = db, enrich_kind, max_attempts

    async def CreateLead(self, request: leads_pb2.CreateLeadRequest, ctx) -> leads_pb2.CreateLeadResponse:  # type: ignore[no-untyped-def]
        new = service.NewLead(
            email=request.email,
            first_name=request.first_name,
            last_name=request.last_name,
            company_name=request.company_name,
            title=request.title,
            source=request.source or "manual",
        )
        async with self.db.transaction() as session:
            lead, job_id = await service.create(
                session=session,
                org_id=context.require_org(),
                new=new,
                enrich_kind=self.enrich_kind,
                max_attempts=self.max_attempts,
            )
            return leads_pb2.CreateLeadResponse(lead=lead_to_proto(lead), job_id=str(job_id))

    async def GetLead(self, request: leads_pb2.GetLeadRequest, ctx) -> leads_pb2.GetLeadResponse:  # type: ignore[no-untyped-def]
        lead_id = parse_id(request.lead_id, "lead")
        async with self.db.transaction() as session:
            lead = await service.get(session=session, org_id=context.require_org(), lead_id=lead_id)
            return leads_pb2.GetLeadResponse(lead=lead_to_proto(lead))
