"""The results table on stdout and the same figures as JSON."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.context import Limit

COLUMNS = ("figure", "value", "unit", "raw limit (same run)", "ratio", "note")


@dataclass(frozen=True)
class Row:
    """One figure; `limit` is the raw limit it is read against (None for a raw limit itself).

    `note`: a short remark beside it, e.g. the target an issue sets for it and whether it is met.
    """

    figure: str
    value: float
    unit: str
    limit: Limit | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        return self.value / self.limit.value if self.limit and self.limit.value else None

    def cells(self) -> tuple[str, ...]:
        limit = f"{self.limit.label}: {number(self.limit.value)} {self.limit.unit}" if self.limit else "-"
        ratio = f"{self.ratio:.3g}x" if self.ratio is not None else "-"
        return (self.figure, number(self.value), self.unit, limit, ratio, self.note)

    def as_json(self) -> dict[str, Any]:
        limit = dataclasses.asdict(self.limit) if self.limit else None
        return {
            "figure": self.figure,
            "value": self.value,
            "unit": self.unit,
            "rawLimit": limit,
            "ratio": self.ratio,
            "note": self.note or None,
        }


def number(value: float) -> str:
    """Thousands separated, with decimals only where small values need them (1,234 / 56.7 / 0.84); counts as is."""
    if isinstance(value, int):
        return f"{value:,}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.1f}" if abs(value) >= 10 else f"{value:.2f}"


def table(rows: list[Row]) -> str:
    """A plain-text table: text columns left-aligned, numbers right-aligned."""
    lines = [COLUMNS, *(row.cells() for row in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(COLUMNS))]
    right = {1, 4}

    def fmt(line: tuple[str, ...]) -> str:
        cells = enumerate(zip(line, widths, strict=True))
        return " | ".join(cell.rjust(w) if i in right else cell.ljust(w) for i, (cell, w) in cells)

    rule = "-+-".join("-" * w for w in widths)
    return "\n".join(line.rstrip() for line in [fmt(lines[0]), rule, *(fmt(line) for line in lines[1:])])


def write_json(
    path: Path, *, machine: dict[str, Any], settings: dict[str, Any], rows: list[Row], notes: list[str]
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine,
        "settings": settings,
        "figures": [row.as_json() for row in rows],
        "notes": notes,
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
