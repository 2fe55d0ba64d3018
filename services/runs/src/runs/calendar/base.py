"""What the run pipeline codes against to book a meeting: the search, its answers, and the provider interface."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from leadflood_platform.errors import InvalidArgument, quoted


@dataclass(frozen=True)
class Slot:
    """A free (or busy) interval; aware datetimes, in UTC when a provider gives them."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class Booking:
    event_id: str
    link: str  # an https link to the event (Google: htmlLink); the sandbox makes one up deterministically
    start: datetime
    end: datetime


@dataclass(frozen=True)
class SlotSearch:
    """Where and when to look for a meeting time; working hours apply in `time_zone`.

    Checked when made, so a user's bad zone or duration is INVALID_ARGUMENT before any provider is called.
    """

    calendar_id: str  # "primary" by default
    earliest: datetime  # aware
    latest: datetime  # aware; the window to search (a meeting ends by then)
    duration: timedelta
    time_zone: str  # IANA
    work_start_hour: int = 9
    work_end_hour: int = 17
    weekdays_only: bool = True

    def __post_init__(self) -> None:
        # The window is computed by the pipeline, not typed by a user: a naive one is a bug, not bad input.
        for name in ("earliest", "latest"):
            value: datetime = getattr(self, name)
            if value.tzinfo is None or value.utcoffset() is None:
                raise ValueError(f"SlotSearch.{name} must be an aware datetime, got {value!r}")
        if not self.calendar_id:
            raise InvalidArgument.on("calendar.calendar_id", "is required")
        if self.duration <= timedelta(0):
            raise InvalidArgument.on("calendar.duration_minutes", "must be positive")
        if not 0 <= self.work_start_hour < self.work_end_hour <= 24:
            raise InvalidArgument.on("calendar.work_start_hour", "working hours must satisfy 0 <= start < end <= 24")
        zone_named(self.time_zone)

    @property
    def zone(self) -> ZoneInfo:
        return zone_named(self.time_zone)


def zone_named(name: str) -> ZoneInfo:
    """The IANA zone called `name`; INVALID_ARGUMENT naming the field when there is none."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidArgument.on(
            "calendar.time_zone", f"{quoted(name)} is not an IANA time zone (e.g. Europe/Berlin)"
        ) from None


class CalendarProvider(Protocol):
    name: str  # "sandbox" | "google"

    async def find_slot(self, search: SlotSearch) -> Slot | None:
        """The first free slot in the search's window, or None when there is none."""
        ...

    async def book(
        self,
        search: SlotSearch,
        *,
        key: str,
        attendee_email: str,
        attendee_name: str,
        summary: str,
        description: str,
    ) -> Booking | None:
        """Find the first free slot and create the event there, in one step; None when no slot is free.

        Idempotent on `key` (e.g. "runs:<run>:<lead>:meeting"): called again with the same key, it returns the
        booking the first call made and creates no second event, even when the first call's reply was lost.
        """
        ...

    async def close(self) -> None: ...
