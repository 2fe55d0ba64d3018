"""Between the leads service's models and its protobuf messages."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
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
    """The lead (a Lead, or a row with its columns as attributes) as the API shows it; the score explanation
    only when given."""
    return _lead_message(functools.partial(getattr, lead), explanation)


def listed_lead_to_proto(record: Mapping[str, Any]) -> leads_pb2.Lead:
    """A lead of a list page (a row of listing.page: its columns by name) as the API shows it."""
    return _lead_message(record.__getitem__, ())


def _lead_message(column: Callable[[str], Any], explanation: Sequence[dict[str, Any]]) -> leads_pb2.Lead:
    """One lead's message from its columns, read by name: one conversion for a lead read alone and a list's.

    Field by field: upb builds a message from keyword arguments at about twice the cost, and a list
    page converts 50 of them.
    """
    message = leads_pb2.Lead()
    message.id = str(column("id"))
    message.email = column("email") or ""
    message.status = STATUS[column("status")]
    message.source = column("source")
    message.error = column("error") or ""
    if (enrichment := column("enrichment")) is not None:
        message.enrichment.CopyFrom(struct(enrichment))
    message.icp_id = str(column("icp_id") or "")
    message.search_run_id = str(column("search_run_id") or "")
    message.score = column("score")
    message.score_explanation.extend(leads_pb2.RuleMatch(**row) for row in explanation)
    message.filtered = column("filtered")
    message.company_size = column("company_size") or 0
    message.company_size_max = column("company_size_max") or 0
    message.edited_fields.extend(column("edited_fields"))
    message.created_at.CopyFrom(timestamp(column("created_at")))
    message.updated_at.CopyFrom(timestamp(column("updated_at")))
    for name in MERGED_FIELDS:
        setattr(message, name, column(name))
    message.time_zone, message.time_zone_source = time_zones.effective(column("time_zone"), column("location"))
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
