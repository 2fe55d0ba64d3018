"""Google Calendar API v3 as it answers on the wire: the freeBusy query, events.insert and events.get.

`POST /calendar/v3/freeBusy` `{timeMin, timeMax, timeZone, items: [{id}]}` answers
`{"kind": "calendar#freeBusy", timeMin, timeMax, calendars: {id: {busy: [{start, end}]}}}`, the periods written
in the zone asked for; a calendar it does not know gets `errors: [{domain: "global", reason: "notFound"}]`.
`POST /calendar/v3/calendars/{calendarId}/events?sendUpdates=...` honours a client-chosen `id` (base32hex
characters a-v and 0-9, 5 to 1024 of them) and answers 409 `duplicate` when the calendar has it already;
`GET /calendar/v3/calendars/{calendarId}/events/{eventId}` reads one back. Every request needs
`Authorization: Bearer <token>`; refusals are Google's `{"error": {"code", "message", "errors": [...]}}`.

`inserted` is the independent witness: every event the fake created, in order. `lose_next_insert_reply()`
creates the next event and then loses the reply (the connection dropped, or a reply slower than any client
waits), the case an idempotent booking must survive.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import unquote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tests.fakes import server
from tests.fakes.server import FakeServer, Received, Reply

TOKEN = "ya29.calendar-test-token-3f9c"
OWNER = "owner@example.com"  # the token's account; "primary" is its calendar
FREEBUSY_PATH = "/calendar/v3/freeBusy"
EVENTS_PATH = re.compile(r"/calendar/v3/calendars/(?P<calendar>[^/]+)/events(?:/(?P<event>[^/]+))?")
EVENT_ID = re.compile(r"[a-v0-9]{5,1024}")
# Not an HTTP status: the handler closes the connection instead of answering.
DROP = -1


def error(status: int, reason: str, message: str, *, domain: str = "global", **where: str) -> Reply:
    detail = {"domain": domain, "reason": reason, "message": message, **where}
    return Reply(status, {"error": {"errors": [detail], "code": status, "message": message}})


def invalid_credentials() -> Reply:
    reply = error(401, "authError", "Invalid Credentials", locationType="header", location="Authorization")
    return Reply(
        401, reply.body, {"www-authenticate": 'Bearer realm="https://accounts.google.com/", error="invalid_token"'}
    )


def server_error() -> Reply:
    return error(500, "backendError", "Backend Error")


def rate_limited(status: Literal[403, 429] = 429) -> Reply:
    if status == 403:
        return error(403, "rateLimitExceeded", "Rate Limit Exceeded", domain="usageLimits")
    return error(429, "rateLimitExceeded", "Rate Limit Exceeded", domain="usageLimits")


def forbidden() -> Reply:
    return error(403, "requiredAccessLevel", "You need to have writer access to this calendar.")


@dataclass(frozen=True)
class Inserted:
    calendar_id: str
    event_id: str
    send_updates: str
    body: dict[str, Any]  # the event as the client sent it


class FakeGoogleCalendar(FakeServer):
    def __init__(self, *, token: str = TOKEN, calendars: tuple[str, ...] = ("primary",)) -> None:
        super().__init__()
        self.token = token
        self.busy: dict[str, list[tuple[datetime, datetime]]] = {calendar: [] for calendar in calendars}
        self.events: dict[tuple[str, str], dict[str, Any]] = {}
        self.inserted: list[Inserted] = []
        self._lose: Literal["drop", "hang"] | None = None
        self._state = threading.Lock()
        # hold_inserts(): inserts wait (before creating anything) until release_inserts(); `holding` says
        # one arrived, so a test can act at that moment (kill the caller) rather than after a sleep.
        self._open = threading.Event()
        self._open.set()
        self.holding = threading.Event()

    def add_busy(self, start: datetime, end: datetime, *, calendar_id: str = "primary") -> None:
        with self._state:
            self.busy.setdefault(calendar_id, []).append((start, end))

    def lose_next_insert_reply(self, how: Literal["drop", "hang"] = "drop") -> None:
        """Create the next event, then drop the connection (or answer later than any client waits)."""
        self._lose = how

    def hold_inserts(self) -> None:
        self.holding.clear()
        self._open.clear()

    def release_inserts(self) -> None:
        self._open.set()

    def fail_next(self, *replies: Reply) -> None:
        """The next authenticated requests get these replies instead of an answer."""
        self.script(*replies)

    def __enter__(self) -> FakeGoogleCalendar:
        super().__enter__()
        assert self._httpd
        # Read per connection, so every request from now on can be dropped.
        self._httpd.RequestHandlerClass = _DroppingHandler
        return self

    def answer(self, request: Received) -> Reply:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return invalid_credentials()
        scripted = self.scripted()
        if scripted:
            return scripted
        if request.method == "POST" and request.path == FREEBUSY_PATH:
            return self._free_busy(request)
        route = EVENTS_PATH.fullmatch(request.path)
        if route is None:
            return error(404, "notFound", "Not Found")
        calendar_id = unquote(route["calendar"])
        if calendar_id not in self.busy:
            return error(404, "notFound", "Not Found")
        if request.method == "POST" and route["event"] is None:
            if not self._open.is_set():
                self.holding.set()
                self._open.wait(60)
            return self._insert(calendar_id, request)
        if request.method == "GET" and route["event"] is not None:
            with self._state:
                event = self.events.get((calendar_id, unquote(route["event"])))
            return Reply(200, event) if event else error(404, "notFound", "Not Found")
        return error(404, "notFound", "Not Found")

    def _free_busy(self, request: Received) -> Reply:
        try:
            query = json.loads(request.body)
            time_min, time_max = _instant(query["timeMin"]), _instant(query["timeMax"])
            zone = ZoneInfo(query.get("timeZone") or "UTC")
        except (ValueError, KeyError, TypeError, ZoneInfoNotFoundError):
            return error(400, "invalid", "Invalid Value")
        if time_max <= time_min:
            return error(
                400, "timeRangeEmpty", "The specified time range is empty.",
                domain="calendar", locationType="parameter", location="timeMax",
            )  # fmt: skip
        calendars: dict[str, Any] = {}
        for item in query.get("items") or []:
            calendar_id = item.get("id", "")
            if calendar_id not in self.busy:
                calendars[calendar_id] = {"errors": [{"domain": "global", "reason": "notFound"}], "busy": []}
                continue
            periods = [(max(s, time_min), min(e, time_max)) for s, e in self._occupied(calendar_id)]
            merged = _merged(sorted((s, e) for s, e in periods if e > s))
            calendars[calendar_id] = {
                "busy": [{"start": _written(s, zone), "end": _written(e, zone)} for s, e in merged]
            }
        body = {"kind": "calendar#freeBusy", "timeMin": query["timeMin"], "timeMax": query["timeMax"]}
        return Reply(200, {**body, "calendars": calendars})

    def _occupied(self, calendar_id: str) -> list[tuple[datetime, datetime]]:
        with self._state:
            events = [e for (c, _), e in self.events.items() if c == calendar_id and e["status"] != "cancelled"]
            return self.busy[calendar_id] + [
                (_instant(e["start"]["dateTime"]), _instant(e["end"]["dateTime"])) for e in events
            ]

    def _insert(self, calendar_id: str, request: Received) -> Reply:
        try:
            sent = json.loads(request.body)
            start, end = _instant(sent["start"]["dateTime"]), _instant(sent["end"]["dateTime"])
        except (ValueError, KeyError, TypeError):
            return error(400, "required", "Missing or invalid start or end time.")
        if end <= start:
            return error(400, "timeRangeEmpty", "The specified time range is empty.", domain="calendar")
        event_id = sent.get("id") or secrets.token_hex(13)
        if not EVENT_ID.fullmatch(event_id):
            return error(400, "invalid", "Invalid resource id value.")
        with self._state:
            if (calendar_id, event_id) in self.events:
                return error(409, "duplicate", "The requested identifier already exists.")
            event = _resource(calendar_id, event_id, sent)
            self.events[(calendar_id, event_id)] = event
            self.inserted.append(Inserted(calendar_id, event_id, request.param("sendUpdates", "false"), sent))
            lose, self._lose = self._lose, None
        if lose == "drop":
            return Reply(DROP)
        return Reply(200, event, delay_s=30.0 if lose == "hang" else 0.0)


def _resource(calendar_id: str, event_id: str, sent: dict[str, Any]) -> dict[str, Any]:
    """The event as Google returns it from events.insert and events.get."""
    owner = OWNER if calendar_id == "primary" else calendar_id
    eid = base64.urlsafe_b64encode(f"{event_id} {owner}".encode()).decode().rstrip("=")
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {
        "kind": "calendar#event",
        "etag": f'"{secrets.randbits(48)}"',
        "id": event_id,
        "status": "confirmed",
        "htmlLink": f"https://www.google.com/calendar/event?eid={eid}",
        "created": now,
        "updated": now,
        "summary": sent.get("summary", ""),
        "description": sent.get("description", ""),
        "creator": {"email": OWNER, "self": True},
        "organizer": {"email": owner, "self": True},
        "start": sent["start"],
        "end": sent["end"],
        "iCalUID": f"{event_id}@google.com",
        "sequence": 0,
        "attendees": [{**a, "responseStatus": "needsAction"} for a in sent.get("attendees") or []],
        "reminders": {"useDefault": True},
        "eventType": "default",
    }


def _instant(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError("an RFC 3339 time needs an offset")
    return moment


def _written(moment: datetime, zone: ZoneInfo) -> str:
    """RFC 3339 in the zone the query asked for, `Z` for UTC, as Google writes it."""
    return moment.astimezone(zone).isoformat().replace("+00:00", "Z")


def _merged(periods: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    merged: list[tuple[datetime, datetime]] = []
    for start, end in periods:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


class _DroppingHandler(server._Handler):
    """The shared handler, able to hang up instead of answering (a reply lost after the work was done)."""

    def send_response(self, code: int, message: str | None = None) -> None:
        if code == DROP:
            # The shared handler takes this as the client gone and closes the connection, having sent nothing.
            raise ConnectionResetError("reply dropped by the fake")
        super().send_response(code, message)
