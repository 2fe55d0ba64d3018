"""The calendar providers' settings, as a mixin for RunsSettings (read from the environment like the rest)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

SandboxBusy = Literal["some", "always", "never"]


class CalendarSettings(BaseModel):
    """Mix into the service's settings: `class RunsSettings(CalendarSettings, ServiceSettings)`."""

    # An OAuth 2.0 access token with a Calendar scope that can read free/busy and write events
    # (https://www.googleapis.com/auth/calendar.events and .../calendar.freebusy, or .../calendar).
    google_calendar_access_token: str = ""
    google_calendar_base_url: str = "https://www.googleapis.com"
    # The sandbox calendar's availability: "some" (busy blocks derived from the calendar id and day, so a narrow
    # window can find nothing and a broader one something), "always" (never a free slot: the no-slot path),
    # "never" (all working hours free).
    sandbox_calendar_busy: SandboxBusy = "some"
    # Each HTTP request to the calendar provider; the retry policy makes up to four within one call.
    calendar_call_timeout_s: float = 10.0
