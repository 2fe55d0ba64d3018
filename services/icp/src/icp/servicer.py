"""leadflood.icp.v1.IcpService: proto in, domain call, proto out."""

from __future__ import annotations

import datetime as dt
import uuid

import grpc

from icp import service
from icp.config import IcpSettings
from icp.convert import icp_to_proto, rules_from_proto, run_to_proto
from icp.providers.registry import MAX_PER_PAGE, SOURCES
from icp.workers import RunSearch
from leadflood.icp.v1 import icp_pb2, icp_pb2_grpc
from leadflood.leads.v1 import leads_pb2, leads_pb2_grpc
from leadflood_platform import context
from leadflood_platform.convert import parse_id
from leadflood_platform.db import Database, deadlock_retries
from leadflood_platform.errors import Unavailable
from leadflood_platform.provider_choice import require_provider

KEY_FOR = {"apollo": "apollo_api_key"}


class IcpServicer(icp_pb2_grpc.IcpServiceServicer):
    def __init__(self, db: Database, settings: IcpSettings, leads: leads_pb2_grpc.LeadsServiceStub) -> None:
        self.db, self.settings, self.leads = db, settings, leads

    async def CreateIcp(self, request, ctx):  # type: ignore[no-untyped-def]
        async with self.db.transaction() as session:
            icp = await service.create(
                session=session, org_id=context.require_org(), name=request.name, rules=rules_from_proto(request.rules)
            )
            return icp_pb2.CreateIcpResponse(icp=icp_to_proto(icp))

    async def ListIcps(self, request, ctx):  # type: ignore[no-untyped-def]
        async with self.db.transaction() as session:
            icps = await service.list_all(session=session, org_id=context.require_org())
            return icp_pb2.ListIcpsResponse(icps=[icp_to_proto(icp) for icp in icps])

    async def GetIcp(self, request, ctx):  # type: ignore[no-untyped-def]
        async with self.db.transaction() as session:
            icp = await service.get(
                session=session, org_id=context.require_org(), icp_id=parse_id(request.icp_id, "ICP")
            )
            return icp_pb2.GetIcpResponse(icp=icp_to_proto(icp))

    async def UpdateIcp(self, request, ctx):  # type: ignore[no-untyped-def]
        async with self.db.transaction() as session:
            icp, min_score_changed = await service.update(
                session=session,
                org_id=context.require_org(),
                icp_id=parse_id(request.icp_id, "ICP"),
                name=request.name,
                rules=rules_from_proto(request.rules),
            )
            reply = icp_pb2.UpdateIcpResponse(icp=icp_to_proto(icp))
            if min_score_changed:
                # Which leads are hidden follows the minimum the ICP has: applied before the ICP is saved, so a
                # leads service that cannot be asked saves nothing (the user tries again) rather than a minimum
                # its leads do not follow.
                applied = await self._apply_min_score(icp.id, icp.min_score)
                reply.leads_hidden, reply.leads_shown = applied.hidden, applied.shown
            return reply

    async def _apply_min_score(self, icp_id: uuid.UUID, min_score: int) -> leads_pb2.ApplyMinScoreResponse:
        try:
            return await self.leads.ApplyMinScore(
                leads_pb2.ApplyMinScoreRequest(icp_id=str(icp_id), min_score=min_score),
                timeout=self.settings.leads_call_timeout_s,
            )
        except grpc.aio.AioRpcError as error:
            if error.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                raise Unavailable(
                    "the leads service did not answer, so the new minimum score was not saved; try again"
                ) from None
            raise

    async def DeleteIcp(self, request, ctx):  # type: ignore[no-untyped-def]
        # The delete cascades to the ICP's runs and then their pages, while a run under way marks a page
        # delivered and then updates its run: opposite orders, so either may be a deadlock's victim.
        async for attempt in deadlock_retries():
            with attempt:
                async with self.db.transaction() as session:
                    await service.remove(
                        session=session, org_id=context.require_org(), icp_id=parse_id(request.icp_id, "ICP")
                    )
        return icp_pb2.DeleteIcpResponse()

    async def StartSearch(self, request, ctx):  # type: ignore[no-untyped-def]
        source = require_provider(
            field="source", choice=request.source or "sandbox", known=SOURCES, settings=self.settings,
            keys=KEY_FOR, kind="search",
        )  # fmt: skip
        async with self.db.transaction() as session:
            run, existing = await service.start_search(
                session=session,
                org_id=context.require_org(),
                icp_id=parse_id(request.icp_id, "ICP"),
                source=source,
                limit=request.limit or 100,
                force=request.force,
                per_page=MAX_PER_PAGE[source],
                search_kind=RunSearch,
                max_attempts=self.settings.job_max_attempts,
                today=dt.datetime.now(dt.UTC).date(),
            )
            return icp_pb2.StartSearchResponse(run=run_to_proto(run), existing=existing)

    async def GetSearchRun(self, request, ctx):  # type: ignore[no-untyped-def]
        async with self.db.transaction() as session:
            run = await service.get_run(
                session=session,
                org_id=context.require_org(),
                icp_id=parse_id(request.icp_id, "ICP"),
                run_id=parse_id(request.run_id, "search run"),
            )
            return icp_pb2.GetSearchRunResponse(run=run_to_proto(run))

    async def ListSearchRuns(self, request, ctx):  # type: ignore[no-untyped-def]
        async with self.db.snapshot() as session:
            runs, cursor, counted = await service.list_runs(
                session=session, org_id=context.require_org(), icp_id=parse_id(request.icp_id, "ICP"),
                size=request.page_size or 50, cursor=request.cursor, with_total=request.with_total,
            )  # fmt: skip
            reply = icp_pb2.ListSearchRunsResponse(runs=[run_to_proto(run) for run in runs], next_cursor=cursor)
        if counted is not None:
            reply.total, reply.total_capped = counted
        return reply

    async def CancelSearchRun(self, request, ctx):  # type: ignore[no-untyped-def]
        async with self.db.transaction() as session:
            run = await service.cancel_run(
                session=session,
                org_id=context.require_org(),
                icp_id=parse_id(request.icp_id, "ICP"),
                run_id=parse_id(request.run_id, "search run"),
            )
            return icp_pb2.CancelSearchRunResponse(run=run_to_proto(run))
