"""ICP rules: typed validation naming each field, normalisation, and the search idempotency key."""

from __future__ import annotations

import datetime as dt

import pytest

from icp.config import IcpSettings
from icp.rules import DEFAULT_WEIGHTS, Rules, search_key, validate_profile
from icp.servicer import IcpServicer
from leadflood.icp.v1 import icp_pb2
from leadflood_platform import context
from leadflood_platform.errors import InvalidArgument, Unavailable


def fields_at_fault(rules: Rules, name: str = "An ICP") -> set[str]:
    with pytest.raises(InvalidArgument) as caught:
        validate_profile(name, rules)
    return {v.field for v in caught.value.violations}


def test_each_mistake_names_its_field() -> None:
    assert fields_at_fault(Rules(titles=[])) == {"titles"}
    assert fields_at_fault(Rules(titles=["CTO"], company_size_min=500, company_size_max=50)) == {"company_size_min"}
    assert fields_at_fault(Rules(titles=["CTO"], seniorities=["wizard"])) == {"seniorities"}
    assert fields_at_fault(Rules(titles=["CTO"], min_score=101)) == {"min_score"}
    assert fields_at_fault(Rules(titles=["CTO"], weights={**DEFAULT_WEIGHTS, "title": 31})) == {"weights"}
    assert fields_at_fault(Rules(titles=["CTO", " "], industries=["x" * 101])) == {"titles", "industries"}


def test_a_missing_name_is_said_with_every_other_mistake_at_once() -> None:
    """An empty name stopped the check before the rest: a form was told one mistake a round."""
    rules = Rules(titles=[], company_size_min=500, company_size_max=50)
    with pytest.raises(InvalidArgument) as caught:
        validate_profile("  ", rules)
    said = {v.field: v.message for v in caught.value.violations}
    assert said == {
        "name": "is required",
        "titles": "must list at least one job title",
        "company_size_min": "must not be more than max employees (50)",  # the box's name, not the field's
    }
    assert fields_at_fault(Rules(titles=["CTO"]), name="x" * 201) == {"name"}
    assert fields_at_fault(Rules(titles=["CTO"]), name="a\x00b") == {"name"}


def test_lists_and_the_name_are_trimmed_and_deduplicated_case_insensitively() -> None:
    name, rules = validate_profile(
        " CTOs ", Rules(titles=[" VP Sales", "vp sales ", "CTO"], seniorities=["VP", "vp"], keywords=["SaaS", "saas"])
    )
    assert name == "CTOs"
    assert (rules.titles, rules.seniorities, rules.keywords) == (["VP Sales", "CTO"], ["vp"], ["SaaS"])


def test_search_key_ignores_order_and_case_but_not_the_day_or_limit() -> None:
    day = dt.date(2026, 11, 23)
    a = search_key(icp_id="i", source="sandbox", limit=100, rules=Rules(titles=["CTO", "VP Sales"]), day=day)
    b = search_key(icp_id="i", source="sandbox", limit=100, rules=Rules(titles=["vp sales", "cto"]), day=day)
    assert a == b
    assert a != search_key(icp_id="i", source="sandbox", limit=100, rules=Rules(titles=["CTO"]), day=day)
    assert a != search_key(
        icp_id="i", source="sandbox", limit=100, rules=Rules(titles=["CTO", "VP Sales"]), day=day + dt.timedelta(1)
    )
    assert a != search_key(icp_id="i", source="sandbox", limit=200, rules=Rules(titles=["CTO", "VP Sales"]), day=day)


async def test_apollo_without_a_key_is_refused_before_anything_is_queued(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("APOLLO_API_KEY", raising=False)
    settings = IcpSettings(database_url="postgresql://icp_svc@127.0.0.1:1/none")
    servicer = IcpServicer(db=None, settings=settings, leads=None)  # type: ignore[arg-type]
    request = icp_pb2.StartSearchRequest(icp_id="00000000-0000-0000-0000-000000000001", source="apollo", limit=10)
    with context.bound(org_id="00000000-0000-0000-0000-000000000002"), pytest.raises(Unavailable) as caught:
        await servicer.StartSearch(request, None)
    assert "APOLLO_API_KEY" in caught.value.message
