"""Leads: create, read, list, edit, delete, enrich, CSV import and export: /v1/leads..."""

from __future__ import annotations

import asyncio
import csv
import inspect
import io
import re
from collections.abc import AsyncIterator
from datetime import datetime
from operator import itemgetter
from typing import Annotated, Any, Literal

import grpc
import orjson
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse
from google.protobuf.json_format import MessageToDict
from pydantic import AwareDatetime, Field

from gateway import csv_records
from gateway.auth import Principal
from gateway.deps import principal
from gateway.problems import Problem, reworded
from gateway.routes.schemas import Body, Reply, Timestamps, documents, enum_word, rfc3339
from leadflood.leads.v1 import leads_pb2

router = APIRouter()
Who = Annotated[Principal, Depends(principal)]
IMPORT_BATCH = 500
IMPORT_PATH = "/v1/leads/import"
MAX_IMPORT_ROWS = 100_000  # as the leads service's own limit (imports.MAX_ROWS)
IMPORT_TIMEOUT_S = 300.0  # the whole file: read, sent on and written
# The call ended without the service's answer: it may have written the file, or not.
LOST_IMPORT = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})
MAX_REPORTED_ERRORS = 1_000  # an import's errors listed, the first by line; `failed` counts them all
CSV_COLUMNS = ("email", "firstName", "lastName", "companyName", "title", "phone")
MAX_SELECTION = 500  # leads a bulk action or a selection's export names at once (the service's listing.MAX_LEAD_IDS)
UUID_RE = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
LeadId = Annotated[str, Field(pattern=f"^{UUID_RE}$")]
EXPORT_COLUMNS = (
    "id", "email", "firstName", "lastName", "companyName", "title", "phone", "status", "score", "filtered", "seniority",
    "industry", "companyDomain", "companySize", "location", "linkedinUrl", "source", "icpId", "createdAt",
)  # fmt: skip


class CreateLeadBody(Body):
    email: str = Field(min_length=3, max_length=320)
    first_name: str = Field(min_length=1, max_length=200)
    last_name: str = Field(min_length=1, max_length=200)
    company_name: str = Field(default="", max_length=200)
    title: str = Field(default="", max_length=200)
    # Any common writing of an international number; kept in E.164 (the service refuses one without its country code).
    phone: str = Field(default="", max_length=40)


class UpdateLeadBody(Body):
    email: str | None = Field(default=None, max_length=320)
    first_name: str | None = Field(default=None, max_length=200)
    last_name: str | None = Field(default=None, max_length=200)
    company_name: str | None = Field(default=None, max_length=200)
    title: str | None = Field(default=None, max_length=200)
    # An IANA name; "" goes back to the zone read from the location.
    time_zone: str | None = Field(default=None, max_length=64)
    # "" removes it.
    phone: str | None = Field(default=None, max_length=40)
    # A code: owner, founder, c_suite, partner, vp, head, director, manager, senior, entry, intern.
    seniority: str | None = Field(default=None, max_length=50)
    industry: str | None = Field(default=None, max_length=200)
    location: str | None = Field(default=None, max_length=200)
    company_domain: str | None = Field(default=None, max_length=200)
    linkedin_url: str | None = Field(default=None, max_length=200)
    # A headcount; 0 removes it.
    company_size: int | None = Field(default=None, ge=0, le=10_000_000)


EDITABLE_NAMES = tuple(field.alias or name for name, field in UpdateLeadBody.model_fields.items())


class EnrichBody(Body):
    provider: str = Field(default="sandbox", max_length=50)


class LeadSelection(Body):
    lead_ids: list[LeadId] = Field(min_length=1, max_length=MAX_SELECTION)


class BulkEnrichBody(LeadSelection):
    provider: str = Field(default="sandbox", max_length=50)


IcpId = Annotated[
    str | None,
    Field(
        default=None,
        pattern=f"^{UUID_RE}$",
        description="Link the leads to this ICP and score them by its rules; left out, each is scored again by "
        "its own ICP's current rules",
    ),
]


class ScoreBody(Body):
    icp_id: IcpId = None


class BulkScoreBody(LeadSelection):
    icp_id: IcpId = None


# The lead's fields an enrichment can fill, in the API's names (the leads service's, camelCased).
PROVIDER_FIELDS = {
    "companyName": "company_name", "title": "title", "seniority": "seniority", "industry": "industry",
    "companySize": "company_size", "companyDomain": "company_domain", "location": "location",
    "linkedinUrl": "linkedin_url",
}  # fmt: skip
ProviderField = Literal[
    "companyName", "title", "seniority", "industry", "companySize", "companyDomain", "location", "linkedinUrl"
]
PROVIDER_NAMES = {column: name for name, column in PROVIDER_FIELDS.items()}


class ApplyEnrichmentBody(Body):
    fields: list[ProviderField] = Field(
        default=[],
        max_length=len(PROVIDER_FIELDS),
        description="The fields to take from the enrichment; empty or left out: every field it offers. A field "
        "edited by hand is never applied over (named, it is a 409)",
    )


class BulkDeleted(Reply):
    deleted: int
    not_found: int = Field(description="Named but not found: already deleted, or not this org's")


class BulkEnrichStarted(Reply):
    started: int = Field(description="Enrichments started")
    already_running: int = Field(description="Leads already being enriched: their running job goes on")
    not_found: int
    refused: int = Field(description="Leads not enriched, for a reason in `refusedBecause`")
    refused_because: list[str] = Field(description="Why leads were refused, each reason once")


class BulkScored(Reply):
    scored: int = Field(description="Linked (when an ICP was named) and scored")
    filtered: int = Field(description="Of those scored, how many fell under the ICP's minimum: kept, hidden by default")
    not_found: int
    not_linked: int = Field(description="Not scored: no ICP named, and the lead has none")
    icp_deleted: int = Field(description="Not scored: the lead's own ICP has been deleted")


class ProviderValue(Reply):
    field: str = Field(description="The lead's field: " + ", ".join(PROVIDER_FIELDS))
    value: str = Field(description="The provider's value as the lead would hold it: a seniority's code, a size "
                       "as `250` or `51-200`")  # fmt: skip
    state: Literal["same", "offered", "edited"] = Field(
        description="`same`: the lead holds it already; `offered`: the lead's own value holds, and applying "
        "takes the provider's; `edited`: the lead's value was edited by hand and always holds"
    )


class ScoreRule(Reply):
    rule: str
    matched: bool
    weight: int
    detail: str


class Lead(Reply):
    id: str
    email: str | None
    first_name: str
    last_name: str
    company_name: str
    title: str
    phone: str | None = Field(description="E.164")
    source: str = Field(description="`manual`, `import`, or the search source that found it")
    status: Literal["unspecified", "new", "processing", "enriched", "failed"]
    error: str | None = Field(description="Why the last enrichment failed")
    enrichment: dict[str, Any] | None = Field(description="What the last enrichment returned, as its provider named it")
    icp_id: str | None = Field(description="The ICP it is scored against")
    search_run_id: str | None
    score: int = Field(description="0-100, against its ICP")
    score_explanation: list[ScoreRule]
    filtered: bool = Field(description="It scores below its ICP's minimum")
    time_zone: str | None = Field(description="IANA name")
    time_zone_source: str | None = Field(description="`location` when read from the location, `manual` when set")
    seniority: str
    industry: str
    company_domain: str
    company_size: int | None = Field(description="A headcount, or the low end of a range")
    company_size_max: int | None = Field(description="The high end when the size is a range (`51-200`)")
    provider_values: list[ProviderValue] = Field(
        description="What the last enrichment found for the lead's own fields and which value holds: one lead's "
        "read only (empty in lists)"
    )
    location: str
    linkedin_url: str
    edited_fields: list[str] = Field(description="Fields edited by hand: later searches and enrichments keep them")
    created_at: datetime | None
    updated_at: datetime | None


class EnrichmentRun(Reply):
    id: str
    job_id: str
    provider: str
    status: str
    fields: dict[str, Any] | None
    error: str | None
    created_at: datetime | None


class LeadWithHistory(Lead):
    enrichment_history: list[EnrichmentRun] = Field(description="Every enrichment of the lead, newest first")


class EnrichmentApplied(Reply):
    lead: LeadWithHistory = Field(description="The lead, rescored by its ICP when it has one")
    applied: list[str] = Field(description="The fields whose value changed")
    kept: list[str] = Field(description="Fields left as the user edited them by hand")
    rescored: bool = Field(description="False when the lead has no ICP (or it was deleted): the score is as it was")


class LeadPage(Reply):
    items: list[Lead]
    next_cursor: str | None = Field(description="The `cursor` of the next page; null on the last")
    total: int | None = Field(
        description="The first page only (no `cursor`): how many leads match, exact up to 10,000; "
        "past that 10,000 with `totalCapped` true. Null on a cursor page."
    )
    total_capped: bool = Field(description="More than `total` leads match (the count stops at 10,000)")


class CreatedLead(Reply):
    lead_id: str
    job_id: str = Field(description="The enrichment job: GET /v1/jobs/{jobId}")
    lead: Lead


class ImportLineError(Reply):
    line: int
    message: str


class ImportReport(Reply):
    created: int
    updated: int
    failed: int = Field(description="Rows not imported, all of them counted")
    errors: list[ImportLineError] = Field(description=f"The first {MAX_REPORTED_ERRORS:,} rows not imported, by line")


class EnrichStarted(Reply):
    job_id: str
    existing: bool = Field(description="The lead was already being enriched: this is that job")


def lead_json(lead: leads_pb2.Lead) -> dict[str, Any]:
    return {
        "id": lead.id,
        "email": lead.email or None,
        "firstName": lead.first_name,
        "lastName": lead.last_name,
        "companyName": lead.company_name,
        "title": lead.title,
        "phone": lead.phone or None,
        "source": lead.source,
        "status": enum_word(lead.status, leads_pb2.LeadStatus, "LEAD_STATUS_"),
        "error": lead.error or None,
        "enrichment": MessageToDict(lead.enrichment) if lead.HasField("enrichment") else None,
        "icpId": lead.icp_id or None,
        "searchRunId": lead.search_run_id or None,
        "score": lead.score,
        # A list's leads carry no explanation and few provider values or edits: the empty case skips building a list.
        "scoreExplanation": [
            {"rule": r.rule, "matched": r.matched, "weight": r.weight, "detail": r.detail}
            for r in lead.score_explanation
        ]
        if lead.score_explanation
        else [],
        "filtered": lead.filtered,
        "timeZone": lead.time_zone or None,
        "timeZoneSource": lead.time_zone_source or None,
        "seniority": lead.seniority,
        "industry": lead.industry,
        "companyDomain": lead.company_domain,
        "companySize": lead.company_size or None,
        "companySizeMax": lead.company_size_max or None,
        "providerValues": [
            {
                "field": PROVIDER_NAMES.get(v.field, v.field),
                "value": v.value,
                "state": enum_word(v.state, leads_pb2.ProviderValueState, "PROVIDER_VALUE_STATE_"),
            }
            for v in lead.provider_values
        ]
        if lead.provider_values
        else [],
        "location": lead.location,
        "linkedinUrl": lead.linkedin_url,
        "editedFields": list(lead.edited_fields) if lead.edited_fields else [],
        "createdAt": rfc3339(lead.created_at) if lead.HasField("created_at") else None,
        "updatedAt": rfc3339(lead.updated_at) if lead.HasField("updated_at") else None,
    }


def page_json(reply: leads_pb2.ListLeadsResponse) -> dict[str, Any]:
    return {
        "items": [lead_json(lead) for lead in reply.leads],
        "nextCursor": reply.next_cursor or None,
        "total": reply.total if reply.HasField("total") else None,
        "totalCapped": reply.total_capped,
    }


def _leads(request: Request) -> Any:
    return request.app.state.services.leads


class ListQuery:
    """The list's filters as query parameters, shared by the JSON list and the CSV export."""

    def __init__(
        self,
        icp_id: Annotated[str, Query(alias="icpId")] = "",
        search_run_id: Annotated[str, Query(alias="searchRunId")] = "",
        status: Literal["", "new", "processing", "enriched", "failed"] = "",
        min_score: Annotated[int | None, Query(alias="minScore", ge=0, le=100)] = None,
        max_score: Annotated[int | None, Query(alias="maxScore", ge=0, le=100)] = None,
        has_email: Annotated[Literal["", "yes", "no"], Query(alias="hasEmail")] = "",
        q: Annotated[str, Query(max_length=200)] = "",
        filtered: Literal["hidden", "only", "all"] = "hidden",
        sort: Literal["-createdAt", "createdAt", "-score", "score", "lastName", "-lastName"] = "-createdAt",
        ids: Annotated[
            str,
            Query(
                max_length=100 * 37,
                pattern=rf"^({UUID_RE}(,{UUID_RE})*)?$",
                description="Only these leads: up to 100 ids, comma-separated (a selection's export)",
            ),
        ] = "",
        created_from: Annotated[
            AwareDatetime | None,
            Query(
                alias="createdFrom",
                description="Only leads created at or after this moment (RFC 3339 with its offset, e.g. a day's "
                "midnight in the reader's time zone: 2026-12-07T00:00:00+01:00)",
            ),
        ] = None,
        created_before: Annotated[
            AwareDatetime | None,
            Query(
                alias="createdBefore",
                description="Only leads created before this moment (RFC 3339 with its offset): a day ends at the "
                "next day's midnight",
            ),
        ] = None,
    ) -> None:
        self.request = leads_pb2.ListLeadsRequest(
            icp_id=icp_id,
            search_run_id=search_run_id,
            status=leads_pb2.LeadStatus.Value(f"LEAD_STATUS_{status.upper()}") if status else 0,
            min_score=min_score,
            max_score=max_score,
            has_email={"yes": leads_pb2.HAS_EMAIL_YES, "no": leads_pb2.HAS_EMAIL_NO}.get(has_email, 0),
            query=q,
            filtered={"hidden": 0, "only": 1, "all": 2}[filtered],
            sort={"createdAt": "created_at", "score": "score", "lastName": "last_name"}[sort.lstrip("-")],
            lead_ids=ids.split(",") if ids else [],
        )
        if created_from is not None:
            self.request.created_from.FromDatetime(created_from)
        if created_before is not None:
            self.request.created_before.FromDatetime(created_before)
        if sort.startswith("-"):
            self.request.sort = "-" + self.request.sort


async def list_query(**params: Any) -> ListQuery:
    """A ListQuery made on the event loop: FastAPI runs a class dependency in a worker thread, a hand-off per
    request that was about a tenth of the list's CPU at the gateway under load (bench/gateway_load.py)."""
    return ListQuery(**params)


list_query.__signature__ = inspect.signature(ListQuery)  # type: ignore[attr-defined] # its query parameters


@router.post("/v1/leads", status_code=201, **documents(CreatedLead, 201))
async def create_lead(body: CreateLeadBody, request: Request, who: Who) -> dict[str, Any]:
    reply = await _leads(request).CreateLead(leads_pb2.CreateLeadRequest(**body.model_dump(), source="manual"))
    return {"leadId": reply.lead.id, "jobId": reply.job_id, "lead": lead_json(reply.lead)}


@router.get("/v1/leads", **documents(LeadPage))
async def list_leads(
    request: Request,
    who: Who,
    filters: Annotated[ListQuery, Depends(list_query)],
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str, Query(max_length=500)] = "",
) -> Response:
    filters.request.page_size, filters.request.cursor = limit, cursor
    filters.request.with_total = not cursor
    reply = await _leads(request).ListLeads(filters.request)
    # Returned as a response, so FastAPI skips jsonable_encoder: 12 ms of a 25 ms page (make bench). orjson
    # writes the same bytes as JSONResponse's json.dumps in a fifteenth of the time (0.24 -> 0.016 ms a page).
    return Response(orjson.dumps(page_json(reply)), media_type="application/json")


@router.get(
    "/v1/leads/export.csv",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "Every matching lead, as CSV"}
    },
)
async def export_leads(request: Request, who: Who, filters: Annotated[ListQuery, Depends()]) -> StreamingResponse:
    """Streams every matching lead, a page at a time, so memory stays flat however many there are.

    The first page is asked for before the response starts: a bad filter is then a problem+json
    error, not a 200 whose body breaks off.
    """
    stub = _leads(request)
    page = leads_pb2.ListLeadsRequest()
    page.CopyFrom(filters.request)
    page.page_size = 500
    first = await stub.ListLeads(page)

    async def rows() -> AsyncIterator[str]:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=EXPORT_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        reply = first
        while True:
            for lead in reply.leads:
                writer.writerow({k: csv_records.neutralised(v) for k, v in lead_json(lead).items()})
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            if not reply.next_cursor:
                return
            page.cursor = reply.next_cursor
            reply = await stub.ListLeads(page)

    headers = {"content-disposition": 'attachment; filename="leads.csv"'}
    return StreamingResponse(rows(), media_type="text/csv; charset=utf-8", headers=headers)


@router.post(
    IMPORT_PATH,
    openapi_extra={"requestBody": {"required": True, "content": {"text/csv": {"schema": {"type": "string"}}}}},
    **documents(ImportReport),
)
async def import_leads(request: Request, who: Who) -> dict[str, Any]:
    """CSV with a header row, read as a stream and sent on in parts as it is read. Row errors come back by line.

    The leads service writes the file in one transaction once all of it has arrived: a file over the row
    limit, a body over the size limit or an upload cut off part-way imports nothing. Header names are
    matched loosely ("First Name", "first_name"); the delimiter is the header's (comma, semicolon or tab);
    quoted fields may span lines. A row repeating an earlier row's email updates that lead, as it would in
    a later file.
    """
    if not request.headers.get("content-type", "").startswith("text/csv"):
        raise Problem(415, "send the CSV file as the request body with Content-Type: text/csv")
    rows = csv_records.records(request.stream())
    header = await anext(rows, None)
    if header is None:
        raise Problem(422, "the CSV file is empty")
    columns = csv_records.column_names(header.values)
    missing = [c for c in ("email", "firstName", "lastName") if c not in columns]
    if missing:
        raise Problem(422, f"the CSV header lacks {', '.join(missing)}; expected {','.join(CSV_COLUMNS)}")
    unreadable: list[dict[str, Any]] = []  # lines the CSV reader could not read: they never reach the service
    failure: Exception | None = None

    async def parts() -> AsyncIterator[leads_pb2.ImportLeadsRequest]:
        """The file's rows in parts, read as the body arrives; on any failure the call is cancelled, not ended."""
        nonlocal failure
        try:
            batch: list[leads_pb2.ImportRow] = []
            count = 0
            async for record in rows:
                if record.error:
                    unreadable.append({"line": record.line, "message": record.error})
                    continue
                values = dict(zip(columns, map(csv_records.as_typed, record.values), strict=False))
                if not any(v.strip() for v in values.values()):
                    continue
                count += 1
                if count > MAX_IMPORT_ROWS:
                    raise Problem(
                        413,
                        f"at most {MAX_IMPORT_ROWS:,} rows per import (line {record.line} holds row {count:,}): "
                        "nothing was imported; split the file and import each part",
                    )
                batch.append(
                    leads_pb2.ImportRow(
                        line=record.line,
                        email=values.get("email", ""),
                        first_name=values.get("firstName", ""),
                        last_name=values.get("lastName", ""),
                        company_name=values.get("companyName", ""),
                        title=values.get("title", ""),
                        phone=values.get("phone", ""),
                    )
                )
                if len(batch) >= IMPORT_BATCH:
                    yield leads_pb2.ImportLeadsRequest(rows=batch)
                    batch = []
            # Only a part marked last has the service write the file: a cancelled stream never sends one.
            yield leads_pb2.ImportLeadsRequest(rows=batch, last=True)
        except Exception as exc:  # too many rows, a body over the size limit, a client gone away
            # Ending the stream would have the service import what it got: cancel the call instead.
            failure = exc
            call.cancel()

    # An iterator, not call.write(): the tracing interceptor awaits the call's status before handing it back.
    call = _leads(request).ImportLeads(parts(), timeout=IMPORT_TIMEOUT_S)
    try:
        reply = await call
    except asyncio.CancelledError:
        if failure is not None:
            raise failure from None
        raise
    except grpc.aio.AioRpcError as error:
        if error.code() not in LOST_IMPORT:
            raise
        # The service went away (or ran out of time) after the file may have been written: the file is
        # written in one transaction, so it was written whole or not at all, and sending it again is safe.
        raise reworded(
            error,
            "the import was cut off before its outcome was known; the file was written whole or not at all, "
            "so import it again: rows are matched by email and nothing is doubled",
        ) from error
    errors = sorted(unreadable + [{"line": e.line, "message": e.message} for e in reply.errors], key=itemgetter("line"))
    return {
        "created": reply.created,
        "updated": reply.updated,
        "failed": len(unreadable) + reply.failed,
        "errors": errors[:MAX_REPORTED_ERRORS],  # the count stays exact; the list is for reading
    }


def _selection(lead_ids: list[str]) -> list[str]:
    """The leads named, each once (an id in capitals is the same lead), in the order first named."""
    return list(dict.fromkeys(lead_id.lower() for lead_id in lead_ids))


@router.post("/v1/leads/bulk-delete", **documents(BulkDeleted))
async def delete_leads(body: LeadSelection, request: Request, who: Who) -> dict[str, Any]:
    """Deletes the leads named (a selection in the leads table) in one transaction, each stopping its enrollments as
    a lead deleted alone does; those not found are counted, not an error."""
    reply = await _leads(request).DeleteLeads(leads_pb2.DeleteLeadsRequest(lead_ids=_selection(body.lead_ids)))
    deleted = list(reply.outcomes).count(leads_pb2.LEAD_DELETE_OUTCOME_DELETED)
    return {"deleted": deleted, "notFound": len(reply.outcomes) - deleted}


def enrich_summary(reply: leads_pb2.EnrichLeadsResponse) -> dict[str, Any]:
    """A bulk enrichment's counts, and why any lead was refused (each reason once): the others' enrichments go on
    whatever became of one, so the answer is theirs too, never an error for all."""
    outcomes = [result.outcome for result in reply.results]
    reasons = [result.reason for result in reply.results if result.outcome == leads_pb2.LEAD_ENRICH_OUTCOME_REFUSED]
    return {
        "started": outcomes.count(leads_pb2.LEAD_ENRICH_OUTCOME_STARTED),
        "alreadyRunning": outcomes.count(leads_pb2.LEAD_ENRICH_OUTCOME_ALREADY_RUNNING),
        "notFound": outcomes.count(leads_pb2.LEAD_ENRICH_OUTCOME_NOT_FOUND),
        "refused": len(reasons),
        "refusedBecause": list(dict.fromkeys(reasons)),
    }


@router.post("/v1/leads/bulk-enrich", status_code=202, **documents(BulkEnrichStarted, 202))
async def enrich_leads(body: BulkEnrichBody, request: Request, who: Who) -> dict[str, Any]:
    """Starts an enrichment of each lead named in one transaction, as POST /v1/leads/{id}/enrich does for one (a lead
    already being enriched keeps its job). A provider without its key is refused for all, as for one; a lead with
    nothing to enrich it by is counted as refused, with the reason, while the others' enrichments start."""
    asked = leads_pb2.EnrichLeadsRequest(lead_ids=_selection(body.lead_ids), provider=body.provider)
    return enrich_summary(await _leads(request).EnrichLeads(asked))


@router.post("/v1/leads/bulk-score", **documents(BulkScored))
async def score_leads(body: BulkScoreBody, request: Request, who: Who) -> dict[str, Any]:
    """Links the leads named to an ICP (`icpId`) and scores them by its rules, or, without `icpId`, scores each
    again by its own ICP's current rules. Leads not found, without an ICP, or whose ICP was deleted are counted;
    an ICP that does not exist is a 404."""
    reply = await _leads(request).ScoreLeads(leads_pb2.ScoreLeadsRequest(lead_ids=body.lead_ids, icp_id=body.icp_id))
    return {
        "scored": reply.scored,
        "filtered": reply.filtered,
        "notFound": reply.not_found,
        "notLinked": reply.not_linked,
        "icpDeleted": reply.icp_deleted,
    }


def _lead_path_id(lead_id: str) -> str:
    """The path's lead id; a malformed one is a lead that does not exist (404), as GET says."""
    if not re.fullmatch(UUID_RE, lead_id):
        raise Problem(404, f"lead {lead_id[:64]!r} not found")
    return lead_id


@router.post("/v1/leads/{lead_id}/score", **documents(LeadWithHistory))
async def score_lead(lead_id: str, request: Request, who: Who, body: ScoreBody | None = None) -> dict[str, Any]:
    """Links the lead to an ICP (`icpId`) and scores it by its rules, or scores it again by its own ICP's current
    rules; a lead with no ICP (and none named) or whose ICP was deleted is a 409 saying so."""
    stub, icp_id = _leads(request), body.icp_id if body else None
    reply = await stub.ScoreLeads(leads_pb2.ScoreLeadsRequest(lead_ids=[_lead_path_id(lead_id)], icp_id=icp_id))
    if reply.not_found:
        raise Problem(404, f"lead {lead_id} not found")
    if reply.not_linked:
        raise Problem(409, "the lead is not linked to an ICP: choose one (icpId) to score it against")
    if reply.icp_deleted:
        raise Problem(409, "the lead's ICP has been deleted: choose another (icpId) to score it against")
    return await _lead_with_history(stub, lead_id)


@router.post("/v1/leads/{lead_id}/apply-enrichment", **documents(EnrichmentApplied))
async def apply_enrichment(
    lead_id: str, request: Request, who: Who, body: ApplyEnrichmentBody | None = None
) -> dict[str, Any]:
    """Puts the last enrichment's values (all it offers, or the `fields` named) in the lead's own fields and
    scores it again by its ICP. A field edited by hand always holds: with every field it is `kept`, named it is a
    409; a lead not enriched, or a field the provider gave no value for, is a 409 too."""
    stub = _leads(request)
    fields = [PROVIDER_FIELDS[name] for name in body.fields] if body else []
    reply = await stub.ApplyEnrichment(leads_pb2.ApplyEnrichmentRequest(lead_id=_lead_path_id(lead_id), fields=fields))
    return {
        "lead": await _lead_with_history(stub, lead_id),
        "applied": [PROVIDER_NAMES[name] for name in reply.applied],
        "kept": [PROVIDER_NAMES[name] for name in reply.kept],
        "rescored": reply.rescored,
    }


@router.get("/v1/leads/{lead_id}", **documents(LeadWithHistory))
async def get_lead(lead_id: str, request: Request, who: Who) -> dict[str, Any]:
    return await _lead_with_history(_leads(request), lead_id)


async def _lead_with_history(stub: Any, lead_id: str) -> dict[str, Any]:
    reply = await stub.GetLead(leads_pb2.GetLeadRequest(lead_id=lead_id))
    history = [
        {
            "id": run.id,
            "jobId": run.job_id,
            "provider": run.provider,
            "status": run.status,
            "fields": MessageToDict(run.fields) if run.HasField("fields") else None,
            "error": run.error or None,
            **Timestamps.of(run, "created_at"),
        }
        for run in reply.enrichment_history
    ]
    return {**lead_json(reply.lead), "enrichmentHistory": history}


@router.patch("/v1/leads/{lead_id}", **documents(Lead))
async def update_lead(lead_id: str, body: UpdateLeadBody, request: Request, who: Who) -> dict[str, Any]:
    changes = body.model_dump(exclude_none=True)
    if not changes:
        raise Problem(422, f"nothing to change: send at least one of {', '.join(EDITABLE_NAMES)}")
    reply = await _leads(request).UpdateLead(leads_pb2.UpdateLeadRequest(lead_id=lead_id, **changes))
    return lead_json(reply.lead)


@router.delete("/v1/leads/{lead_id}", status_code=204)
async def delete_lead(lead_id: str, request: Request, who: Who) -> Response:
    await _leads(request).DeleteLead(leads_pb2.DeleteLeadRequest(lead_id=lead_id))
    return Response(status_code=204)


@router.post("/v1/leads/{lead_id}/enrich", status_code=202, **documents(EnrichStarted, 202))
async def enrich_lead(lead_id: str, request: Request, who: Who, body: EnrichBody | None = None) -> dict[str, Any]:
    provider = body.provider if body else "sandbox"
    reply = await _leads(request).EnrichLead(leads_pb2.EnrichLeadRequest(lead_id=lead_id, provider=provider))
    return {"jobId": reply.job_id, "existing": reply.existing}
