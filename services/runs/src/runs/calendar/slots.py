"""Free-slot arithmetic: working hours in the search's zone, minus busy intervals, on a quarter-hour grid."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from runs.calendar.base import Slot, SlotSearch

# Meetings start on this grid: a slot found right after "now" starts at 10:15, not 10:07:33. Every zone in
# use today is offset from UTC by a whole number of quarter hours, so the UTC grid is the local one too.
SLOT_STEP = timedelta(minutes=15)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SATURDAY = 5


def free_slot_in(busy: Iterable[Slot], search: SlotSearch) -> Slot | None:
    """The first `search.duration` inside working hours and the window that overlaps no busy interval."""
    intervals = sorted((b.start.astimezone(UTC), b.end.astimezone(UTC)) for b in busy if b.end > b.start)
    for window in working_windows(search):
        start = align_up(window.start)
        for busy_start, busy_end in intervals:
            if busy_end <= start:
                continue
            if busy_start >= start + search.duration:
                break  # sorted by start: every later interval begins later still
            start = align_up(busy_end)
        if start + search.duration <= window.end:
            return Slot(start, start + search.duration)
    return None


def working_windows(search: SlotSearch) -> Iterator[Slot]:
    """Each day's working hours, in UTC and clipped to the window, in order.

    Hours are wall-clock times in the search's zone, so 09:00 stays 09:00 across a DST change (the UTC
    instant moves instead).
    """
    zone = search.zone
    day = search.earliest.astimezone(zone).date()
    last = search.latest.astimezone(zone).date()
    while day <= last:
        if not (search.weekdays_only and day.weekday() >= SATURDAY):
            start = max(wall_clock(day, search.work_start_hour, zone), search.earliest.astimezone(UTC))
            end = min(wall_clock(day, search.work_end_hour, zone), search.latest.astimezone(UTC))
            if end > start:
                yield Slot(start, end)
        day += timedelta(days=1)


def wall_clock(day: date, hour: int, zone: ZoneInfo) -> datetime:
    """`hour`:00 on `day` in `zone`, as a UTC instant; hour 24 is the next midnight.

    An hour that a DST change skips (02:00 on a spring-forward night) reads with the offset before the change,
    so it lands just after the gap, as a person would expect.
    """
    if hour == 24:
        day, hour = day + timedelta(days=1), 0
    return datetime.combine(day, time(hour), tzinfo=zone).astimezone(UTC)


def align_up(moment: datetime) -> datetime:
    """`moment` moved forward to the next SLOT_STEP boundary (unchanged when already on one), in UTC."""
    remainder = (moment - _EPOCH) % SLOT_STEP
    return (moment + (SLOT_STEP - remainder) if remainder else moment).astimezone(UTC)
