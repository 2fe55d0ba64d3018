"""A lead's window is read in the lead's own time zone when it has one, else in the sequence's."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sequences import service
from sequences.models import Sequence, Step

# Monday 2026-12-07 15:00 UTC: 10:00 in New York, 00:00 (Tuesday) in Tokyo.
MONDAY_15_UTC = dt.datetime(2026, 12, 7, 15, 0, tzinfo=dt.UTC)


def _sequence() -> tuple[Sequence, Step]:
    sequence = Sequence(
        name="t", state="active", time_zone="America/New_York", window_days=[1, 2, 3, 4, 5],
        window_start=dt.time(9), window_end=dt.time(17),
    )  # fmt: skip
    step = Step(delay_amount=0, delay_unit="hours")
    return sequence, step


def test_without_a_lead_zone_the_sequence_s_zone_applies() -> None:
    sequence, step = _sequence()
    slot = service.plan_step(sequence, step, MONDAY_15_UTC)
    assert slot.send_at == MONDAY_15_UTC  # 10:00 in New York: inside the window


def test_a_lead_in_tokyo_waits_for_nine_in_tokyo() -> None:
    sequence, step = _sequence()
    slot = service.plan_step(sequence, step, MONDAY_15_UTC, "Asia/Tokyo")
    assert slot.send_at.astimezone(ZoneInfo("Asia/Tokyo")) == dt.datetime(
        2026, 12, 8, 9, 0, tzinfo=ZoneInfo("Asia/Tokyo")
    )


def test_a_zone_the_database_lacks_falls_back_to_the_sequence_s() -> None:
    sequence, _ = _sequence()
    assert service.zone_of(sequence, "Nowhere/Else") == ZoneInfo("America/New_York")
    assert service.zone_of(sequence, "Europe/Berlin") == ZoneInfo("Europe/Berlin")
