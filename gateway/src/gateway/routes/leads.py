"""POST /v1/leads, GET /v1/leads/{id}."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from google.protobuf.json_format import MessageToDict
from pydantic import Field

from gateway.auth import Principal
from gateway.deps import principal
from gateway.routes.schemas import Body
from leadflood.leads.v1 import leads_pb2

router = APIRouter(dependencies=[Depends(principal)])
Who = Annotated[Principal, Depends(principal)]


class CreateLeadBody(Body):
    email: str = Field(min_length=3, max_length=320)
    first_name: str = Field(min_length=1, max_length=200)
    last_name: str = Field(min_length=1, max_length=200)
    company_name: str = Field(default="", max_length=200)
    title: str = Field(default="", max_length=200)


def enum_word(value: int, enum: Any, prefix: str) -> str:
    """LEAD_STATUS_ENRICHED -> enriched."""
    return enum.Name(value).removeprefix(prefix).lower()


def lead_json(lead: leads_pb2.Lead) -> dict[str, Any]:
    return {
        "id": lead.id,
        "email": lead.email,
        "firstName": lead.first_name,
        "lastName": lead.last_name,
        "companyName": lead.company_name,
        "title": lead.title,
        "source": lead.source,
        "status": enum_word(lead.status, leads_pb2.LeadStatus, "LEAD_STATUS_"),
        "error": lead.error or None,
        "enrichment": MessageToDict(lead.enrichment) if lead.HasField("enrichment") else None,
        "createdAt": lead.created_at.ToJsonString(),
        "updatedAt": lead.updated_at.ToJsonString(),
    }


@router.post("/v1/leads", status_code=201)
async def create_lead(body: CreateLeadBody, request: Request, who: Who) -> dict[str, Any]:
    reply = await request.app.state.services.leads.CreateLead(
        leads_pb2.CreateLeadRequest(**body.model_dump(), source="manual")
    )
    return {"leadId": reply.lead.id, "jobId": reply.job_id, "lead": lead_json(reply.lead)}


@router.get("/v1/leads/{lead_id}")
async def get_lead(lead_id: str, request: Request, who: Who) -> dict[str, Any]:
    reply = await request.app.state.services.leads.GetLead(leads_pb2.GetLeadRequest(lead_id=lead_id))
    return lead_json(reply.lead)
