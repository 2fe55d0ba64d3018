"""Calendar booking for lead runs: one interface, a deterministic sandbox by default, and Google Calendar."""

from runs.calendar.base import Booking, CalendarProvider, Slot, SlotSearch
from runs.calendar.choice import PROVIDERS, calendar_for
from runs.calendar.settings import CalendarSettings
from runs.calendar.slots import free_slot_in

__all__ = [
    "PROVIDERS",
    "Booking",
    "CalendarProvider",
    "CalendarSettings",
    "Slot",
    "SlotSearch",
    "calendar_for",
    "free_slot_in",
]
