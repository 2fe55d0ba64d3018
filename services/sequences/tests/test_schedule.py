"""Window and delay math in the lead's zone, across DST changes (New York and Berlin, 2026)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from leadflood_platform.errors import InvalidArgument
from sequences import schedule
from sequences.schedule import BUSINESS_DAYS, HOURS, Window

NEW_YORK, BERLIN = ZoneInfo("America/New_York"), ZoneInfo("Europe/Berlin")
WEEKDAYS_9_TO_5 = Window()
EVERY_DAY_9_TO_5 = Window(days=schedule.ALL_DAYS)


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


def local(zone: ZoneInfo, *args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=zone).astimezone(dt.UTC)


def test_a_moment_inside_the_window_goes_at_once_until_the_window_closes() -> None:
    at = local(NEW_YORK, 2026, 3, 4, 10, 30)  # a Wednesday
    slot = schedule.next_opening(at, WEEKDAYS_9_TO_5, NEW_YORK)
    assert slot == schedule.Slot(send_at=at, closes_at=local(NEW_YORK, 2026, 3, 4, 17, 0), waited_for_window=False)


def test_after_hours_and_weekends_wait_for_the_next_opening() -> None:
    friday_evening = local(NEW_YORK, 2026, 3, 6, 18, 0)
    slot = schedule.next_opening(friday_evening, WEEKDAYS_9_TO_5, NEW_YORK)
    assert slot.send_at == local(NEW_YORK, 2026, 3, 9, 9, 0) and slot.waited_for_window
    early = local(NEW_YORK, 2026, 3, 4, 7, 0)
    assert schedule.next_opening(early, WEEKDAYS_9_TO_5, NEW_YORK).send_at == local(NEW_YORK, 2026, 3, 4, 9, 0)
    # The closing moment itself is outside: [start, end).
    closing = local(NEW_YORK, 2026, 3, 4, 17, 0)
    assert schedule.next_opening(closing, WEEKDAYS_9_TO_5, NEW_YORK).send_at == local(NEW_YORK, 2026, 3, 5, 9, 0)


def test_the_window_opens_at_local_nine_on_both_sides_of_the_spring_change_in_new_york() -> None:
    # 2026-03-08 02:00 EST becomes 03:00 EDT: 09:00 is 14:00 UTC on the 7th and 13:00 UTC on the 8th.
    saturday = schedule.next_opening(utc(2026, 3, 7, 3, 0), EVERY_DAY_9_TO_5, NEW_YORK)
    sunday = schedule.next_opening(utc(2026, 3, 8, 3, 0), EVERY_DAY_9_TO_5, NEW_YORK)
    assert saturday.send_at == utc(2026, 3, 7, 14, 0) and saturday.closes_at == utc(2026, 3, 7, 22, 0)
    assert sunday.send_at == utc(2026, 3, 8, 13, 0) and sunday.closes_at == utc(2026, 3, 8, 21, 0)


def test_the_window_opens_at_local_nine_on_both_sides_of_the_autumn_change_in_new_york() -> None:
    # 2026-11-01 02:00 EDT becomes 01:00 EST: 09:00 is 13:00 UTC on the 31st and 14:00 UTC on the 1st.
    saturday = schedule.next_opening(utc(2026, 10, 31, 3, 0), EVERY_DAY_9_TO_5, NEW_YORK)
    sunday = schedule.next_opening(utc(2026, 11, 1, 3, 0), EVERY_DAY_9_TO_5, NEW_YORK)
    assert saturday.send_at == utc(2026, 10, 31, 13, 0) and saturday.closes_at == utc(2026, 10, 31, 21, 0)
    assert sunday.send_at == utc(2026, 11, 1, 14, 0) and sunday.closes_at == utc(2026, 11, 1, 22, 0)


def test_business_days_keep_the_local_time_across_the_change() -> None:
    friday = local(NEW_YORK, 2026, 3, 6, 10, 0)  # EST: 15:00 UTC
    monday = schedule.after_delay(friday, 1, BUSINESS_DAYS, NEW_YORK)
    assert monday == local(NEW_YORK, 2026, 3, 9, 10, 0) == utc(2026, 3, 9, 14, 0)  # EDT: 14:00 UTC
    assert schedule.after_delay(local(NEW_YORK, 2026, 10, 30, 10, 0), 1, BUSINESS_DAYS, NEW_YORK) == utc(
        2026, 11, 2, 15, 0
    )
    # Berlin changes on 2026-03-29 (CET to CEST) and 2026-10-25 (back).
    assert schedule.after_delay(local(BERLIN, 2026, 3, 27, 16, 0), 1, BUSINESS_DAYS, BERLIN) == utc(2026, 3, 30, 14, 0)
    assert schedule.after_delay(local(BERLIN, 2026, 10, 23, 16, 0), 1, BUSINESS_DAYS, BERLIN) == utc(2026, 10, 26, 15)


def test_business_days_skip_the_weekend_in_the_leads_zone() -> None:
    # Friday 23:30 in New York is already Saturday in UTC: the weekend is the lead's, not UTC's.
    friday_night = local(NEW_YORK, 2026, 3, 13, 23, 30)
    assert schedule.after_delay(friday_night, 1, BUSINESS_DAYS, NEW_YORK) == local(NEW_YORK, 2026, 3, 16, 23, 30)
    wednesday = local(NEW_YORK, 2026, 3, 4, 10, 0)
    assert schedule.after_delay(wednesday, 3, BUSINESS_DAYS, NEW_YORK) == local(NEW_YORK, 2026, 3, 9, 10, 0)
    saturday = local(NEW_YORK, 2026, 3, 7, 10, 0)
    assert schedule.after_delay(saturday, 1, BUSINESS_DAYS, NEW_YORK) == local(NEW_YORK, 2026, 3, 9, 10, 0)
    assert schedule.after_delay(saturday, 0, BUSINESS_DAYS, NEW_YORK) == saturday


def test_hours_are_elapsed_hours_whatever_the_clock_says() -> None:
    before = local(NEW_YORK, 2026, 3, 8, 0, 30)  # EST
    after = schedule.after_delay(before, 3, HOURS, NEW_YORK)
    assert after - before == dt.timedelta(hours=3)
    assert after.astimezone(NEW_YORK).hour == 4  # 01:30 EST + 3 h is 04:30 EDT: the wall clock skipped an hour
    autumn = local(NEW_YORK, 2026, 11, 1, 0, 30)
    assert schedule.after_delay(autumn, 3, HOURS, NEW_YORK).astimezone(NEW_YORK).hour == 2


def test_a_delay_then_the_window_in_berlin_across_its_spring_change() -> None:
    friday_evening = local(BERLIN, 2026, 3, 27, 18, 0)  # after hours, CET
    slot = schedule.plan(friday_evening, 1, BUSINESS_DAYS, WEEKDAYS_9_TO_5, BERLIN)
    # Monday 18:00 (CEST) is after hours too: Tuesday 09:00 CEST, 07:00 UTC.
    assert slot.send_at == utc(2026, 3, 31, 7, 0) and slot.closes_at == utc(2026, 3, 31, 15, 0)
    assert slot.waited_for_window


def test_a_window_opening_in_the_spring_gap_opens_after_it() -> None:
    small_hours = Window(days=schedule.ALL_DAYS, start=dt.time(2, 30), end=dt.time(6, 0))
    slot = schedule.next_opening(utc(2026, 3, 8, 5, 0), small_hours, NEW_YORK)  # 00:00 EST
    # 02:30 does not exist that night: the window opens at 03:30 EDT (07:30 UTC), one real hour past 01:30 EST.
    assert slot.send_at == utc(2026, 3, 8, 7, 30) and slot.closes_at == utc(2026, 3, 8, 10, 0)


def test_window_and_zone_validation() -> None:
    with pytest.raises(ValueError):
        Window(days=frozenset())
    with pytest.raises(ValueError):
        Window(start=dt.time(17), end=dt.time(9))
    with pytest.raises(InvalidArgument) as caught:
        schedule.zone("Mars/Olympus")
    assert caught.value.violations[0].field == "window.time_zone"
    with pytest.raises(InvalidArgument):
        schedule.zone("../../etc/passwd")
    with pytest.raises(InvalidArgument):
        schedule.parse_time("25:00", "window.start_time")
