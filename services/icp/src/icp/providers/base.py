"""What every people-search provider takes and gives: a query from an ICP, pages of people."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Protocol

from leadflood_platform.http_retry import MissingProviderKey

__all__ = ["MissingProviderKey", "Page", "Person", "SearchProvider", "SearchQuery"]


@dataclass(frozen=True)
class SearchQuery:
    """An ICP's filters; an empty tuple or None means no filter on that field."""

    titles: tuple[str, ...]
    seniorities: tuple[str, ...]
    industries: tuple[str, ...]
    locations: tuple[str, ...]
    keywords: tuple[str, ...]
    company_size_min: int | None
    company_size_max: int | None
    seed: str  # the ICP id: the sandbox derives its people from it, so a search is repeatable


class Person(NamedTuple):
    """One person as a provider gave it.

    A named tuple rather than a frozen dataclass: as immutable, and made in a fraction of the time, which counts
    when the sandbox makes 1,000 a page.
    """

    external_id: str  # the provider's own id for the person
    first_name: str
    last_name: str
    email: str | None  # as the provider gave it, not normalised; None when it has none to give
    title: str
    seniority: str
    company_name: str
    company_domain: str
    industry: str
    company_size: int | None
    location: str
    linkedin_url: str


@dataclass(frozen=True)
class Page:
    number: int  # 1-based
    people: list[Person]
    total_pages: int

    @property
    def has_more(self) -> bool:
        return self.number < self.total_pages


class SearchProvider(Protocol):
    name: str
    max_per_page: int

    async def search(self, query: SearchQuery, *, page: int, per_page: int) -> Page: ...
