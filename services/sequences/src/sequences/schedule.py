"""When a step may go: its delay (business days or hours), then the lead's sending window, in the lead's zone.

Pure functions of UTC instants, a window and an IANA zone (zoneinfo): no clock, no database. Local
wall times are turned into instants through zoneinfo, so a DST change moves the UTC hour and never
the local one. A local time that does not exist (02:30 on a spring-forward day) is taken as the
instant zoneinfo gives it with fold=0, i.e. the same distance past the gap (03:30); a local time that
happens twice (01:30 on a fall-back day) is its first occurrence.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass

from leadflood_platform.errors import InvalidArgument

BUSINESS_DAYS, HOURS = "business_days", "hours"
UNITS = (BUSINESS_DAYS, HOURS)
WEEKEND = frozenset({6, 7})  # ISO weekdays: Saturday, Sunday
ALL_DAYS = frozenset(range(1, 8))
DEFAULT_DAYS = frozenset(range(1, 6))
DEFAULT_START, DEFAULT_END = dt.time(9, 0), dt.time(17, 0)
DEFAULT_ZONE = "UTC"
MAX_DELAY = {BUSINESS_DAYS: 365, HOURS: 24 * 365}


@dataclass(frozen=True)
class Window:
    """Days of the week (ISO, Monday is 1) and a local time range [start, end) on each of them."""

    days: frozenset[int] = DEFAULT_DAYS
    start: dt.time = DEFAULT_START
    end: dt.time = DEFAULT_END

    def __post_init__(self) -> None:
        if not self.days or not self.days <= ALL_DAYS:
            raise ValueError(f"window days must be a non-empty subset of 1-7, got {sorted(self.days)}")
        if not self.start < self.end:
            raise ValueError(f"window start {self.start} must be before its end {self.end}")


@dataclass(frozen=True)
class Slot:
    """A moment a step may be sent, and the moment that window closes (the send's `not_after`)."""

    send_at: dt.datetime
    closes_at: dt.datetime
    # True when the window, not the delay, decided `send_at` (the enrollment waits for the window).
    waited_for_window: bool


def zone(name: str) -> zoneinfo.ZoneInfo:
    """The IANA zone by name; InvalidArgument naming `window.time_zone` for anything else."""
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise InvalidArgument.on("window.time_zone", f"unknown time zone {name[:64]!r}; use an IANA name") from None


def parse_time(value: str, field: str) -> dt.time:
    """'HH:MM' (24-hour) as a time; InvalidArgument naming the field otherwise."""
    try:
        parsed = dt.datetime.strptime(value, "%H:%M").time()
    except ValueError:
        raise InvalidArgument.on(field, f"{value[:16]!r} is not a time of day as HH:MM") from None
    return parsed


def local_instant(day: dt.date, at: dt.time, tz: zoneinfo.ZoneInfo) -> dt.datetime:
    """The UTC instant of a local date and wall time in the zone (see the module's note on gaps and folds)."""
    return dt.datetime.combine(day, at, tzinfo=tz).astimezone(dt.UTC)


def after_delay(base: dt.datetime, amount: int, unit: str, tz: zoneinfo.ZoneInfo) -> dt.datetime:
    """`amount` hours (elapsed) or business days (Monday to Friday in the zone, same local time) after `base`."""
    if unit == HOURS:
        return base + dt.timedelta(hours=amount)
    if amount == 0:
        return base
    local = base.astimezone(tz)
    day, left = local.date(), amount
    while left:
        day += dt.timedelta(days=1)
        if day.isoweekday() not in WEEKEND:
            left -= 1
    return local_instant(day, local.time(), tz)


def next_opening(at: dt.datetime, window: Window, tz: zoneinfo.ZoneInfo) -> Slot:
    """The first moment at or after `at` inside the window, in the zone, and when that window closes."""
    local = at.astimezone(tz)
    for offset in range(8):
        day = local.date() + dt.timedelta(days=offset)
        if day.isoweekday() not in window.days:
            continue
        opens, closes = local_instant(day, window.start, tz), local_instant(day, window.end, tz)
        if at >= closes:
            continue
        if at >= opens:
            return Slot(send_at=at, closes_at=closes, waited_for_window=False)
        return Slot(send_at=opens, closes_at=closes, waited_for_window=True)
    raise AssertionError("a window with at least one day opens within a week")  # Window guarantees a day


def plan(base: dt.datetime, amount: int, unit: str, window: Window, tz: zoneinfo.ZoneInfo) -> Slot:
    """When a step with this delay may go after `base`: the delay, then the next opening of the window."""
    return next_opening(after_delay(base, amount, unit, tz), window, tz)
