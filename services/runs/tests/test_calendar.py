"""Calendar booking: the free-slot arithmetic, the sandbox calendar, and the Google adapter against a local fake
of Google Calendar's API (no real network)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from leadflood_platform.errors import InvalidArgument, Unavailable
from leadflood_platform.http_retry import ProviderAuthError, ProviderRejected, ProviderUnavailable
from runs.calendar import Booking, CalendarSettings, Slot, SlotSearch, calendar_for, free_slot_in
from runs.calendar.google import GoogleCalendar, event_id_for
from runs.calendar.sandbox import SandboxCalendar
from tests.fakes.google_calendar import (
    TOKEN,
    FakeGoogleCalendar,
    forbidden,
    rate_limited,
    server_error,
)
from tests.fakes.server import Sleeps

BERLIN, NEW_YORK = ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York")
HALF_HOUR = timedelta(minutes=30)


def local(zone: ZoneInfo, *parts: int) -> datetime:
    return datetime(*parts, tzinfo=zone)  # type: ignore[misc]


def search(earliest: datetime, latest: datetime, zone: str = "Europe/Berlin", **options: object) -> SlotSearch:
    options = {"calendar_id": "primary", "duration": HALF_HOUR, **options}
    return SlotSearch(earliest=earliest, latest=latest, time_zone=zone, **options)  # type: ignore[arg-type]


def day_of(zone: ZoneInfo, year: int, month: int, day: int, *, days: int = 1) -> tuple[datetime, datetime]:
    """Midnight to midnight, `days` long, in `zone`."""
    start = local(zone, year, month, day)
    return start, local(zone, year, month, day) + timedelta(days=days)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


# --- the free-slot arithmetic ------------------------------------------------------------------------------


def test_working_hours_apply_in_the_search_zone() -> None:
    # Monday 5 October 2026: 09:00 in New York (EDT, UTC-4) is 13:00 UTC.
    slot = free_slot_in([], search(utc(2026, 10, 5), utc(2026, 10, 6), "America/New_York"))
    assert slot == Slot(utc(2026, 10, 5, 13), utc(2026, 10, 5, 13, 30))
    assert slot.start.tzinfo is UTC


def test_nine_oclock_stays_nine_across_a_dst_change() -> None:
    # Berlin moves to summer time on Sunday 29 March 2026: 09:00 is 08:00 UTC on Friday, 07:00 UTC on Monday.
    friday = free_slot_in([], search(*day_of(BERLIN, 2026, 3, 27)))
    monday = free_slot_in([], search(local(BERLIN, 2026, 3, 27, 17), local(BERLIN, 2026, 3, 31)))
    assert friday and friday.start == utc(2026, 3, 27, 8)
    assert monday and monday.start == utc(2026, 3, 30, 7), "the weekend is skipped, and Monday is on summer time"
    # New York leaves summer time on Sunday 1 November 2026; a search that allows weekends sees both offsets.
    saturday = free_slot_in([], search(*day_of(NEW_YORK, 2026, 10, 31), "America/New_York", weekdays_only=False))
    sunday = free_slot_in([], search(*day_of(NEW_YORK, 2026, 11, 1), "America/New_York", weekdays_only=False))
    assert saturday and saturday.start == utc(2026, 10, 31, 13)
    assert sunday and sunday.start == utc(2026, 11, 1, 14)
    # The day of the change is 25 hours long; its working hours are still eight.
    late = free_slot_in([], search(local(NEW_YORK, 2026, 11, 1, 16, 30), local(NEW_YORK, 2026, 11, 2),
                                   "America/New_York", weekdays_only=False))  # fmt: skip
    assert late and late.end == utc(2026, 11, 1, 22)  # 17:00 EST


def test_weekends_are_skipped_unless_allowed() -> None:
    weekend = search(*day_of(BERLIN, 2026, 10, 3, days=2))
    assert free_slot_in([], weekend) is None
    assert free_slot_in([], search(*day_of(BERLIN, 2026, 10, 3, days=3))) == Slot(
        utc(2026, 10, 5, 7), utc(2026, 10, 5, 7, 30)
    )
    saturday = free_slot_in([], search(*day_of(BERLIN, 2026, 10, 3, days=2), weekdays_only=False))
    assert saturday and saturday.start == local(BERLIN, 2026, 10, 3, 9)


def test_busy_intervals_push_the_slot_to_the_first_gap_that_fits() -> None:
    monday = search(*day_of(BERLIN, 2026, 10, 5))
    busy = [
        # Given in other offsets and out of order, as providers may.
        Slot(local(BERLIN, 2026, 10, 5, 10, 20).astimezone(NEW_YORK), local(BERLIN, 2026, 10, 5, 11)),
        Slot(local(BERLIN, 2026, 10, 4, 22), local(BERLIN, 2026, 10, 5, 10, 10)),  # since last night
    ]
    # 10:10 rounds up to 10:15, but 10:15-10:45 runs into the meeting at 10:20: the first fit is 11:00.
    assert free_slot_in(busy, monday) == Slot(local(BERLIN, 2026, 10, 5, 11), local(BERLIN, 2026, 10, 5, 11, 30))
    # Back-to-back meetings leave no gap; a gap exactly the duration long is used.
    exact = [Slot(local(BERLIN, 2026, 10, 5, 9), local(BERLIN, 2026, 10, 5, 12)),
             Slot(local(BERLIN, 2026, 10, 5, 12, 30), local(BERLIN, 2026, 10, 5, 17))]  # fmt: skip
    assert free_slot_in(exact, monday) == Slot(local(BERLIN, 2026, 10, 5, 12), local(BERLIN, 2026, 10, 5, 12, 30))
    full = [Slot(local(BERLIN, 2026, 10, 5, 8), local(BERLIN, 2026, 10, 5, 18))]
    assert free_slot_in(full, monday) is None


def test_a_window_too_narrow_finds_nothing_and_starts_are_on_the_quarter_hour() -> None:
    assert free_slot_in([], search(local(BERLIN, 2026, 10, 5, 16, 45), local(BERLIN, 2026, 10, 5, 18))) is None
    assert free_slot_in([], search(local(BERLIN, 2026, 10, 5, 10), local(BERLIN, 2026, 10, 5, 10, 20))) is None
    fits = free_slot_in([], search(local(BERLIN, 2026, 10, 5, 16, 30), local(BERLIN, 2026, 10, 5, 18)))
    assert fits and fits.end == local(BERLIN, 2026, 10, 5, 17)
    now = local(BERLIN, 2026, 10, 5, 10, 7, 33)
    assert free_slot_in([], search(now, now + timedelta(days=1))) == Slot(
        local(BERLIN, 2026, 10, 5, 10, 15), local(BERLIN, 2026, 10, 5, 10, 45)
    )


def test_a_search_refuses_a_bad_zone_duration_or_naive_window() -> None:
    with pytest.raises(InvalidArgument) as bad_zone:
        search(*day_of(BERLIN, 2026, 10, 5), "Mars/Olympus_Mons")
    assert bad_zone.value.violations[0].field == "calendar.time_zone"
    with pytest.raises(InvalidArgument, match="duration"):
        search(*day_of(BERLIN, 2026, 10, 5), duration=timedelta(0))
    with pytest.raises(InvalidArgument, match="working hours"):
        search(*day_of(BERLIN, 2026, 10, 5), work_start_hour=17, work_end_hour=9)
    with pytest.raises(ValueError, match="aware"):
        search(datetime(2026, 10, 5), datetime(2026, 10, 6))


# --- the sandbox calendar ------------------------------------------------------------------------------------


async def test_sandbox_finds_the_same_slot_every_time_and_per_calendar() -> None:
    week = [search(*day_of(BERLIN, 2026, 10, 5 + n)) for n in range(5)]
    first = [await SandboxCalendar().find_slot(s) for s in week]
    again = [await SandboxCalendar().find_slot(s) for s in week]
    assert first == again
    other = [
        await SandboxCalendar().find_slot(SlotSearch(**{**vars(s), "calendar_id": "team@example.com"})) for s in week
    ]
    assert other != first, "another calendar has another diary"
    assert all(s is None or s.start.astimezone(BERLIN).hour >= 9 for s in first)


async def test_sandbox_has_full_days_that_a_broader_window_gets_past() -> None:
    sandbox = SandboxCalendar()
    weekdays = [local(BERLIN, 2026, 10, 5) + timedelta(days=n) for n in range(21)]
    weekdays = [d for d in weekdays if d.weekday() < 4]  # Monday to Thursday: the next day is a weekday too
    full = [d for d in weekdays if await sandbox.find_slot(search(d, d + timedelta(days=1))) is None]
    assert full, "some one-day windows find no slot"
    for day in full:
        broadened = await sandbox.find_slot(search(day, day + timedelta(days=2)))
        assert broadened and broadened.start >= day + timedelta(days=1)


async def test_sandbox_booking_is_idempotent_on_its_key() -> None:
    sandbox = SandboxCalendar(busy="never")
    monday = search(*day_of(BERLIN, 2026, 10, 5))
    booked = await book(sandbox, monday, key="runs:r1:l1:meeting")
    assert booked == Booking(
        booked.event_id, booked.link, local(BERLIN, 2026, 10, 5, 9), local(BERLIN, 2026, 10, 5, 9, 30)
    )
    assert booked.link.startswith("https://") and booked.event_id in booked.link
    assert await book(sandbox, monday, key="runs:r1:l1:meeting") == booked
    second = await book(sandbox, monday, key="runs:r1:l2:meeting")
    assert second and second.start == booked.end, "a booked slot is busy for the next lead"
    # Another process's sandbox gives the key the same event id.
    assert (await book(SandboxCalendar(busy="never"), monday, key="runs:r1:l1:meeting")).event_id == booked.event_id


async def test_sandbox_set_to_always_busy_never_has_a_slot() -> None:
    sandbox = calendar_for("sandbox", CalendarSettings(sandbox_calendar_busy="always"))
    month = search(local(BERLIN, 2026, 10, 5), local(BERLIN, 2026, 11, 5))
    assert await sandbox.find_slot(month) is None
    assert await sandbox.book(month, key="k", attendee_email="a@b.c", attendee_name="A", summary="s",
                              description="d") is None  # fmt: skip


# --- choosing a provider -------------------------------------------------------------------------------------


async def test_choosing_a_provider() -> None:
    assert calendar_for("", CalendarSettings()).name == "sandbox"
    with pytest.raises(Unavailable, match="GOOGLE_CALENDAR_ACCESS_TOKEN is not set"):
        calendar_for("google", CalendarSettings())
    with pytest.raises(InvalidArgument) as unknown:
        calendar_for("outlook", CalendarSettings())
    assert unknown.value.violations[0].field == "calendar.provider" and "sandbox, google" in unknown.value.message
    google = calendar_for("google", CalendarSettings(google_calendar_access_token="t", calendar_call_timeout_s=3))
    assert isinstance(google, GoogleCalendar) and google.base_url == "https://www.googleapis.com"
    assert google.client.timeout == httpx.Timeout(3.0, connect=3.0)
    await google.close()
    assert google.client.is_closed


# --- the Google adapter against the fake ---------------------------------------------------------------------


@pytest.fixture
def google() -> Iterator[FakeGoogleCalendar]:
    with FakeGoogleCalendar(calendars=("primary", "team@example.com")) as fake:
        yield fake


Adapter = Callable[..., GoogleCalendar]


@pytest.fixture
async def adapter(google: FakeGoogleCalendar) -> AsyncIterator[Adapter]:
    made: list[GoogleCalendar] = []

    def make(*, token: str = TOKEN, timeout_s: float = 5.0, sleeps: Sleeps | None = None) -> GoogleCalendar:
        client = httpx.AsyncClient(timeout=httpx.Timeout(timeout_s))
        made.append(
            GoogleCalendar(
                api_key=token, base_url=google.url, client=client, sleep=Sleeps() if sleeps is None else sleeps
            )
        )
        return made[-1]

    yield make
    for calendar in made:
        await calendar.close()


async def book(calendar: SandboxCalendar | GoogleCalendar, where: SlotSearch, *, key: str) -> Booking:
    booking = await calendar.book(where, key=key, attendee_email="ada@analytical.io", attendee_name="Ada Lovelace",
                                  summary="Intro call", description="Booked by Lead Flood")  # fmt: skip
    assert booking is not None
    return booking


MONDAY = search(*day_of(BERLIN, 2026, 10, 5))
KEY = "runs:7f1c:4e2a:meeting"


async def test_google_books_the_first_free_slot(google: FakeGoogleCalendar, adapter: Adapter) -> None:
    google.add_busy(local(BERLIN, 2026, 10, 5, 8), local(BERLIN, 2026, 10, 5, 10, 5))
    booking = await book(adapter(), MONDAY, key=KEY)
    assert (booking.start, booking.end) == (local(BERLIN, 2026, 10, 5, 10, 15), local(BERLIN, 2026, 10, 5, 10, 45))
    assert booking.event_id == event_id_for(KEY) and booking.link.startswith("https://www.google.com/calendar/event")
    [query] = [json.loads(r.body) for r in google.received if r.path == "/calendar/v3/freeBusy"]
    assert query == {
        "timeMin": "2026-10-04T22:00:00Z", "timeMax": "2026-10-05T22:00:00Z", "timeZone": "Europe/Berlin",
        "items": [{"id": "primary"}],
    }  # fmt: skip
    [made] = google.inserted
    assert (made.calendar_id, made.event_id, made.send_updates) == ("primary", booking.event_id, "all")
    assert made.body["attendees"] == [{"email": "ada@analytical.io", "displayName": "Ada Lovelace"}]
    assert made.body["start"] == {"dateTime": "2026-10-05T08:15:00Z", "timeZone": "Europe/Berlin"}
    assert (made.body["summary"], made.body["description"]) == ("Intro call", "Booked by Lead Flood")
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in google.received)


def test_event_ids_are_valid_google_ids_and_stable() -> None:
    ids = {event_id_for(f"runs:{n}:lead:meeting") for n in range(200)}
    assert len(ids) == 200 and all(
        5 <= len(i) <= 1024 and set(i) <= set("abcdefghijklmnopqrstuv0123456789") for i in ids
    )
    assert event_id_for(KEY) == event_id_for(KEY)


async def test_google_without_a_free_slot_books_nothing(google: FakeGoogleCalendar, adapter: Adapter) -> None:
    google.add_busy(local(BERLIN, 2026, 10, 5, 9), local(BERLIN, 2026, 10, 5, 17))
    calendar = adapter()
    assert await calendar.find_slot(MONDAY) is None
    assert await calendar.book(MONDAY, key=KEY, attendee_email="a@b.io", attendee_name="A", summary="s",
                               description="d") is None  # fmt: skip
    assert google.inserted == []
    # A window of weekend only is answered without asking Google.
    before = len(google.received)
    assert await calendar.find_slot(search(*day_of(BERLIN, 2026, 10, 3, days=2))) is None
    assert len(google.received) == before


async def test_google_booking_twice_with_one_key_makes_one_event(google: FakeGoogleCalendar, adapter: Adapter) -> None:
    calendar = adapter()
    first = await book(calendar, MONDAY, key=KEY)
    # The first event now fills 09:00: the second call finds 09:30 free, and Google's 409 says the key is booked.
    assert await book(calendar, MONDAY, key=KEY) == first
    assert len(google.inserted) == 1
    # A window the first event fills completely: no slot, yet the key's booking is still the answer.
    only_that = search(first.start, first.end)
    assert await book(calendar, only_that, key=KEY) == first
    assert len(google.inserted) == 1
    assert (await book(calendar, MONDAY, key="runs:7f1c:other:meeting")).start == first.end


async def test_google_bookings_made_at_once_take_different_slots(google: FakeGoogleCalendar, adapter: Adapter) -> None:
    calendar = adapter()
    booked = await asyncio.gather(*[book(calendar, MONDAY, key=f"runs:7f1c:{n}:meeting") for n in range(3)])
    assert sorted(b.start for b in booked) == [local(BERLIN, 2026, 10, 5, 9) + HALF_HOUR * n for n in range(3)]
    assert len(google.inserted) == 3


@pytest.mark.parametrize("how", ["drop", "hang"])
async def test_google_booking_survives_a_lost_reply(google: FakeGoogleCalendar, adapter: Adapter, how: str) -> None:
    google.lose_next_insert_reply(how)  # type: ignore[arg-type]
    sleeps = Sleeps()
    booking = await book(adapter(timeout_s=0.3, sleeps=sleeps), MONDAY, key=KEY)
    assert len(google.inserted) == 1, "the event the lost reply announced, and no second one"
    assert booking.event_id == google.inserted[0].event_id and booking.start == local(BERLIN, 2026, 10, 5, 9)
    calls = [(r.method, r.path.rsplit("/", 1)[-1]) for r in google.received]
    assert calls == [("POST", "freeBusy"), ("POST", "events"), ("POST", "events"), ("GET", booking.event_id)]
    assert sleeps == [0.5], "one retry after the lost reply; it met the 409"


async def test_google_retries_server_errors_then_books(google: FakeGoogleCalendar, adapter: Adapter) -> None:
    google.fail_next(server_error(), rate_limited(429))
    sleeps = Sleeps()
    booking = await book(adapter(sleeps=sleeps), MONDAY, key=KEY)
    assert booking.start == local(BERLIN, 2026, 10, 5, 9) and len(google.inserted) == 1
    assert sleeps == [0.5, 1.0]


async def test_google_outage_through_every_attempt_is_retryable(google: FakeGoogleCalendar, adapter: Adapter) -> None:
    google.fail_next(*[server_error()] * 4)
    with pytest.raises(ProviderUnavailable, match="server error 500 after 4 attempts"):
        await adapter().find_slot(MONDAY)


async def test_google_refused_token_names_the_setting(google: FakeGoogleCalendar, adapter: Adapter) -> None:
    with pytest.raises(ProviderAuthError) as refused:
        await adapter(token="expired").find_slot(MONDAY)
    assert refused.value.status == 401
    assert "GOOGLE_CALENDAR_ACCESS_TOKEN" in str(refused.value) and "Invalid Credentials" in str(refused.value)
    assert len(google.received) == 1, "a refused token is not tried again"


async def test_google_403s_tell_a_rate_limit_from_a_missing_permission(
    google: FakeGoogleCalendar, adapter: Adapter
) -> None:
    google.fail_next(rate_limited(403))
    with pytest.raises(ProviderUnavailable, match="rate limited"):
        await adapter().find_slot(MONDAY)
    google.fail_next(forbidden())
    with pytest.raises(ProviderAuthError, match="writer access.*GOOGLE_CALENDAR_ACCESS_TOKEN needs"):
        await adapter().find_slot(MONDAY)


async def test_google_calendar_it_cannot_read_is_an_error_not_a_free_day(
    google: FakeGoogleCalendar, adapter: Adapter
) -> None:
    with pytest.raises(ProviderRejected, match="cannot read calendar 'nobody@example.com' \\(notFound\\)"):
        await adapter().find_slot(SlotSearch(**{**vars(MONDAY), "calendar_id": "nobody@example.com"}))


async def test_google_calendar_ids_are_escaped_in_the_path(google: FakeGoogleCalendar, adapter: Adapter) -> None:
    team = SlotSearch(**{**vars(MONDAY), "calendar_id": "team@example.com"})
    google.add_busy(local(BERLIN, 2026, 10, 5, 9), local(BERLIN, 2026, 10, 5, 12), calendar_id="team@example.com")
    booking = await book(adapter(), team, key=KEY)
    assert booking.start == local(BERLIN, 2026, 10, 5, 12)
    assert google.inserted[0].calendar_id == "team@example.com"
    assert any(r.path == "/calendar/v3/calendars/team%40example.com/events" for r in google.received)
