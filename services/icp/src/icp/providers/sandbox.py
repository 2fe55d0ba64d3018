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

_M64 = (1 << 64) - 1


def _mix(x: int) -> int:
    """wyrand's step: one 128-bit product, folded in half, gives each slot its own well-spread 64 bits.

    Python pays per integer operation; this takes half the operations of splitmix64's two multiplications.
    """
    x = (x + 0xA0761D6478BD642F) & _M64
    product = x * (x ^ 0xE7037ED1A0B428DB)
    return (product >> 64) ^ (product & _M64)


def _share(rate: float) -> float:
    """The bound under which `rate` of all values of 16 random bits fall: `(bits & 0xFFFF) < _share(rate)`.

    Compared inline, not in a function: a call per chance per person was 5% of making a page.
    """
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
        duplicate_share = _share(self.duplicate_rate)
        people = [
            _person(seed, slot, per_page, choices, duplicate_share)
            for slot in range(start, min(start + per_page, POOL_SIZE))
        ]
        return Page(number=page, people=people, total_pages=math.ceil(POOL_SIZE / per_page))


def _person(seed: int, slot: int, per_page: int, choices: _Choices, duplicate_share: float) -> Person:
    bits = _mix(seed ^ slot)
    repeat = 0
    # A duplicate slot shows someone from an earlier page; follow the chain back to a slot that is nobody's copy.
    while (first_of_page := slot - slot % per_page) > 0 and (bits & 0xFFFF) < duplicate_share:
        slot, repeat = (bits >> 16) % first_of_page, repeat or bits
        bits = _mix(seed ^ slot)
    return _build(bits, choices, repeat)


def _build(bits: int, c: _Choices, recased: int) -> Person:
    # Independent picks from one random word read as a number in mixed radix; what is left of it, the size.
    names = _mix(bits)
    gaps = _mix(names)
    word, name_at = divmod(names, len(NAMES))
    word, company_at = divmod(word, len(COMPANIES))
    word, title_at = divmod(word, len(c.titles))
    word, level_at = divmod(word, len(c.levels))
    word, industry_at = divmod(word, len(c.industries))
    rest, location_at = divmod(word, len(c.locations))
    first_name, last_name, local, linkedin = NAMES[name_at]
    company_name, domain = COMPANIES[company_at]
    title, industry, location = c.titles[title_at], c.industries[industry_at], c.locations[location_at]
    seniority = c.levels[title_at] if c.level_follows_title else c.levels[level_at]
    size = c.size_low + rest % (c.size_high - c.size_low + 1)
    if c.misses and (gaps & 0xFFFF) < OUTSIDE_SHARE:
        # Outside the ICP on one or more of the fields it constrains, so scores spread out.
        word = _mix(gaps)
        word, count = divmod(word, len(c.misses))
        word, start = divmod(word, len(c.misses))
        for step in range(count + 1):
            field, values = c.misses[(start + step) % len(c.misses)]
            word, value_at = divmod(word, len(values))
            miss = values[value_at]
            if field == "company_size":
                size = miss[0] + word % (miss[1] - miss[0] + 1)
            elif field == "title":
                title = miss
                seniority = _seniority(miss) if c.level_follows_title else seniority
            elif field == "seniority":
                seniority = miss
            elif field == "industry":
                industry = miss
            else:
                location = miss
    email: str | None = f"{local}@{domain}"
    if (gaps >> 16) & 0xFFFF < NO_EMAIL_SHARE:
        email = None
    elif (gaps >> 32) & 0xFFFF < MESSY_EMAIL_SHARE:
        email = (f" {email.upper()}", f"{first_name}.{last_name}@{domain.upper()} ", f"\t{email}")[(gaps >> 48) % 3]
    if recased:  # the same person seen again: the provider's record may differ in the title's case
        title = (str.upper, str.lower, str.title, str)[(recased >> 56) % 4](title)
    external_id = f"sbx_{bits:016x}"
    # In field order: a named tuple takes positional arguments for less than keywords.
    return Person(
        external_id,
        first_name,
        last_name,
        email,
        title,
        seniority,
        company_name,
        domain,
        industry,
        size,
        location,
        linkedin + external_id[-6:],  # the id's last 6 hex digits
    )


def _seniority(title: str) -> str:
    lowered = title.lower()
    return next(
        (level for word, level in SENIORITY_WORDS if word in lowered), "senior" if "senior" in lowered else "entry"
    )
