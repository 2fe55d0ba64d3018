"""The leads service's dashboard figures: leads created a day in a window, and the org's total."""

from __future__ import annotations

from sqlalchemy import and_, func, select

from leadflood.leads.v1 import stats_pb2, stats_pb2_grpc
from leadflood_platform import context
from leadflood_platform.day_window import DayWindow
from leadflood_platform.db import Database
from leads.models import Lead


class LeadStatsServicer(stats_pb2_grpc.LeadStatsServiceServicer):
    def __init__(self, db: Database) -> None:
        self.db = db

    async def GetLeadStats(self, request, ctx):  # type: ignore[no-untyped-def]
        window, org_id = DayWindow.parse(request.days, request.time_zone), context.require_org()
        start, end = window.span()
        day = func.date(func.timezone(window.zone.key, Lead.created_at))
        async with self.db.transaction() as session:
            total = await session.scalar(select(func.count()).select_from(Lead).where(Lead.org_id == org_id))
            result = await session.execute(
                select(day, func.count())
                .where(and_(Lead.org_id == org_id, Lead.created_at >= start, Lead.created_at < end))
                .group_by(day)
            )
            counted = {found_day: count for found_day, count in result.all()}
        days = [stats_pb2.LeadDay(day=d.isoformat(), created=counted.get(d, 0)) for d in window.days]
        return stats_pb2.GetLeadStatsResponse(days=days, total=total or 0, in_window=sum(d.created for d in days))
