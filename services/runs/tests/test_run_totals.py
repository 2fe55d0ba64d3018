"""The runs list's total: the org's own runs, exact up to the cap, then capped; pages never repeat a run."""

from __future__ import annotations

import uuid

from leadflood_platform.db import Database
from runs import service
from runs.models import CREATED
from services.runs.tests.conftest import make_run


async def test_the_org_s_runs_are_counted_exactly_then_capped(db: Database) -> None:
    org, other = uuid.uuid4(), uuid.uuid4()
    made = [(await make_run(db, org, state=CREATED))[0].id for _ in range(7)]
    await make_run(db, other, state=CREATED)
    async with db.transaction() as session:
        assert await service.total(session, org_id=org) == (7, False)
        assert await service.total(session, org_id=other) == (1, False)  # another org's runs are not counted
        assert await service.total(session, org_id=uuid.uuid4()) == (0, False)
        assert await service.total(session, org_id=org, cap=5) == (5, True)  # past the cap: "5+"
        assert await service.total(session, org_id=org, cap=7) == (7, False)  # exactly the cap is exact

        # What the total counts is what the pages list, over all of them.
        first = await service.page(session, org_id=org, size=4, before=None)
        rest = await service.page(session, org_id=org, size=4, before=first[-1].created_at)
    assert sorted(run.id for run in first + rest) == sorted(made)
