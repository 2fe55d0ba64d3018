"""The default calendar: deterministic, in memory, nothing leaves the process.

Its busy blocks come from a hash of the calendar id and the day, so the same search always finds the same
slot. One working day in three (which ones depends on the calendar) is booked solid, so a one-day window can
find nothing while a window broadened by a day or two finds a slot: the retry path works in the sandbox too.
Bookings it made count as busy afterwards, within this process only; with several worker processes two leads
may get the same sandbox time, which nothing outside sees.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, time, timedelta

from runs.calendar.base import Booking, Slot, SlotSearch
from runs.calendar.settings import SandboxBusy
from runs.calendar.slots import free_slot_in, wall_clock, working_windows

# A made-up address on a reserved top-level domain (RFC 2606): a link that looks like one and reaches no one.
LINK_BASE = "https://calendar.sandbox.leadflood.invalid/events/"
FULL_DAY_EVERY = 3  # one working day in this many is booked solid
# Meetings in the sandbox's busy blocks lie between these local hours, whatever hours a search asks for.
BLOCKS_FROM_HOUR, BLOCKS_TO_HOUR = 9, 17
HALF_HOUR = timedelta(minutes=30)


class SandboxCalendar:
    name = "sandbox"

    def __init__(self, *, busy: SandboxBusy = "some") -> None:
        self.busy_mode = busy
        self._bookings: dict[str, Booking] = {}  # by key: what makes `book` idempotent
        self._booked: dict[str, list[Slot]] = {}  # by calendar id: what the bookings occupy

    async def find_slot(self, search: SlotSearch) -> Slot | None:
        return self._free_slot(search)

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
        # No await between the look-up and the write: one event loop cannot book a key twice.
        if key in self._bookings:
            return self._bookings[key]
        slot = self._free_slot(search)
        if slot is None:
            return None
        event_id = sandbox_event_id(key)
        booking = Booking(event_id=event_id, link=LINK_BASE + event_id, start=slot.start, end=slot.end)
        self._bookings[key] = booking
        self._booked.setdefault(search.calendar_id, []).append(slot)
        return booking

    async def close(self) -> None:
        pass

    def busy_in(self, search: SlotSearch) -> list[Slot]:
        """What the sandbox calendar has on during the search's window."""
        if self.busy_mode == "always":
            return [Slot(search.earliest.astimezone(UTC), search.latest.astimezone(UTC))]
        busy = list(self._booked.get(search.calendar_id, ()))
        if self.busy_mode == "some":
            days = {window.start.astimezone(search.zone).date() for window in working_windows(search)}
            for day in sorted(days):
                busy += derived_busy(search.calendar_id, day, search)
        return busy

    def _free_slot(self, search: SlotSearch) -> Slot | None:
        return free_slot_in(self.busy_in(search), search)


def derived_busy(calendar_id: str, day: date, search: SlotSearch) -> list[Slot]:
    """The calendar's busy blocks on `day` (local to the search's zone), the same on every call."""
    digest = hashlib.sha256(f"{calendar_id}\n{day.isoformat()}".encode()).digest()
    zone = search.zone
    if (day.toordinal() + _calendar_offset(calendar_id)) % FULL_DAY_EVERY == 0:
        return [Slot(wall_clock(day, 0, zone), wall_clock(day, 24, zone))]
    half_hours = (BLOCKS_TO_HOUR - BLOCKS_FROM_HOUR) * 2
    blocks = []
    for n in range(1 + digest[0] % 3):  # one to three meetings
        local_start = datetime.combine(day, time(BLOCKS_FROM_HOUR), tzinfo=zone) + HALF_HOUR * (
            digest[1 + 2 * n] % half_hours
        )
        local_end = local_start + HALF_HOUR * (1 + digest[2 + 2 * n] % 4)  # half an hour to two hours
        blocks.append(Slot(local_start.astimezone(UTC), local_end.astimezone(UTC)))
    return blocks


def sandbox_event_id(key: str) -> str:
    return "sbx" + hashlib.sha256(key.encode()).hexdigest()[:24]


def _calendar_offset(calendar_id: str) -> int:
    return hashlib.sha256(calendar_id.encode()).digest()[0]
