"""The leads a template renders for, from the leads service (GetLead; ListLeads for many), in the call's org."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import grpc

from leadflood.leads.v1 import leads_pb2, leads_pb2_grpc
from leadflood_platform.templates import LeadFields


@dataclass(frozen=True)
class Lead(LeadFields):
    """A lead as a step sees it: the template's fields, and where it is reached beyond its email."""

    # E.164, as the leads service keeps it; empty: an SMS step skips the lead.
    phone: str = ""


class LeadDirectory(Protocol):
    async def get(self, lead_id: uuid.UUID) -> Lead | None:
        """The lead's fields in the current org (leadflood_platform.context), None when it does not exist.

        Any other failure (the service unreachable, a deadline) is raised: the caller tries again later.
        """
        ...

    async def get_many(self, lead_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Lead]:
        """Those of the leads that exist in the current org, by id; a failure is raised, as for `get`."""
        ...


# Leads named in one ListLeads call, at most (the list's own bound).
MAX_IDS = 500


class LeadsService:
    """LeadDirectory over gRPC. The channel (leadflood_platform.grpc_client) retries UNAVAILABLE and
    adds the org from the context; every call has its own deadline here."""

    def __init__(self, channel: grpc.aio.Channel, *, timeout_s: float) -> None:
        self.stub = leads_pb2_grpc.LeadsServiceStub(channel)
        self.timeout_s = timeout_s

    async def get(self, lead_id: uuid.UUID) -> Lead | None:
        try:
            reply = await self.stub.GetLead(leads_pb2.GetLeadRequest(lead_id=str(lead_id)), timeout=self.timeout_s)
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:
                return None
            raise
        return _lead(reply.lead)

    async def get_many(self, lead_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Lead]:
        """One ListLeads call per MAX_IDS leads (the list's selection: one statement in the leads service), every
        lead whatever its score (`FILTERED_VIEW_ALL`); a lead not listed does not exist in the org."""
        found: dict[uuid.UUID, Lead] = {}
        unique = list(dict.fromkeys(lead_ids))
        for start in range(0, len(unique), MAX_IDS):
            part = [str(lead_id) for lead_id in unique[start : start + MAX_IDS]]
            request = leads_pb2.ListLeadsRequest(
                lead_ids=part, page_size=len(part), filtered=leads_pb2.FILTERED_VIEW_ALL
            )
            reply = await self.stub.ListLeads(request, timeout=self.timeout_s)
            found.update((uuid.UUID(lead.id), _lead(lead)) for lead in reply.leads)
        return found


def _lead(lead: leads_pb2.Lead) -> Lead:
    return Lead(
        email=lead.email,
        first_name=lead.first_name,
        last_name=lead.last_name,
        company_name=lead.company_name,
        title=lead.title,
        company_domain=lead.company_domain,
        industry=lead.industry,
        location=lead.location,
        time_zone=lead.time_zone,
        seniority=lead.seniority,
        linkedin_url=lead.linkedin_url,
        phone=lead.phone,
    )


async def matching_pages(
    stub: leads_pb2_grpc.LeadsServiceStub, filter: leads_pb2.ListLeadsRequest, *, page_size: int, timeout_s: float
):  # type: ignore[no-untyped-def]
    """Every page of leads a lead-list filter matches, as (lead id, time zone) pairs, in the list's order."""
    request = leads_pb2.ListLeadsRequest()
    request.CopyFrom(filter)
    request.page_size, request.cursor = page_size, ""
    while True:
        reply = await stub.ListLeads(request, timeout=timeout_s)
        yield [(uuid.UUID(lead.id), lead.time_zone) for lead in reply.leads]
        if not reply.next_cursor:
            return
        request.cursor = reply.next_cursor
