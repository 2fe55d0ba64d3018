"""A page of sourced people reads the same as columns (how pages are sent) or as messages (pages stored before)."""

from __future__ import annotations

import pytest

from leadflood.icp.v1 import icp_pb2
from leadflood.leads.v1 import leads_pb2
from leadflood_platform.errors import InvalidArgument
from leads.sourcing import prepare

RULES = icp_pb2.IcpRules(titles=["VP Sales"], locations=["Berlin"], min_score=40)
PEOPLE = [
    leads_pb2.SourcedPerson(
        external_id="p1", email=" Ada@Example.com ", first_name="Ada", last_name="Lovelace", title="VP Sales",
        seniority="vp", company_name="Acme ", company_domain="acme.com", industry="Software", company_size=120,
        location="Berlin, Germany", linkedin_url="https://www.linkedin.com/in/ada",
    ),
    leads_pb2.SourcedPerson(external_id="p2", first_name="Bo", title="Intern", location="Suva, Fiji"),  # no email
    leads_pb2.SourcedPerson(external_id="p3", email="ada@example.com", first_name="Ada"),  # Ada again
    leads_pb2.SourcedPerson(external_id="p4", email="nobody@example.com"),  # no name
    leads_pb2.SourcedPerson(email="not an address", first_name="Cy"),  # nothing to de-duplicate on
]  # fmt: skip
FIELDS = tuple(leads_pb2.SourcedPeople.DESCRIPTOR.fields_by_name)


def as_columns(people: list[leads_pb2.SourcedPerson]) -> leads_pb2.UpsertSourcedLeadsRequest:
    request = leads_pb2.UpsertSourcedLeadsRequest(rules=RULES)
    for name in FIELDS:
        getattr(request.columns, name).extend(getattr(person, name) for person in people)
    return request


def test_columns_and_messages_prepare_alike() -> None:
    from_columns = prepare(as_columns(PEOPLE))
    assert from_columns == prepare(leads_pb2.UpsertSourcedLeadsRequest(rules=RULES, people=PEOPLE))
    assert {k: from_columns.counts[k] for k in ("fetched", "duplicates", "failed")} == {
        "fetched": 5,
        "duplicates": 1,
        "failed": 2,
    }
    ada = from_columns.rows["ada@example.com"]
    assert (ada.external_id, ada.company_name, ada.company_size, ada.location) == ("p1", "Acme", 120, "Berlin, Germany")
    assert from_columns.rows["external:p2"].email is None


def test_columns_every_field_lists_every_person_or_the_page_is_refused() -> None:
    request = as_columns(PEOPLE)
    request.columns.email.append("extra@example.com")
    with pytest.raises(InvalidArgument) as refused:
        prepare(request)
    assert [violation.field for violation in refused.value.violations] == ["columns"]


def test_a_page_of_nobody_is_empty() -> None:
    prepared = prepare(leads_pb2.UpsertSourcedLeadsRequest(rules=RULES))
    assert (prepared.rows, prepared.counts["fetched"]) == ({}, 0)
