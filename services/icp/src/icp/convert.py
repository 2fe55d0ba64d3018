"""Between the ICP service's models and its protobuf messages."""

from __future__ import annotations

from typing import Any

from icp.models import Icp, SearchRun, platform_tables
from icp.rules import DEFAULT_WEIGHTS, Rules, rules_of
from leadflood.icp.v1 import icp_pb2
from leadflood_platform.convert import timestamp
from leadflood_platform.jobs import public_id

RUN_STATUS = {
    "queued": icp_pb2.SEARCH_RUN_STATUS_QUEUED,
    "running": icp_pb2.SEARCH_RUN_STATUS_RUNNING,
    "completed": icp_pb2.SEARCH_RUN_STATUS_COMPLETED,
    "failed": icp_pb2.SEARCH_RUN_STATUS_FAILED,
    "cancelled": icp_pb2.SEARCH_RUN_STATUS_CANCELLED,
}
FINISHED = frozenset({"completed", "failed", "cancelled"})
DIAGNOSTICS = tuple(icp_pb2.SourceDiagnostics.DESCRIPTOR.fields_by_name)


def rules_from_proto(message: icp_pb2.IcpRules) -> Rules:
    weights = message.weights if message.HasField("weights") else None
    return Rules(
        titles=list(message.titles),
        seniorities=list(message.seniorities),
        industries=list(message.industries),
        company_size_min=message.company_size_min or None,
        company_size_max=message.company_size_max or None,
        locations=list(message.locations),
        keywords=list(message.keywords),
        min_score=message.min_score,
        weights={name: getattr(weights, name) for name in DEFAULT_WEIGHTS} if weights else dict(DEFAULT_WEIGHTS),
    )


def rules_to_proto(rules: dict[str, Any]) -> icp_pb2.IcpRules:
    return icp_pb2.IcpRules(
        titles=rules["titles"],
        seniorities=rules["seniorities"],
        industries=rules["industries"],
        company_size_min=rules["company_size_min"] or 0,
        company_size_max=rules["company_size_max"] or 0,
        locations=rules["locations"],
        keywords=rules["keywords"],
        min_score=rules["min_score"],
        weights=icp_pb2.ScoringWeights(**rules["weights"]),
    )


def icp_to_proto(icp: Icp) -> icp_pb2.Icp:
    return icp_pb2.Icp(
        id=str(icp.id),
        name=icp.name,
        rules=rules_to_proto(rules_of(icp).as_dict()),
        created_at=timestamp(icp.created_at),
        updated_at=timestamp(icp.updated_at),
    )


def run_to_proto(run: SearchRun) -> icp_pb2.SearchRun:
    return icp_pb2.SearchRun(
        id=str(run.id),
        icp_id=str(run.icp_id),
        source=run.source,
        limit=run.limit,
        status=RUN_STATUS[run.status],
        # Progress from the counted pages only, like the diagnostics beside it: the fetcher runs pages
        # ahead of the leads service, and a bar from its figures contradicted the counters under it.
        pages_fetched=run.pages_delivered,
        people_fetched=run.diagnostics.get("fetched", 0),
        diagnostics=icp_pb2.SourceDiagnostics(**{k: run.diagnostics.get(k, 0) for k in DIAGNOSTICS}),
        error=run.error or "",
        job_id=public_id(platform_tables.schema, run.job_id),
        created_at=timestamp(run.created_at),
        started_at=timestamp(run.started_at),
        finished_at=timestamp(run.finished_at),
    )
