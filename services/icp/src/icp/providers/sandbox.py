"""The embedded default search provider: a large, repeatable, imperfect pool of synthetic people, no network.

Each slot of the pool is one person, derived from the ICP's seed and the slot number alone, so any page is
the same on every call and a duplicate can name the very person it repeats. The gaps are the ones real data
has: about 10% with no email, 8% (from page 2 on) repeats of someone on an earlier page, 25% outside the ICP
on one or more fields, and 5% of emails in odd case or with stray spaces.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from icp.providers.base import Page, Person, SearchQuery

POOL_SIZE = 250_000
DUPLICATE, OUTSIDE, NO_EMAIL, MESSY_EMAIL = 0.08, 0.25, 0.10, 0.05

FIRST = tuple(
    "Ada Alan Amara Ana Ben Carla Chen Dana David Elena Emma Felix Grace Hana Hugo Ines Ivan Jamal Jana Jonas Julia "
    "Kai Lara Leo Lina Luca Maya Marco Mei Mila Nadia Noah Nora Omar Oscar Paula Priya Rafael Rosa Sam Sara Sofia "
    "Tariq Theo Uma Victor Yara Zoe".split()
)
LAST = tuple(
    "Abbott Adeyemi Bauer Becker Brooks Costa Dubois Evans Fischer Garcia Haddad Hansen Ito Jensen Kim Kowalski "
    "Larsen Lopez Mehta Meyer Moreau Murphy Nakamura Novak Okafor Olsen Patel Perez Quinn Rossi Sato Schmidt Silva "
    "Singh Smith Tanaka Torres Vargas Weber Wong Yilmaz Young Zhang Ziegler Nilsson Popescu Horvat Kaplan".split()
)
COMPANY_HEAD = tuple(
    "Acme Apex Blue Bright Cedar Clear Core Delta Echo Ever Fair First Green Harbor Iron Keystone Lumen Maple "
    "Nimbus North Orbit Pine Quantum Red Silver Summit Terra True Union Vertex West Zen".split()
)
COMPANY_TAIL = tuple(
    "Analytics Labs Systems Works Health Logistics Capital Cloud Foods Robotics Media Energy Bio Data Tech Retail "
    "Security".split()
)
TITLES = (
    "Chief Executive Officer", "Chief Technology Officer", "VP Sales", "VP Marketing", "Head of Growth",
    "Head of Engineering", "Director of Operations", "Sales Director", "Marketing Manager", "Engineering Manager",
    "Senior Account Executive", "Senior Software Engineer", "Product Manager", "Customer Success Manager",
)  # fmt: skip
OUTSIDE_TITLES = ("Intern", "Office Assistant", "Student", "Receptionist", "Junior Analyst")
COMPANIES = tuple((f"{head} {tail}", f"{head}{tail}.com".lower()) for head in COMPANY_HEAD for tail in COMPANY_TAIL)
# Each first and last name with the strings made of them, worked out once rather than once per person:
# (first name, last name, the email's local part, the LinkedIn URL up to the person's own suffix).
NAMES = tuple(
    (first, last, f"{first}.{last}".lower(), f"https://www.linkedin.com/in/{first}-{last}-".lower())
    for first in FIRST
    for last in LAST
)
SENIORITIES = ("c_suite", "vp", "head", "director", "manager", "senior", "entry")
INDUSTRIES = ("Software", "Fintech", "Healthcare", "Logistics", "Manufacturing", "Retail", "Media", "Education")
OUTSIDE_INDUSTRIES = ("Government", "Nonprofit", "Agriculture", "Mining")
LOCATIONS = (
    "Berlin, Germany", "London, United Kingdom", "New York, NY, United States", "Austin, TX, United States",
    "Toronto, ON, Canada", "Amsterdam, Netherlands", "Paris, France", "Madrid, Spain",
)  # fmt: skip
OUTSIDE_LOCATIONS = ("Reykjavik, Iceland", "Ulaanbaatar, Mongolia", "Nuuk, Greenland", "Suva, Fiji")
SENIORITY_WORDS = (
    ("chief", "c_suite"),
    ("vp", "vp"),
    ("head", "head"),
    ("director", "director"),
    ("manager", "manager"),
)

_U64 = np.uint64


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser over an array of 64-bit words: each slot gets its own well-spread 64 bits.

    numpy's unsigned multiplication wraps modulo 2**64, as the algorithm wants.
    """
    x = x + _U64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> _U64(30))) * _U64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> _U64(27))) * _U64(0x94D049BB133111EB)
    return x ^ (x >> _U64(31))


def _share(rate: float) -> float:
    """The bound under which `rate` of all values of 16 random bits fall: `(bits & 0xFFFF) < _share(rate)`."""
    return rate * 0x10000


OUTSIDE_SHARE, NO_EMAIL_SHARE, MESSY_EMAIL_SHARE = _share(OUTSIDE), _share(NO_EMAIL), _share(MESSY_EMAIL)


def _outside(pool: tuple[str, ...], chosen: tuple[str, ...]) -> tuple[str, ...]:
    taken = {value.casefold() for value in chosen}
    return tuple(value for value in pool if value.casefold() not in taken)


@dataclass(frozen=True)
class _Choices:
    """What one query allows, and what misses it, worked out once per page rather than once per person."""

    titles: tuple[str, ...]
    levels: tuple[str, ...]  # the query's seniorities, or else each title's own level
    level_follows_title: bool
    industries: tuple[str, ...]
    locations: tuple[str, ...]
    size_low: int
    size_high: int
    # Each field the query constrains, with values that miss it (for company_size: ranges that do).
    misses: tuple[tuple[str, tuple[Any, ...]], ...]

    @classmethod
    def of(cls, q: SearchQuery) -> _Choices:
        low = q.company_size_min or 1
        high = max(q.company_size_max or 10_000, low)
        misses: list[tuple[str, tuple[Any, ...]]] = []
        if q.titles:
            misses.append(("title", _outside(TITLES + OUTSIDE_TITLES, q.titles) or OUTSIDE_TITLES))
        if q.seniorities:
            misses.append(("seniority", _outside(SENIORITIES + ("intern",), q.seniorities) or ("intern",)))
        if q.industries:
            misses.append(("industry", _outside(INDUSTRIES + OUTSIDE_INDUSTRIES, q.industries) or OUTSIDE_INDUSTRIES))
        if q.locations:
            misses.append(("location", _outside(LOCATIONS + OUTSIDE_LOCATIONS, q.locations) or OUTSIDE_LOCATIONS))
        sizes = ((1, low - 1),) if low > 1 else ()
        sizes += ((high + 1, high * 4),) if q.company_size_max is not None else ()
        if sizes:
            misses.append(("company_size", sizes))
        titles = q.titles or TITLES
        return cls(
            titles=titles,
            levels=q.seniorities or tuple(_seniority(title) for title in titles),
            level_follows_title=not q.seniorities,
            industries=q.industries or INDUSTRIES,
            locations=q.locations or LOCATIONS,
            size_low=low,
            size_high=high,
            misses=tuple(misses),
        )


class SandboxSearch:
    name = "sandbox"
    max_per_page = 1000

    def __init__(self, duplicate_rate: float = DUPLICATE) -> None:
        # Adjustable so the ingest benchmark can ask for the 20% duplicates it measures with.
        self.duplicate_rate = duplicate_rate

    async def search(self, query: SearchQuery, *, page: int, per_page: int) -> Page:
        if page < 1:
            raise ValueError("pages are numbered from 1")
        per_page = max(1, min(per_page, self.max_per_page))
        seed = int.from_bytes(hashlib.blake2b(query.seed.encode(), digest_size=8).digest(), "big")
        choices = _Choices.of(query)
        start = (page - 1) * per_page
        stop = min(start + per_page, POOL_SIZE)
        people: list[Person] = []
        if start < stop:
            columns = _people(seed, start, stop, per_page, choices, _share(self.duplicate_rate))
            people = list(map(Person._make, zip(*columns, strict=True)))  # the columns are in Person's field order
        return Page(number=page, people=people, total_pages=math.ceil(POOL_SIZE / per_page))


# The lists people are drawn from, as arrays: a page picks its names in one indexing each.
_NAME_COLUMNS = tuple(np.array(column, dtype=object) for column in zip(*NAMES, strict=True))
_COMPANY_COLUMNS = tuple(np.array(column, dtype=object) for column in zip(*COMPANIES, strict=True))


def _people(
    seed: int, start: int, stop: int, per_page: int, c: _Choices, duplicate_share: float
) -> tuple[list[Any], ...]:
    """The people of slots start..stop-1, as columns in Person's field order.

    Array arithmetic for what every person needs, and a loop over only the people with a gap: outside the
    ICP, no email or a messy one, a repeat. A page of 1,000 took 3.2-3.7 ms, against 5.9-9.3 ms person by
    person (the bench's own timing, interleaved); the search worker's CPU per ingest run fell by a sixth.
    """
    slot = np.arange(start, stop, dtype=_U64)
    bits = _mix(_U64(seed) ^ slot)
    repeat = np.zeros_like(bits)  # a repeat's own bits: they choose how its title is recased
    # A duplicate slot shows someone from an earlier page; follow the chain back to a slot that is nobody's copy.
    first_of_page = slot - slot % _U64(per_page)

    def copies(at: np.ndarray) -> np.ndarray:  # those of the slots at `at` that repeat someone earlier
        return at[(first_of_page[at] > 0) & ((bits[at] & _U64(0xFFFF)) < duplicate_share)]

    chasing = copies(np.arange(len(slot)))
    while chasing.size:
        own = bits[chasing]
        repeat[chasing] = np.where(repeat[chasing] == 0, own, repeat[chasing])
        slot[chasing] = (own >> _U64(16)) % first_of_page[chasing]
        bits[chasing] = _mix(_U64(seed) ^ slot[chasing])
        first_of_page[chasing] = slot[chasing] - slot[chasing] % _U64(per_page)
        chasing = copies(chasing)
    # Independent picks from one random word read as a number in mixed radix; what is left of it, the size.
    word = _mix(bits)
    gaps = _mix(word)
    picks = []
    for size in (len(NAMES), len(COMPANIES), len(c.titles), len(c.levels), len(c.industries), len(c.locations)):
        picks.append((word % _U64(size)).astype(np.intp))
        word = word // _U64(size)
    name_at, company_at, title_at, level_at, industry_at, location_at = picks
    first_name, last_name, local, linkedin = (column[name_at].tolist() for column in _NAME_COLUMNS)
    company_name, domain = (column[company_at].tolist() for column in _COMPANY_COLUMNS)
    title = np.array(c.titles, dtype=object)[title_at].tolist()
    seniority = np.array(c.levels, dtype=object)[title_at if c.level_follows_title else level_at].tolist()
    industry = np.array(c.industries, dtype=object)[industry_at].tolist()
    location = np.array(c.locations, dtype=object)[location_at].tolist()
    size = (_U64(c.size_low) + word % _U64(c.size_high - c.size_low + 1)).tolist()
    if c.misses:
        # Outside the ICP on one or more of the fields it constrains, so scores spread out.
        outside = np.flatnonzero((gaps & _U64(0xFFFF)) < OUTSIDE_SHARE)
        for i, miss_word in zip(outside.tolist(), _mix(gaps[outside]).tolist(), strict=True):
            miss_word, count = divmod(miss_word, len(c.misses))
            miss_word, first = divmod(miss_word, len(c.misses))
            for step in range(count + 1):
                field, values = c.misses[(first + step) % len(c.misses)]
                miss_word, value_at = divmod(miss_word, len(values))
                miss = values[value_at]
                if field == "company_size":
                    size[i] = miss[0] + miss_word % (miss[1] - miss[0] + 1)
                elif field == "title":
                    title[i] = miss
                    seniority[i] = _seniority(miss) if c.level_follows_title else seniority[i]
                elif field == "seniority":
                    seniority[i] = miss
                elif field == "industry":
                    industry[i] = miss
                else:
                    location[i] = miss
    email: list[str | None] = [f"{name}@{at}" for name, at in zip(local, domain, strict=True)]
    no_email = ((gaps >> _U64(16)) & _U64(0xFFFF)) < NO_EMAIL_SHARE
    for i in np.flatnonzero(no_email).tolist():
        email[i] = None
    messy = np.flatnonzero(~no_email & (((gaps >> _U64(32)) & _U64(0xFFFF)) < MESSY_EMAIL_SHARE))
    for i, form in zip(messy.tolist(), ((gaps[messy] >> _U64(48)) % _U64(3)).tolist(), strict=True):
        clean = email[i]
        assert clean is not None
        email[i] = (f" {clean.upper()}", f"{first_name[i]}.{last_name[i]}@{domain[i].upper()} ", f"\t{clean}")[form]
    repeats = np.flatnonzero(repeat)
    for i, form in zip(repeats.tolist(), ((repeat[repeats] >> _U64(56)) % _U64(4)).tolist(), strict=True):
        # The same person seen again: the provider's record may differ in the title's case.
        title[i] = (str.upper, str.lower, str.title, str)[form](title[i])
    external_id = [f"sbx_{own:016x}" for own in bits.tolist()]
    linkedin = [url + own[-6:] for url, own in zip(linkedin, external_id, strict=True)]  # the id's last 6 hex digits
    return (
        external_id, first_name, last_name, email, title, seniority, company_name, domain, industry, size,
        location, linkedin,
    )  # fmt: skip


def _seniority(title: str) -> str:
    lowered = title.lower()
    return next(
        (level for word, level in SENIORITY_WORDS if word in lowered), "senior" if "senior" in lowered else "entry"
    )
