"""An ICP's rules: validation with the field at fault, normalisation, and the search-run idempotency key."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from leadflood_platform.errors import NO_NUL, FieldViolation, InvalidArgument

# Apollo's person seniority values, which the sandbox source speaks too.
SENIORITIES = (
    "owner",
    "founder",
    "c_suite",
    "partner",
    "vp",
    "head",
    "director",
    "manager",
    "senior",
    "entry",
    "intern",
)
WEIGHT_NAMES = ("title", "seniority", "industry", "company_size", "location", "keyword")
DEFAULT_WEIGHTS = {"title": 30, "seniority": 20, "industry": 15, "company_size": 15, "location": 10, "keyword": 10}
MAX_ITEMS, MAX_TEXT = 50, 100


@dataclass(frozen=True)
class Rules:
    titles: list[str]
    seniorities: list[str] = field(default_factory=list)
    industries: list[str] = field(default_factory=list)
    company_size_min: int | None = None
    company_size_max: int | None = None
    locations: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    min_score: int = 0
    weights: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def rules_of(icp: Any) -> Rules:
    """The rules an ICP row holds (its columns are named like the Rules fields)."""
    return Rules(**{name: getattr(icp, name) for name in Rules.__dataclass_fields__})


def _clean_list(name: str, values: list[str], problems: list[FieldViolation]) -> list[str]:
    """Trimmed, de-duplicated case-insensitively, first spelling kept."""
    cleaned: dict[str, str] = {}
    for value in values:
        text = value.strip()
        if not text:
            problems.append(FieldViolation(name, "must not contain empty values"))
        elif len(text) > MAX_TEXT:
            problems.append(FieldViolation(name, f"values must be at most {MAX_TEXT} characters"))
        elif "\x00" in text:
            problems.append(FieldViolation(name, f"values {NO_NUL}"))
        else:
            cleaned.setdefault(text.lower(), text)
    if len(cleaned) > MAX_ITEMS:
        problems.append(FieldViolation(name, f"must have at most {MAX_ITEMS} values"))
    return list(cleaned.values())


def _clean_name(name: str, problems: list[FieldViolation]) -> str:
    name = name.strip()
    if not name:
        problems.append(FieldViolation("name", "is required"))
    elif len(name) > 200:
        problems.append(FieldViolation("name", "must be at most 200 characters"))
    elif "\x00" in name:
        problems.append(FieldViolation("name", NO_NUL))
    return name


def validate_profile(name: str, rules: Rules) -> tuple[str, Rules]:
    """The name and rules cleaned up, or one InvalidArgument listing every field at fault, the name's among
    them: a form is told all that is wrong at once, not one field a round."""
    problems: list[FieldViolation] = []
    cleaned_name, cleaned = _clean_name(name, problems), _clean_rules(rules, problems)
    if problems:
        raise InvalidArgument("; ".join(f"{p.field}: {p.message}" for p in problems), problems)
    return cleaned_name, cleaned


def _clean_rules(rules: Rules, problems: list[FieldViolation]) -> Rules:
    """The rules cleaned up; every problem found is added to `problems`."""
    titles = _clean_list("titles", rules.titles, problems)
    if not titles and not any(p.field == "titles" for p in problems):
        problems.append(FieldViolation("titles", "must list at least one job title"))
    seniorities = [s.strip().lower() for s in rules.seniorities]
    problems += [
        FieldViolation("seniorities", f"unknown seniority {s!r}; use one of {', '.join(SENIORITIES)}")
        for s in seniorities
        if s not in SENIORITIES
    ]
    for name in ("company_size_min", "company_size_max"):
        value = getattr(rules, name)
        if value is not None and value < 0:
            problems.append(FieldViolation(name, "must not be negative"))
    low, high = rules.company_size_min, rules.company_size_max
    if low is not None and high is not None and low > high:
        # Said as the form names the other box ("Max employees"), not by its field's name.
        problems.append(FieldViolation("company_size_min", f"must not be more than max employees ({high})"))
    if not 0 <= rules.min_score <= 100:
        problems.append(FieldViolation("min_score", "must be between 0 and 100"))
    weights = {**DEFAULT_WEIGHTS, **rules.weights}
    for name in set(weights) - set(WEIGHT_NAMES):
        problems.append(FieldViolation(f"weights.{name}", "is not a scoring rule"))
    for name in WEIGHT_NAMES:
        if not 0 <= weights[name] <= 100:
            problems.append(FieldViolation(f"weights.{name}", "must be between 0 and 100"))
    if sum(weights.get(name, 0) for name in WEIGHT_NAMES) != 100:
        problems.append(FieldViolation("weights", "must add up to 100"))
    return Rules(
        titles=titles,
        seniorities=list(dict.fromkeys(seniorities)),
        industries=_clean_list("industries", rules.industries, problems),
        company_size_min=low,
        company_size_max=high,
        locations=_clean_list("locations", rules.locations, problems),
        keywords=_clean_list("keywords", rules.keywords, problems),
        min_score=rules.min_score,
        weights={name: weights[name] for name in WEIGHT_NAMES},
    )


def search_key(*, icp_id: str, source: str, limit: int, rules: Rules, day: dt.date) -> str:
    """Same ICP, source and normalised parameters on the same UTC day: the same key, the same run."""
    normalised = {
        name: sorted(v.lower() for v in value) if isinstance(value, list) else value
        for name, value in rules.as_dict().items()
    }
    material = json.dumps([icp_id, source, limit, normalised, day.isoformat()], sort_keys=True)
    return hashlib.sha256(material.encode()).hexdigest()
