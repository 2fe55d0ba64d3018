"""Scores a person against an ICP's rules, explaining each rule, so a user can see why a lead ranks.

Sourcing scores a thousand people a page, but a page holds few distinct titles, industries and
places, so each rule's outcome is worked out once per distinct value and each distinct combination
of outcomes once per ICP: a person costs a few dictionary lookups. The explanation a combination
produces is content-addressed (`Verdict.explanation_id`): leads store that id, and the explanation
itself is stored once, however many leads share it.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from leadflood.icp.v1 import icp_pb2

WEIGHT_FIELDS = ("title", "seniority", "industry", "company_size", "location", "keyword")
# Memo tables grow with the distinct values seen; past this many entries one is started afresh.
MAX_MEMO = 50_000
# Scorers kept for the ICPs (rule sets) scored most recently, so a run's pages share their memos.
MAX_SCORERS = 64

_ANY, _UNKNOWN, _PARTLY = "any", "unknown", "partly"


@dataclass(frozen=True)
class Verdict:
    score: int  # 0-100
    filtered: bool  # under the ICP's minimum: kept and counted, hidden by default
    explanation: tuple[dict[str, Any], ...]  # one row per rule: rule, matched, weight, detail
    explanation_json: str  # canonical JSON of `explanation`, as stored
    explanation_id: int  # signed 64-bit content hash of `explanation_json`


def explanation_id(explanation_json: str) -> int:
    return int.from_bytes(hashlib.blake2b(explanation_json.encode(), digest_size=8).digest(), "big", signed=True)


@dataclass
class Scorer:
    """One ICP's rules, lower-cased once, with memos of rule outcomes and verdicts."""

    titles: tuple[str, ...]
    seniorities: frozenset[str]
    industries: frozenset[str]
    size_min: int | None
    size_max: int | None
    locations: tuple[str, ...]
    keywords: tuple[str, ...]
    min_score: int
    weights: dict[str, int]
    _found: dict[tuple[str, str], str | None] = field(default_factory=dict, repr=False)
    _verdicts: dict[tuple[Any, ...], Verdict] = field(default_factory=dict, repr=False)
    _by_values: dict[tuple[Any, ...], Verdict] = field(default_factory=dict, repr=False)

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

    def verdict(
        self,
        title: str,
        seniority: str,
        industry: str,
        size: int | None,
        location: str,
        company: str,
        size_max: int | None = None,
    ) -> Verdict:
        """`size_max` is the upper end when the size is a range (an enrichment's "51-200"), else None."""
        # Most people of a page repeat a combination seen before: one lookup on their raw values.
        seen = (
            title, seniority, industry, self._size_outcome(size, size_max), location, company if self.keywords else ""
        )  # fmt: skip
        verdict = self._by_values.get(seen)
        if verdict is None:
            outcomes = (
                self._outcome("title", title),
                self._outcome("seniority", seniority),
                self._outcome("industry", industry),
                seen[3],
                self._outcome("location", location),
                self._outcome("keyword", f"{title} {industry} {company}") if self.keywords else _ANY,
            )
            verdict = self._verdicts.get(outcomes)
            if verdict is None:
                verdict = _remember(self._verdicts, outcomes, self._explain(outcomes))
            _remember(self._by_values, seen, verdict)
        return verdict

    def _outcome(self, rule: str, value: str) -> str | None:
        """What the rule found in the value (the ICP's own word), `_ANY` if it has no such rule, or None."""
        memo_key = (rule, value)
        try:
            return self._found[memo_key]
        except KeyError:
            pass
        lowered = value.lower()
        found: str | None
        if rule == "title":
            found = next((t for t in self.titles if t in lowered), None) if self.titles else _ANY
        elif rule == "seniority":
            found = (value if lowered in self.seniorities else None) if self.seniorities else _ANY
        elif rule == "industry":
            found = (value if lowered in self.industries else None) if self.industries else _ANY
        elif rule == "location":
            found = next((c for c in self.locations if c in lowered), None) if self.locations else _ANY
        else:
            found = next((k for k in self.keywords if k in lowered), None)
        return _remember(self._found, memo_key, found)

    def _size_outcome(self, size: int | None, size_max: int | None = None) -> str | bool:
        if self.size_min is None and self.size_max is None:
            return _ANY
        if size is None:
            return _UNKNOWN
        low_ok = self.size_min is None or size >= self.size_min
        high_ok = self.size_max is None or (size_max or size) <= self.size_max
        if low_ok and high_ok:
            return True
        # A range matches only when the whole of it lies within the ICP's bounds; one that overlaps them
        # may or may not be a fit, and is said to be partly outside.
        top = size_max or size
        overlaps = (self.size_min is None or top >= self.size_min) and (self.size_max is None or size <= self.size_max)
        return _PARTLY if size_max is not None and overlaps else False

    def _explain(self, key: tuple[Any, ...]) -> Verdict:
        rows = []
        for rule, outcome in zip(WEIGHT_FIELDS, key, strict=True):
            weight = self.weights[rule]
            if outcome == _ANY:
                rows.append(
                    {
                        "rule": rule,
                        "matched": True,
                        "weight": weight,
                        "detail": f"the ICP accepts any {rule.replace('_', ' ')}",
                    }
                )
            elif rule == "company_size":
                rows.append(self._size_row(outcome, weight))
            else:
                detail = f"matched {outcome!r}" if outcome else f"no {rule.replace('_', ' ')} match"
                rows.append({"rule": rule, "matched": bool(outcome), "weight": weight, "detail": detail})
        total = sum(row["weight"] for row in rows if row["matched"])
        text = json.dumps(rows, separators=(",", ":"), ensure_ascii=False)
        return Verdict(total, total < self.min_score, tuple(rows), text, explanation_id(text))

    def _size_row(self, outcome: str | bool, weight: int) -> dict[str, Any]:
        if outcome == _UNKNOWN:
            return {"rule": "company_size", "matched": False, "weight": weight, "detail": "company size unknown"}
        bounds = f"{self.size_min or 1}-{self.size_max or '∞'} employees"
        if outcome == _PARTLY:
            return {"rule": "company_size", "matched": False, "weight": weight, "detail": f"partly outside {bounds}"}
        detail = f"within {bounds}" if outcome else f"outside {bounds}"
        return {"rule": "company_size", "matched": bool(outcome), "weight": weight, "detail": detail}


def _remember(memo: dict[Any, Any], key: Any, value: Any) -> Any:
    if len(memo) >= MAX_MEMO:
        memo.clear()
    memo[key] = value
    return value


_scorers: OrderedDict[bytes, Scorer] = OrderedDict()


def scorer_for(rules: icp_pb2.IcpRules) -> Scorer:
    """The scorer for these rules, kept across calls so a run's pages reuse what earlier pages worked out."""
    key = rules.SerializeToString(deterministic=True)
    scorer = _scorers.get(key)
    if scorer is None:
        scorer = _scorers[key] = Scorer.from_rules(rules)
        while len(_scorers) > MAX_SCORERS:
            _scorers.popitem(last=False)
    else:
        _scorers.move_to_end(key)
    return scorer
