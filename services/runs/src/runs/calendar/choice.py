"""Picks the calendar provider a run names, refusing an unknown one or a real one that is not configured."""

from __future__ import annotations

import httpx

from leadflood_platform.provider_choice import require_provider
from runs.calendar.base import CalendarProvider
from runs.calendar.google import GoogleCalendar
from runs.calendar.sandbox import SandboxCalendar
from runs.calendar.settings import CalendarSettings

PROVIDERS = ("sandbox", "google")
# The setting each real provider needs, by the settings field's name (upper-cased in the error a user sees).
KEY_FOR = {"google": "google_calendar_access_token"}
CONNECT_TIMEOUT_S = 5.0


def calendar_for(name: str, settings: CalendarSettings) -> CalendarProvider:
    """The provider called `name` ("" means the sandbox); the caller closes it.

    INVALID_ARGUMENT when unknown; UNAVAILABLE naming GOOGLE_CALENDAR_ACCESS_TOKEN when google is chosen
    without it, so a run is refused before any work is queued.
    """
    name = require_provider(
        field="calendar.provider", choice=name or "sandbox", known=PROVIDERS, settings=settings, keys=KEY_FOR,
        kind="calendar",
    )  # fmt: skip
    if name == "google":
        # Every request has its own deadline; the retry policy (leadflood_platform.http_retry) makes up to four.
        timeout = httpx.Timeout(
            settings.calendar_call_timeout_s, connect=min(CONNECT_TIMEOUT_S, settings.calendar_call_timeout_s)
        )
        return GoogleCalendar(
            api_key=settings.google_calendar_access_token,
            base_url=settings.google_calendar_base_url,
            client=httpx.AsyncClient(timeout=timeout),
        )
    return SandboxCalendar(busy=settings.sandbox_calendar_busy)
