"""Between the leads service's models and its protobuf messages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from leadflood.leads.v1 import leads_pb2
from leadflood_platform.convert import struct, timestamp
from leads.models import MERGED_FIELDS, EnrichmentRun, Lead

STATUS = {
    "new": leads_pb2.LEAD_STATUS_NEW,
    "processing": leads_pb2.LEAD_STATUS_PROCESSING,
    "enriched": leads_pb2.LEAD_STATUS_ENRICHED,
    "failed": leads_pb2.LEAD_STATUS_FAILED,
}
STATUS_NAME = {value: name for name, value in STATUS.items()}


def lead_to_proto(lead: Lead, *, explanation: Sequence[dict[str, Any]] = ()) -> leads_pb2.Lead:
    """The lead as the API shows it; the score explanation (see explanations.py) only when given."""
    return leads_pb2.Lead(
        id=str(lead.id),
        email=lead.email or "",
        status=STATUS[lead.status],
        source=lead.source,
        error=lead.error or "",
        enrichment=struct(lead.enrichment),
        icp_id=str(lead.icp_id or ""),
        search_run_id=str(lead.search_run_id or ""),
        score=lead.score,
        score_explanation=[leads_pb2.RuleMatch(**row) for row in explanation],
        filtered=lead.filtered,
        company_size=lead.company_size or 0,
        edited_fields=lead.edited_fields,
        created_at=timestamp(lead.created_at),
        updated_at=timestamp(lead.updated_at),
        **{name: getattr(lead, name) for name in MERGED_FIELDS},
    )


def enrichment_run_to_proto(run: EnrichmentRun) -> leads_pb2.EnrichmentRun:
    return leads_pb2.EnrichmentRun(
        id=str(run.id),
        job_id=str(run.job_id),
        provider=run.provider,
        status=run.status,
        fields=struct(run.fields),
        error=run.error or "",
        created_at=timestamp(run.created_at),
    )
