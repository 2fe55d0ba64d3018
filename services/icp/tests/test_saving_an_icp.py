"""Saving an ICP through its servicer, on a scratch database migrated like the icp service's, with the leads service
stood in for: every mistake is said in one answer, and a new minimum score is applied to the ICP's leads before it is
saved (nothing saved when the leads service cannot be asked)."""

from __future__ import annotations

import uuid

import grpc
import pytest

from icp.config import IcpSettings
from icp.servicer import IcpServicer
from leadflood.icp.v1 import icp_pb2
from leadflood.leads.v1 import leads_pb2
from leadflood_platform import context
from leadflood_platform.db import Database
from leadflood_platform.errors import InvalidArgument, Unavailable
from services.icp.tests.test_page_delivery import _migrated


class StandInLeads:
    """The leads service's ApplyMinScore: what it was asked, its answer, or a failure."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, int]] = []
        self.failing: grpc.StatusCode | None = None

    async def ApplyMinScore(self, request: leads_pb2.ApplyMinScoreRequest, **call: object) -> object:  # noqa: N802
        self.asked.append((request.icp_id, request.min_score))
        if self.failing is not None:
            raise grpc.aio.AioRpcError(self.failing, grpc.aio.Metadata(), grpc.aio.Metadata(), details="down")
        return leads_pb2.ApplyMinScoreResponse(hidden=3, shown=1)


def rules(**changes: object) -> icp_pb2.IcpRules:
    return icp_pb2.IcpRules(**({"titles": ["VP Sales"], "min_score": 40} | changes))


async def test_an_icp_s_new_minimum_is_applied_to_its_leads_as_it_is_saved(scratch_dsn: str) -> None:
    await _migrated(scratch_dsn)
    db, leads = Database(scratch_dsn, pool_size=2), StandInLeads()
    settings = IcpSettings(database_url=scratch_dsn)
    servicer = IcpServicer(db, settings, leads)  # type: ignore[arg-type]
    try:
        with context.bound(org_id=str(uuid.uuid4())):
            made = (await servicer.CreateIcp(icp_pb2.CreateIcpRequest(name="Sales", rules=rules()), None)).icp
            assert leads.asked == []  # a new ICP has no leads

            def update(**changes: object) -> icp_pb2.UpdateIcpRequest:
                return icp_pb2.UpdateIcpRequest(icp_id=made.id, name="Sales", rules=rules(**changes))

            saved = await servicer.UpdateIcp(update(min_score=60), None)
            assert leads.asked == [(made.id, 60)]
            assert (saved.icp.rules.min_score, saved.leads_hidden, saved.leads_shown) == (60, 3, 1)

            # Other rules change no score the minimum hides by: the leads service is not asked.
            saved = await servicer.UpdateIcp(update(min_score=60, titles=["CTO"]), None)
            assert len(leads.asked) == 1 and (saved.leads_hidden, saved.leads_shown) == (0, 0)

            # The leads service away: nothing is saved, and the user is told to try again.
            leads.failing = grpc.StatusCode.UNAVAILABLE
            with pytest.raises(Unavailable, match="not saved; try again"):
                await servicer.UpdateIcp(update(min_score=80, titles=["CEO"]), None)
            kept = (await servicer.GetIcp(icp_pb2.GetIcpRequest(icp_id=made.id), None)).icp.rules
            assert (kept.min_score, list(kept.titles)) == (60, ["CTO"])
    finally:
        await db.close()


async def test_every_mistake_is_said_at_once_the_name_s_among_them(scratch_dsn: str) -> None:
    await _migrated(scratch_dsn)
    db = Database(scratch_dsn, pool_size=1)
    servicer = IcpServicer(db, IcpSettings(database_url=scratch_dsn), StandInLeads())  # type: ignore[arg-type]
    bad = icp_pb2.IcpRules(titles=[], company_size_min=500, company_size_max=50, min_score=40)
    try:
        with context.bound(org_id=str(uuid.uuid4())), pytest.raises(InvalidArgument) as caught:
            await servicer.CreateIcp(icp_pb2.CreateIcpRequest(name=" ", rules=bad), None)
        assert {v.field for v in caught.value.violations} == {"name", "titles", "company_size_min"}
    finally:
        await db.close()
