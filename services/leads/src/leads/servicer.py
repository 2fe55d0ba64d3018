"""leadflood.leads.v1.LeadsService: proto in, domain call, proto out."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Iterable

import grpc
from sqlalchemy.ext.asyncio import AsyncSession

from leadflood.icp.v1 import icp_pb2, icp_pb2_grpc
from leadflood.leads.v1 import leads_pb2, leads_pb2_grpc
from leadflood_platform import context
from leadflood_platform.convert import parse_id
from leadflood_platform.db import Database, deadlock_retries
from leadflood_platform.errors import NotFound, Unavailable
from leadflood_platform.jobs import public_id
from leadflood_platform.provider_choice import require_provider
from leads import bulk_actions, explanations, imports, listing, rescoring, service, sourcing
from leads.config import LeadsSettings
from leads.convert import (
    STATUS_NAME,
    add_provider_values,
    enrichment_run_to_proto,
    lead_to_proto,
    listed_lead_to_proto,
)
from leads.models import Lead, platform_tables
from leads.pages_in_flight import PagesInFlight
from leads.providers.registry import PROVIDERS
from leads.workers import EnrichLead

KEY_FOR = {"hunter": "hunter_api_key"}
HAS_EMAIL = {leads_pb2.HAS_EMAIL_YES: True, leads_pb2.HAS_EMAIL_NO: False}
Rules = dict[uuid.UUID, icp_pb2.IcpRules | None]  # an ICP's id -> its rules; None when it was deleted
FILTERED = {
    leads_pb2.FILTERED_VIEW_UNSPECIFIED: "hidden",
    leads_pb2.FILTERED_VIEW_ONLY_FILTERED: "only",
    leads_pb2.FILTERED_VIEW_ALL: "all",
}


async def _explained(session: AsyncSession, lead: Lead) -> leads_pb2.Lead:
    """The lead with its score explanation and its provider values: what the lead's own page shows (lists
    leave them out)."""
    explanation = await explanations.load(session, lead.org_id, lead.score_explanation_id)
    return add_provider_values(lead_to_proto(lead, explanation=explanation), lead)


def _optional_id(value: str, name: str):  # type: ignore[no-untyped-def]
    return parse_id(value, name) if value else None


class LeadsServicer(leads_pb2_grpc.LeadsServiceServicer):
    def __init__(self, db: Database, settings: LeadsSettings, icp: icp_pb2_grpc.IcpServiceStub) -> None:
        self.db, self.settings, self.icp = db, settings, icp
        self.explanations = explanations.ExplanationStore()
        self.pages_in_flight = PagesInFlight()
        self.import_slots = imports.ImportSlots()

    async def CreateLead(self, request, ctx):  # type: ignore[no-untyped-def]
        new = service.NewLead(
            email=request.email,
            first_name=request.first_name,
            last_name=request.last_name,
            company_name=request.company_name,
            title=request.title,
            source=request.source or "manual",
            phone=request.phone,
        )
        async with self.db.transaction() as session:
            lead, job_id = await service.create(
                session=session,
                org_id=context.require_org(),
                new=new,
                enrich_kind=EnrichLead,
                max_attempts=self.settings.job_max_attempts,
            )
            return leads_pb2.CreateLeadResponse(
                lead=lead_to_proto(lead), job_id=public_id(platform_tables.schema, job_id)
            )

    async def GetLead(self, request, ctx):  # type: ignore[no-untyped-def]
        lead_id, org_id = parse_id(request.lead_id, "lead"), context.require_org()
        async with self.db.transaction() as session:
            lead = await service.get(session=session, org_id=org_id, lead_id=lead_id)
            runs = await service.history(session=session, org_id=org_id, lead_id=lead_id)
            return leads_pb2.GetLeadResponse(
                lead=await _explained(session, lead), enrichment_history=[enrichment_run_to_proto(r) for r in runs]
            )

    async def ListLeads(self, request, ctx):  # type: ignore[no-untyped-def]
        filters = listing.LeadFilter(
            icp_id=_optional_id(request.icp_id, "ICP"),
            search_run_id=_optional_id(request.search_run_id, "search run"),
            status=STATUS_NAME.get(request.status),
            min_score=request.min_score if request.HasField("min_score") else None,
            max_score=request.max_score if request.HasField("max_score") else None,
            has_email=HAS_EMAIL.get(request.has_email),
            query=request.query,
            filtered=FILTERED[request.filtered],
            lead_ids=tuple(parse_id(lead_id, "lead") for lead_id in request.lead_ids),
            created_from=request.created_from.ToDatetime(dt.UTC) if request.HasField("created_from") else None,
            created_before=request.created_before.ToDatetime(dt.UTC) if request.HasField("created_before") else None,
        )
        org_id = context.require_org()
        # Counted on the first page only ("Load more" keeps the total it was shown), in the page's own statement.
        with_total = request.with_total and not request.cursor
        async with self.db.driver(transaction=False) as driver:
            found = await listing.page(
                driver=driver,
                org_id=org_id,
                filters=filters,
                sort=request.sort,
                size=request.page_size or 50,
                cursor=request.cursor,
                with_total=with_total,
            )
        reply = leads_pb2.ListLeadsResponse(
            leads=[listed_lead_to_proto(lead) for lead in found.rows], next_cursor=found.next_cursor
        )
        if found.total is not None:
            reply.total, reply.total_capped = found.total, found.total_capped
        return reply

    async def _rules(self, icp_ids: Iterable[uuid.UUID]) -> Rules:
        """Each ICP's current rules from the icp service, None for one deleted (or never this org's)."""

        async def one(icp_id: uuid.UUID) -> tuple[uuid.UUID, icp_pb2.IcpRules | None]:
            try:
                reply = await self.icp.GetIcp(
                    icp_pb2.GetIcpRequest(icp_id=str(icp_id)), timeout=self.settings.icp_call_timeout_s
                )
            except grpc.aio.AioRpcError as error:
                if error.code() == grpc.StatusCode.NOT_FOUND:
                    return icp_id, None
                if error.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                    raise Unavailable("the ICP service did not answer, so nothing was scored; try again") from None
                raise
            return icp_id, reply.icp.rules

        return dict(await asyncio.gather(*map(one, set(icp_ids))))

    async def _own_rules(self, org_id: uuid.UUID, lead_ids: list[uuid.UUID]) -> Rules:
        """The rules of the ICPs the leads are linked to, asked for before the transaction that scores them."""
        async with self.db.transaction() as session:
            icp_ids = await rescoring.own_icps(session=session, org_id=org_id, ids=lead_ids)
        return await self._rules(icp_ids)

    async def UpdateLead(self, request, ctx):  # type: ignore[no-untyped-def]
        changes = {name: getattr(request, name) for name in service.EDITABLE if request.HasField(name)}
        org_id, lead_id = context.require_org(), parse_id(request.lead_id, "lead")
        # An edit to a field the score reads rescores the lead by its ICP's current rules.
        rules = await self._own_rules(org_id, [lead_id]) if rescoring.SCORED_FIELDS & set(changes) else {}
        async with self.db.transaction() as session:
            lead = await service.update(session=session, org_id=org_id, lead_id=lead_id, changes=changes)
            if lead.icp_id is not None and rules.get(lead.icp_id) is not None:
                await rescoring.score(session, lead, rules[lead.icp_id])  # type: ignore[arg-type]
            return leads_pb2.UpdateLeadResponse(lead=await _explained(session, lead))

    async def ApplyEnrichment(self, request, ctx):  # type: ignore[no-untyped-def]
        org_id, lead_id = context.require_org(), parse_id(request.lead_id, "lead")
        rules = await self._own_rules(org_id, [lead_id])
        async with self.db.transaction() as session:
            lead, applying = await service.apply_enrichment(
                session=session, org_id=org_id, lead_id=lead_id, fields=list(request.fields)
            )
            icp_rules = rules.get(lead.icp_id) if lead.icp_id is not None else None
            if icp_rules is not None:
                await rescoring.score(session, lead, icp_rules)
            return leads_pb2.ApplyEnrichmentResponse(
                lead=await _explained(session, lead),
                applied=applying.applied,
                kept=applying.kept,
                rescored=icp_rules is not None,
            )

    async def ScoreLeads(self, request, ctx):  # type: ignore[no-untyped-def]
        org_id, lead_ids = context.require_org(), rescoring.lead_ids(request.lead_ids)
        link_to = parse_id(request.icp_id, "ICP") if request.icp_id else None
        if link_to is not None:
            rules = await self._rules([link_to])
            if rules[link_to] is None:
                raise NotFound(f"ICP {link_to} not found")
        else:
            rules = await self._own_rules(org_id, lead_ids)
        async with self.db.transaction() as session:
            scored = await rescoring.score_leads(
                session=session, org_id=org_id, ids=lead_ids, rules=rules, link_to=link_to
            )
            return leads_pb2.ScoreLeadsResponse(
                scored=len(scored.leads),
                filtered=scored.filtered,
                not_found=scored.not_found,
                not_linked=scored.not_linked,
                icp_deleted=scored.icp_deleted,
                leads=[lead_to_proto(lead) for lead in scored.leads],
            )

    async def ApplyMinScore(self, request, ctx):  # type: ignore[no-untyped-def]
        org_id, icp_id = context.require_org(), parse_id(request.icp_id, "ICP")
        async with self.db.transaction() as session:
            applied = await rescoring.apply_min_score(
                session=session, org_id=org_id, icp_id=icp_id, min_score=request.min_score
            )
        return leads_pb2.ApplyMinScoreResponse(hidden=applied.hidden, shown=applied.shown)

    async def DeleteLead(self, request, ctx):  # type: ignore[no-untyped-def]
        async with self.db.transaction() as session:
            await service.remove(
                session=session, org_id=context.require_org(), lead_id=parse_id(request.lead_id, "lead")
            )
        return leads_pb2.DeleteLeadResponse()

    async def EnrichLead(self, request, ctx):  # type: ignore[no-untyped-def]
        provider = require_provider(
            field="provider", choice=request.provider or "sandbox", known=PROVIDERS, settings=self.settings,
            keys=KEY_FOR, kind="enrichment",
        )  # fmt: skip
        async with self.db.transaction() as session:
            job_id, existing = await service.request_enrichment(
                session=session,
                org_id=context.require_org(),
                lead_id=parse_id(request.lead_id, "lead"),
                provider=provider,
                enrich_kind=EnrichLead,
                max_attempts=self.settings.job_max_attempts,
            )
        return leads_pb2.EnrichLeadResponse(job_id=public_id(platform_tables.schema, job_id), existing=existing)

    async def DeleteLeads(self, request, ctx):  # type: ignore[no-untyped-def]
        org_id, ids = context.require_org(), bulk_actions.selection(request.lead_ids)
        async with self.db.transaction() as session:
            deleted = await bulk_actions.delete(session=session, org_id=org_id, ids=ids)
        outcome = {True: leads_pb2.LEAD_DELETE_OUTCOME_DELETED, False: leads_pb2.LEAD_DELETE_OUTCOME_NOT_FOUND}
        return leads_pb2.DeleteLeadsResponse(outcomes=[outcome[lead_id in deleted] for lead_id in ids])

    async def EnrichLeads(self, request, ctx):  # type: ignore[no-untyped-def]
        provider = require_provider(
            field="provider", choice=request.provider or "sandbox", known=PROVIDERS, settings=self.settings,
            keys=KEY_FOR, kind="enrichment",
        )  # fmt: skip
        org_id, ids = context.require_org(), bulk_actions.selection(request.lead_ids)
        async with self.db.transaction() as session:
            done = await bulk_actions.enrich(
                session=session, org_id=org_id, ids=ids, provider=provider, enrich_kind=EnrichLead,
                max_attempts=self.settings.job_max_attempts,
            )  # fmt: skip
        return leads_pb2.EnrichLeadsResponse(results=[bulk_actions.enrich_result(done.get(i)) for i in ids])

    async def UpsertSourcedLeads(self, request, ctx):  # type: ignore[no-untyped-def]
        run_id = parse_id(request.search_run_id, "search run")
        parse_id(request.icp_id, "ICP")
        prepared = sourcing.prepare(request)
        org_id = context.require_org()
        if unsaved := self.explanations.unsaved(org_id, prepared.explanations):
            async with self.db.driver(transaction=False) as connection:
                await self.explanations.save(connection, org_id, unsaved)
        async for attempt in deadlock_retries():
            with attempt, self.pages_in_flight.applying(run_id, request.batch) as page:
                async with self.db.driver(transaction=True) as connection:
                    counts, replayed = await sourcing.apply_batch(
                        connection=connection, org_id=org_id, request=request, prepared=prepared, page=page
                    )
        return leads_pb2.UpsertSourcedLeadsResponse(diagnostics=counts, replayed=replayed)

    async def ImportLeads(self, request_iterator, ctx):  # type: ignore[no-untyped-def]
        org_id = context.require_org()
        with self.import_slots.slot():
            file = imports.ImportedFile()
            async for part in request_iterator:
                file.add(part)
            file.require_whole()  # before taking a connection: a cut-off file needs no transaction
            async for attempt in deadlock_retries():
                with attempt:
                    async with self.db.driver(transaction=True) as connection:
                        created, updated = await file.apply(connection, org_id)
        return leads_pb2.ImportLeadsResponse(
            created=created,
            updated=updated,
            errors=[leads_pb2.RowError(line=line, message=message) for line, message in file.errors],
            failed=file.failed,
        )
