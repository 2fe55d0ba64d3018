"""ICP profiles and their search runs: /v1/icps..."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import Field

from gateway.auth import Principal
from gateway.deps import principal
from gateway.routes.schemas import (
    Body,
    CursorPage,
    Int32,
    Reply,
    Timestamps,
    documents,
    enum_word,
    total_json,
)
from leadflood.icp.v1 import icp_pb2

router = APIRouter()
Who = Annotated[Principal, Depends(principal)]
WEIGHTS = ("title", "seniority", "industry", "company_size", "location", "keyword")


class Weights(Body):
    title: Int32 = 30
    seniority: Int32 = 20
    industry: Int32 = 15
    company_size: Int32 = 15
    location: Int32 = 10
    keyword: Int32 = 10


class IcpBody(Body):
    name: str = Field(max_length=200)
    titles: list[str] = Field(max_length=50)
    seniorities: list[str] = Field(default_factory=list, max_length=20)
    industries: list[str] = Field(default_factory=list, max_length=50)
    company_size_min: Int32 | None = Field(default=None, ge=0)
    company_size_max: Int32 | None = Field(default=None, ge=0)
    locations: list[str] = Field(default_factory=list, max_length=50)
    keywords: list[str] = Field(default_factory=list, max_length=50)
    min_score: Int32 = 0
    weights: Weights = Field(default_factory=Weights)

    def rules(self) -> icp_pb2.IcpRules:
        return icp_pb2.IcpRules(
            titles=self.titles,
            seniorities=self.seniorities,
            industries=self.industries,
            company_size_min=self.company_size_min or 0,
            company_size_max=self.company_size_max or 0,
            locations=self.locations,
            keywords=self.keywords,
            min_score=self.min_score,
            weights=icp_pb2.ScoringWeights(**self.weights.model_dump()),
        )


class SearchBody(Body):
    source: str = Field(default="sandbox", max_length=50)
    limit: int = Field(default=100, ge=1, le=100_000)
    force: bool = False


class WeightsOut(Reply):
    title: int
    seniority: int
    industry: int
    company_size: int
    location: int
    keyword: int


class Icp(Reply):
    id: str
    name: str
    titles: list[str]
    seniorities: list[str]
    industries: list[str]
    company_size_min: int | None
    company_size_max: int | None
    locations: list[str]
    keywords: list[str]
    min_score: int = Field(description="Leads scoring below it are `filtered`")
    weights: WeightsOut = Field(description="Each rule's share of the score, out of 100")
    created_at: datetime | None
    updated_at: datetime | None


class IcpSaved(Icp):
    leads_hidden: int = Field(
        description="When `minScore` changed: the ICP's leads now under it that were not (hidden from the default "
        "list); 0 otherwise"
    )
    leads_shown: int = Field(
        description="When `minScore` changed: the ICP's leads now at or over it that were under the old one (shown "
        "again); 0 otherwise"
    )


class IcpList(Reply):
    items: list[Icp]


class SearchDiagnostics(Reply):
    fetched: int
    duplicates: int
    filtered: int
    with_email: int
    without_email: int
    created: int
    updated: int
    failed: int


class SearchRun(Reply):
    id: str
    icp_id: str
    source: str
    limit: int
    status: Literal["unspecified", "queued", "running", "completed", "failed", "cancelled"]
    pages_fetched: int = Field(description="Pages handed to the leads service and counted (as `diagnostics`)")
    people_fetched: int = Field(description="People in those pages: always `diagnostics.fetched`")
    diagnostics: SearchDiagnostics
    error: str | None
    job_id: str | None
    created_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None


class SearchRunList(CursorPage):
    items: list[SearchRun] = Field(description="Newest first")


class SearchStarted(Reply):
    run_id: str
    job_id: str
    existing: bool = Field(description="The same search ran today: this is that run (`force` runs it again)")
    run: SearchRun


def icp_json(icp: icp_pb2.Icp) -> dict[str, Any]:
    rules = icp.rules
    return {
        "id": icp.id,
        "name": icp.name,
        "titles": list(rules.titles),
        "seniorities": list(rules.seniorities),
        "industries": list(rules.industries),
        "companySizeMin": rules.company_size_min or None,
        "companySizeMax": rules.company_size_max or None,
        "locations": list(rules.locations),
        "keywords": list(rules.keywords),
        "minScore": rules.min_score,
        "weights": {
            "title": rules.weights.title,
            "seniority": rules.weights.seniority,
            "industry": rules.weights.industry,
            "companySize": rules.weights.company_size,
            "location": rules.weights.location,
            "keyword": rules.weights.keyword,
        },
        **Timestamps.of(icp, "created_at", "updated_at"),
    }


def run_json(run: icp_pb2.SearchRun) -> dict[str, Any]:
    d = run.diagnostics
    return {
        "id": run.id,
        "icpId": run.icp_id,
        "source": run.source,
        "limit": run.limit,
        "status": enum_word(run.status, icp_pb2.SearchRunStatus, "SEARCH_RUN_STATUS_"),
        "pagesFetched": run.pages_fetched,
        "peopleFetched": run.people_fetched,
        "diagnostics": {
            "fetched": d.fetched,
            "duplicates": d.duplicates,
            "filtered": d.filtered,
            "withEmail": d.with_email,
            "withoutEmail": d.without_email,
            "created": d.created,
            "updated": d.updated,
            "failed": d.failed,
        },
        "error": run.error or None,
        "jobId": run.job_id or None,
        **Timestamps.of(run, "created_at", "started_at", "finished_at"),
    }


def _icps(request: Request) -> Any:
    return request.app.state.services.icp


@router.get("/v1/icps", **documents(IcpList))
async def list_icps(request: Request, who: Who) -> dict[str, Any]:
    reply = await _icps(request).ListIcps(icp_pb2.ListIcpsRequest())
    return {"items": [icp_json(icp) for icp in reply.icps]}


@router.post("/v1/icps", status_code=201, **documents(Icp, 201))
async def create_icp(body: IcpBody, request: Request, who: Who) -> dict[str, Any]:
    reply = await _icps(request).CreateIcp(icp_pb2.CreateIcpRequest(name=body.name, rules=body.rules()))
    return icp_json(reply.icp)


@router.get("/v1/icps/{icp_id}", **documents(Icp))
async def get_icp(icp_id: str, request: Request, who: Who) -> dict[str, Any]:
    return icp_json((await _icps(request).GetIcp(icp_pb2.GetIcpRequest(icp_id=icp_id))).icp)


@router.put("/v1/icps/{icp_id}", **documents(IcpSaved))
async def update_icp(icp_id: str, body: IcpBody, request: Request, who: Who) -> dict[str, Any]:
    """Replaces the name and rules. A new `minScore` applies to the leads the ICP already has, by the scores they
    hold: which are hidden follows it at once (other rules change no score until the leads are scored again)."""
    reply = await _icps(request).UpdateIcp(icp_pb2.UpdateIcpRequest(icp_id=icp_id, name=body.name, rules=body.rules()))
    return {**icp_json(reply.icp), "leadsHidden": reply.leads_hidden, "leadsShown": reply.leads_shown}


@router.delete("/v1/icps/{icp_id}", status_code=204)
async def delete_icp(icp_id: str, request: Request, who: Who) -> Response:
    await _icps(request).DeleteIcp(icp_pb2.DeleteIcpRequest(icp_id=icp_id))
    return Response(status_code=204)


@router.post("/v1/icps/{icp_id}/search", status_code=202, **documents(SearchStarted, 202))
async def start_search(icp_id: str, body: SearchBody, request: Request, who: Who) -> dict[str, Any]:
    reply = await _icps(request).StartSearch(
        icp_pb2.StartSearchRequest(icp_id=icp_id, source=body.source, limit=body.limit, force=body.force)
    )
    return {"runId": reply.run.id, "jobId": reply.run.job_id, "existing": reply.existing, "run": run_json(reply.run)}


@router.get("/v1/icps/{icp_id}/search-runs", **documents(SearchRunList))
async def list_runs(
    icp_id: str,
    request: Request,
    who: Who,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str, Query(max_length=500)] = "",
) -> dict[str, Any]:
    """The ICP's search runs, newest first; the first page counts them (`total`)."""
    reply = await _icps(request).ListSearchRuns(
        icp_pb2.ListSearchRunsRequest(icp_id=icp_id, page_size=limit, cursor=cursor, with_total=not cursor)
    )
    runs = [run_json(run) for run in reply.runs]
    return {"items": runs, "nextCursor": reply.next_cursor or None, **total_json(reply)}


@router.get("/v1/icps/{icp_id}/search-runs/{run_id}", **documents(SearchRun))
async def get_run(icp_id: str, run_id: str, request: Request, who: Who) -> dict[str, Any]:
    reply = await _icps(request).GetSearchRun(icp_pb2.GetSearchRunRequest(icp_id=icp_id, run_id=run_id))
    return run_json(reply.run)


@router.post("/v1/icps/{icp_id}/search-runs/{run_id}/cancel", **documents(SearchRun))
async def cancel_run(icp_id: str, run_id: str, request: Request, who: Who) -> dict[str, Any]:
    """Stops a queued or running run at its next page; a finished run is a 409 problem."""
    reply = await _icps(request).CancelSearchRun(icp_pb2.CancelSearchRunRequest(icp_id=icp_id, run_id=run_id))
    return run_json(reply.run)
