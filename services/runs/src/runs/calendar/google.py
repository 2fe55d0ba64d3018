"""Google Calendar as a CalendarProvider: freeBusy to find a slot, events.insert with our own event id to book it.

Follows the Calendar API v3 reference: `POST /calendar/v3/freeBusy` with `{timeMin, timeMax, timeZone,
items: [{id}]}` answers `calendars[id].busy[{start, end}]`, or `calendars[id].errors[{domain, reason}]` when
that calendar could not be read; `POST /calendar/v3/calendars/{calendarId}/events?sendUpdates=all` creates an
event and invites its attendees; `GET .../events/{eventId}` reads one back. Auth is an OAuth 2.0 bearer token.
Refusals come as `{"error": {"code", "message", "errors": [{"domain", "reason", "message"}]}}`.

Booking is idempotent because the event id is ours: Google accepts a client-chosen id (base32hex characters
a-v and 0-9, 5 to 1024 of them, unique per calendar) and answers 409 when it exists. So an insert whose reply
was lost is safe to send again (the platform's retry policy does so on a timeout or a 5xx), and a 409 means
"booked already": the event is fetched and returned as it is.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
from datetime import UTC, datetime
from typing import Any, cast
from urllib.parse import quote

import httpx

from leadflood_platform.http_retry import (
    ProviderAPI,
    ProviderAuthError,
    ProviderRejected,
    ProviderUnavailable,
    Sleep,
    send_with_retries,
)
from runs.calendar.base import Booking, Slot, SlotSearch
from runs.calendar.slots import free_slot_in, working_windows

log = logging.getLogger(__name__)

GOOGLE_API = "https://www.googleapis.com"
TOKEN_SETTING = "GOOGLE_CALENDAR_ACCESS_TOKEN"
# Google answers some rate limits with 403 and one of these reasons (its "Handle API errors" guide); they
# pass with time, unlike a 403 for a missing scope or calendar access.
USAGE_LIMIT_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded", "dailyLimitExceeded"})
# freeBusy's per-calendar error reasons that say the calendar cannot be read at all, however often asked.
CALENDAR_UNREADABLE = frozenset({"notFound", "groupTooBig", "tooManyCalendarsRequested"})


def event_id_for(key: str) -> str:
    """The Google event id a booking key always maps to: base32hex of its SHA-256, lower case, 54 characters."""
    digest = base64.b32hexencode(hashlib.sha256(key.encode()).digest()).decode().rstrip("=").lower()
    return "lf" + digest  # "l" and "f" are base32hex characters too


class GoogleCalendar(ProviderAPI):
    """`api_key` is the OAuth access token. The adapter owns `client` and closes it in `close()`.

    Share one adapter among a worker's concurrent bookings: it books one at a time per calendar, so two leads
    worked at once do not both take the first free slot (Google lets events overlap). Separate processes can
    still race for a slot; they then double-book it, never fail.
    """

    name = "google"

    def __init__(
        self, *, api_key: str, base_url: str = GOOGLE_API, client: httpx.AsyncClient, sleep: Sleep = asyncio.sleep
    ) -> None:
        super().__init__(api_key=api_key, base_url=base_url, client=client, sleep=sleep)
        self._calendar_locks: dict[str, asyncio.Lock] = {}

    async def find_slot(self, search: SlotSearch) -> Slot | None:
        if next(working_windows(search), None) is None:
            return None  # a window of weekend or night only: nothing to ask Google about
        return free_slot_in(await self.busy(search), search)

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
        event_id = event_id_for(key)
        async with self._calendar_locks.setdefault(search.calendar_id, asyncio.Lock()):
            slot = await self.find_slot(search)
            if slot is None:
                # The window may be full because this key's own event fills it (an earlier call booked it and
                # its caller never heard): that booking is still the answer.
                return await self.event(search.calendar_id, event_id)
            event = {
                "id": event_id,
                "summary": summary,
                "description": description,
                "start": {"dateTime": rfc3339(slot.start), "timeZone": search.time_zone},
                "end": {"dateTime": rfc3339(slot.end), "timeZone": search.time_zone},
                "attendees": [{"email": attendee_email, "displayName": attendee_name}],
            }
            return await self._insert(search.calendar_id, event)

    async def _insert(self, calendar_id: str, event: dict[str, Any]) -> Booking:
        """events.insert, safe to repeat: the id is ours, so a second insert of it is a 409, never a second event."""
        try:
            reply = await self._send("POST", self._events_path(calendar_id), params={"sendUpdates": "all"}, json=event)
        except ProviderRejected as exc:
            if exc.status != 409:
                raise
            existing = await self.event(calendar_id, event["id"])
            if existing is None:  # a 409 for an id Google then cannot find: not ours to guess about
                raise ProviderUnavailable(
                    f"google: event {event['id']} exists but cannot be read", provider=self.name
                ) from exc
            log.info("calendar event existed already", extra={"provider": self.name, "event_id": event["id"]})
            return existing
        return to_booking(reply.json(), provider=self.name)

    async def event(self, calendar_id: str, event_id: str) -> Booking | None:
        """The event with that id on the calendar, or None when there is none."""
        try:
            reply = await self._send("GET", f"{self._events_path(calendar_id)}/{event_id}")
        except ProviderRejected as exc:
            if exc.status in (404, 410):
                return None
            raise
        body = reply.json()
        if isinstance(body, dict) and body.get("status") == "cancelled":
            # Still the booking this key made; whoever cancelled it did so on purpose.
            log.warning("calendar event was cancelled", extra={"provider": self.name, "event_id": event_id})
        return to_booking(body, provider=self.name)

    async def busy(self, search: SlotSearch) -> list[Slot]:
        """The calendar's busy intervals in the search's window, as freeBusy reports them."""
        request = {
            "timeMin": rfc3339(search.earliest),
            "timeMax": rfc3339(search.latest),
            "timeZone": search.time_zone,
            "items": [{"id": search.calendar_id}],
        }
        body = (await self._send("POST", "/calendar/v3/freeBusy", json=request)).json()
        calendars = body.get("calendars") if isinstance(body, dict) else None
        if not isinstance(calendars, dict):
            raise ProviderUnavailable("google: freeBusy reply has no calendars", provider=self.name)
        entry = calendars.get(search.calendar_id)
        if entry is None and len(calendars) == 1:
            entry = next(iter(calendars.values()))  # one calendar asked for; keyed by its address instead
        if not isinstance(entry, dict):
            raise ProviderUnavailable(
                f"google: freeBusy reply omits calendar {search.calendar_id!r}", provider=self.name
            )
        reasons = [str(e.get("reason")) for e in entry.get("errors") or [] if isinstance(e, dict)]
        if reasons:
            # A calendar Google could not read has no busy list; taking it as free would double-book.
            message = f"google: cannot read calendar {search.calendar_id!r} ({', '.join(reasons)})"
            if CALENDAR_UNREADABLE.intersection(reasons):
                raise ProviderRejected(
                    message + f": check the calendar id and that it is shared with {TOKEN_SETTING}'s account",
                    provider=self.name,
                    status=404,
                )
            raise ProviderUnavailable(message, provider=self.name)
        try:
            return [Slot(parse_time(b["start"]), parse_time(b["end"])) for b in entry.get("busy") or []]
        except (KeyError, TypeError, ValueError):
            raise ProviderUnavailable("google: malformed busy period in freeBusy reply", provider=self.name) from None

    async def close(self) -> None:
        await self.client.aclose()

    def _events_path(self, calendar_id: str) -> str:
        # Calendar ids are often addresses ("team@group.calendar.google.com"): one path segment, escaped.
        return f"/calendar/v3/calendars/{quote(calendar_id, safe='')}/events"

    async def _send(self, method: str, path: str, **options: Any) -> httpx.Response:
        """ProviderAPI.send, with Google's refusals turned into errors that say what to do."""
        headers = {"authorization": f"Bearer {self.api_key}", "accept": "application/json"}
        request = self.client.build_request(method, self.base_url + path, headers=headers, **options)
        witness = _LastReply(self.client)
        try:
            # send_with_retries calls only `send` on the client it is given.
            return await send_with_retries(
                cast(httpx.AsyncClient, witness),
                request,
                provider=self.name,
                rate_limit_statuses=self.rate_limit_statuses,
                sleep=self.sleep,
            )
        except ProviderRejected as exc:
            raise refusal(exc, witness.reply, provider=self.name) from exc


class _LastReply:
    """The client as send_with_retries uses it (`send` only), keeping the last reply: the platform's
    ProviderRejected keeps only the reply's text, and Google's reason code is what says what a refusal means."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.reply: httpx.Response | None = None

    async def send(self, request: httpx.Request) -> httpx.Response:
        self.reply = await self.client.send(request)
        return self.reply


def refusal(exc: ProviderRejected, reply: httpx.Response | None, *, provider: str) -> Exception:
    """The error a refusal becomes: its status kept, Google's own message in it, and the setting to fix named."""
    message, reasons = google_error(reply)
    said = f"HTTP {exc.status}" + (f" {', '.join(reasons)}" if reasons else "") + (f": {message}" if message else "")
    if exc.status == 401:
        return ProviderAuthError(
            f"Google Calendar refused the access token ({said}): set a fresh {TOKEN_SETTING}",
            provider=provider,
            status=401,
        )
    if exc.status == 403 and USAGE_LIMIT_REASONS.intersection(reasons):
        return ProviderUnavailable(f"google: rate limited ({said})", provider=provider)
    if exc.status == 403:
        return ProviderAuthError(
            f"Google Calendar refused the request ({said}): {TOKEN_SETTING} needs a Calendar scope "
            "and write access to the calendar",
            provider=provider,
            status=403,
        )
    return ProviderRejected(f"google: {said}", provider=provider, status=exc.status)


def google_error(reply: httpx.Response | None) -> tuple[str, list[str]]:
    """The message and reasons of Google's error body; empty when the reply has none."""
    try:
        body = reply.json() if reply is not None else None
    except ValueError:
        return "", []
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return "", []
    details = [e for e in error.get("errors") or [] if isinstance(e, dict)]
    return str(error.get("message") or ""), [str(e["reason"]) for e in details if e.get("reason")]


def to_booking(event: Any, *, provider: str) -> Booking:
    try:
        link = event["htmlLink"]
        booking = Booking(
            event_id=str(event["id"]),
            link=str(link),
            start=parse_time(event["start"]["dateTime"]),
            end=parse_time(event["end"]["dateTime"]),
        )
    except (KeyError, TypeError, ValueError):
        raise ProviderUnavailable("google: event reply lacks its id, link or times", provider=provider) from None
    if not booking.link.startswith("https://"):
        raise ProviderUnavailable(f"google: event link is not https: {booking.link[:80]!r}", provider=provider)
    return booking


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_time(value: str) -> datetime:
    """An RFC 3339 date-time from Google, in UTC; Google writes offsets in the zone asked for, or Z."""
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError(f"no offset in {value!r}")
    return moment.astimezone(UTC)
