"""A fetched page as it is stored and sent to the leads service: the provider's people, as columns."""

from __future__ import annotations

from icp.providers.base import Person, SearchQuery
from icp.providers.sandbox import SandboxSearch
from icp.search import _people_bytes
from leadflood.leads.v1 import leads_pb2

QUERY = SearchQuery(("VP Sales",), ("vp",), ("Software",), ("Berlin",), (), None, None, seed="stored-pages")


async def test_the_stored_page_lists_every_person_in_order_column_by_column() -> None:
    people = (await SandboxSearch().search(QUERY, page=2, per_page=300)).people
    people.append(Person("x1", "Bo", "", None, "", "", "", "", "", None, "", ""))  # no email, no size
    columns = leads_pb2.UpsertSourcedLeadsRequest.FromString(_people_bytes(people)).columns
    names = Person._fields
    read_back = list(zip(*(getattr(columns, name) for name in names), strict=True))
    assert read_back == [tuple(person._replace(email=person.email or "", company_size=person.company_size or 0))
                         for person in people]  # fmt: skip
    assert any(person.email is None for person in people[:-1])  # the sandbox's own gaps are in the page too


def test_an_empty_page_is_an_empty_request() -> None:
    assert _people_bytes([]) == b""
