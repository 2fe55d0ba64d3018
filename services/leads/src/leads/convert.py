"""Between the leads model and its protobuf messages."""

from __future__ import annotations

from leadflood.leads.v1 import leads_pb2
from leadflood_platform.convert import struct, timestamp
from leads.models import Lead

STATUS = {
    "new": leads_pb2.LEAD_STATUS_NEW,
    "processing": leads_pb2.LEAD_STATUS_PROCESSING,
    "enriched": leads_pb2.LEAD_STATUS_ENRICHED,
    "failed": leads_pb2.LEAD_STATUS_FAILED,
}


def lead_to_proto(lead: Lead) -> leads_pb2.Lead:
    return leads_pb2.Lead(
        id=str(lead.id),
        email=lead.email,
        first_name=lead.first_name,
        last_name=lead.last_name,
        company_name=lead.company_name,
        title=lead.title,
        source=lead.source,
        status=STATUS[lead.status],
        error=lead.error or "",
        enrichment=struct(lead.enrichment),
        created_at=timestamp(lead.created_at),
        updated_at=timestamp(lead.updated_at),
    )
