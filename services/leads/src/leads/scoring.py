"""Scores a person against an ICP's rules, explaining each rule, so a user can see why a lead ranks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from leadflood.icp.v1 import icp_pb2

WEIGHT_FIELDS = ("title", "seniority", "industry", "company_size", "location", "keyword")


@dataclass(frozen=True)
class Scorer:
    """The rules lower-cased once per batch, so scoring a page of people stays cheap."""

    titles: tuple[str, ...]
    seniorities: frozenset[str]
    industries: frozenset[str]
    size_min: int | None
    size_max: int | None
    locations: tuple[str, ...]
    keywords: tuple[str, ...]
    min_score: int
    weights: dict[str, int]

    @classmethod
    def from_rules(cls, rules: icp_pb2.IcpRules) -> Scorer:
        return cls(
            titles=tuple(t.lower() for t in rules.titles),
            seniorities=frozenset(s.lower() for s in rules.seniorities),
            industries=frozenset(i.lower() for i in rules.industries),
            size_min=rules.company_size_min or None,
            size_max=rules.company_size_max or None,
            locations=tuple(loc.lower() for loc in rules.locations),
            keywords=tuple(k.lower() for k in rules.keywords),
            min_score=rules.min_score,
            weights={name: getattr(rules.weights, name) for name in WEIGHT_FIELDS},
        )

    def score(self, person: dict[str, Any]) -> tuple[int, list[dict[str, Any]], bool]:
        """(score 0-100, one explanation row per rule, filtered = under the ICP's minimum)."""
        title = (person.get("title") or "").lower()
        location = (person.get("location") or "").lower()
        industry = (person.get("industry") or "").lower()
        size = person.get("company_size") or None
        rows = [
            self._rule("title", self.titles, lambda: next((t for t in self.titles if t in title), None)),
            self._rule("seniority", self.seniorities, lambda: self._member(person.get("seniority"), self.seniorities)),
            self._rule("industry", self.industries, lambda: self._member(person.get("industry"), self.industries)),
            self._size_rule(size),
            self._rule("location", self.locations, lambda: next((c for c in self.locations if c in location), None)),
            self._rule("keyword", self.keywords, lambda: self._keyword(title, industry, person)),
        ]
        total = sum(row["weight"] for row in rows if row["matched"])
        return total, rows, total < self.min_score

    def _rule(self, name: str, wanted: Any, find: Any) -> dict[str, Any]:
        weight = self.weights[name]
        if not wanted:
            return {"rule": name, "matched": True, "weight": weight, "detail": f"the ICP accepts any {name}"}
        found = find()
        detail = f"matched {found!r}" if found else f"no {name} match"
        return {"rule": name, "matched": bool(found), "weight": weight, "detail": detail}

    def _size_rule(self, size: int | None) -> dict[str, Any]:
        weight = self.weights["company_size"]
        if self.size_min is None and self.size_max is None:
            return {"rule": "company_size", "matched": True, "weight": weight, "detail": "the ICP accepts any size"}
        if size is None:
            return {"rule": "company_size", "matched": False, "weight": weight, "detail": "company size unknown"}
        matched = (self.size_min is None or size >= self.size_min) and (self.size_max is None or size <= self.size_max)
        bounds = f"{self.size_min or 0}-{self.size_max or '∞'}"
        return {"rule": "company_size", "matched": matched, "weight": weight, "detail": f"{size} employees vs {bounds}"}

    @staticmethod
    def _member(value: str | None, wanted: frozenset[str]) -> str | None:
        return value if value and value.lower() in wanted else None

    def _keyword(self, title: str, industry: str, person: dict[str, Any]) -> str | None:
        haystack = f"{title} {industry} {(person.get('company_name') or '').lower()}"
        return next((k for k in self.keywords if k in haystack), None)
