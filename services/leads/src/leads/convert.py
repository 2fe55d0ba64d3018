"""Between the leads service's models and its protobuf messages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from leadflood.leads.v1 import leads_pb2
from leadflood_platform.convert import struct, timestamp
from leadflood_platform.jobs import public_id
from leads import provider_values, time_zones
from leads.models import MERGED_FIELDS, EnrichmentRun, platform_tables

STATUS = {
    "new": leads_pb2.LEAD_STATUS_NEW,
    "processing": leads_pb2.LEAD_STATUS_PROCESSING,
    "enriched": leads_pb2.LEAD_STATUS_ENRICHED,
    "failed": leads_pb2.LEAD_STATUS_FAILED,
}
STATUS_NAME = {value: name for name, value in STATUS.items()}
PROVIDER_VALUE_STATE = {
    provider_values.SAME: leads_pb2.PROVIDER_VALUE_STATE_SAME,
    provider_values.OFFERED: leads_pb2.PROVIDER_VALUE_STATE_OFFERED,
    provider_values.EDITED: leads_pb2.PROVIDER_VALUE_STATE_EDITED,
}


def lead_to_proto(lead: Any, *, explanation: Sequence[dict[str, Any]] = ()) -> leads_pb2.Lead:
    """The lead (a Lead, or a row of listing.page) as the API shows it; the score explanation only when given.

    Field by field: upb builds a message from keyword arguments at about twice the cost, and a list
    page converts 50 of them.
    """
    message = leads_pb2.Lead()
    message.id = str(lead.id)
    message.email = lead.email or ""
    message.status = STATUS[lead.status]
    message.source = lead.source
    message.error = lead.error or ""
    if lead.enrichment is not None:
        message.enrichment.CopyFrom(struct(lead.enrichment))
    message.icp_id = str(lead.icp_id or "")
    message.search_run_id = str(lead.search_run_id or "")
    message.score = lead.score
    message.score_explanation.extend(leads_pb2.RuleMatch(**row) for row in explanation)
    message.filtered = lead.filtered
    message.company_size = lead.company_size or 0
    message.company_size_max = lead.company_size_max or 0
    message.edited_fields.extend(lead.edited_fields)
    message.created_at.CopyFrom(timestamp(lead.created_at))
    message.updated_at.CopyFrom(timestamp(lead.updated_at))
    for name in MERGED_FIELDS:
        setattr(message, name, getattr(lead, name))
    message.time_zone, message.time_zone_source = time_zones.effective(lead.time_zone, lead.location)
    return message


def add_provider_values(message: leads_pb2.Lead, lead: Any) -> leads_pb2.Lead:
    """The lead's message with what enrichment found for its fields and which value holds (one lead's read)."""
    for found in provider_values.compare(lead):
        message.provider_values.add(field=found.field, value=found.value, state=PROVIDER_VALUE_STATE[found.state])
    return message


def enrichment_run_to_proto(run: EnrichmentRun) -> leads_pb2.EnrichmentRun:
    return leads_pb2.EnrichmentRun(
        id=str(run.id),
        job_id=public_id(platform_tables.schema, run.job_id),
        provider=run.provider,
        status=run.status,
        fields=struct(run.fields),
        error=run.error or "",
        created_at=timestamp(run.created_at),
    )
