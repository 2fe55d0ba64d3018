"""Whole days ending today in a user's time zone: the window the dashboard's figures and their lists share."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass

from leadflood_platform.errors import InvalidArgument

MAX_DAYS = 90


@dataclass(frozen=True)
class DayWindow:
    first: dt.date
    last: dt.date
    zone: zoneinfo.ZoneInfo

    @classmethod
    def parse(cls, days: int, time_zone: str, *, now: dt.datetime | None = None) -> DayWindow:
        """INVALID_ARGUMENT for days outside 1..MAX_DAYS or a time zone that is not an IANA name."""
        if not 1 <= days <= MAX_DAYS:
            raise InvalidArgument.on("days", f"between 1 and {MAX_DAYS}")
        try:
            zone = zoneinfo.ZoneInfo(time_zone or "UTC")
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise InvalidArgument.on("time_zone", "not a known time zone (an IANA name, e.g. Europe/Paris)") from None
        today = (now or dt.datetime.now(dt.UTC)).astimezone(zone).date()
        return cls(first=today - dt.timedelta(days=days - 1), last=today, zone=zone)

    @property
    def days(self) -> list[dt.date]:
        return [self.first + dt.timedelta(days=n) for n in range((self.last - self.first).days + 1)]

    def span(self, day: str = "") -> tuple[dt.datetime, dt.datetime]:
        """[start, end) of the window, or of one of its days (YYYY-MM-DD; INVALID_ARGUMENT outside it)."""
        first, last = self.first, self.last
        if day:
            try:
                first = last = dt.date.fromisoformat(day)
            except ValueError:
                raise InvalidArgument.on("day", "a date as YYYY-MM-DD") from None
            if not self.first <= first <= self.last:
                raise InvalidArgument.on("day", f"inside the window, {self.first} to {self.last}")
        return self._midnight(first), self._midnight(last + dt.timedelta(days=1))

    def _midnight(self, day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(), tzinfo=self.zone)
