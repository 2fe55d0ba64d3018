"""A lead's time zone: its own, else the one its location names, never a guess among several."""

from __future__ import annotations

import pytest

from leadflood_platform.errors import InvalidArgument
from leads import time_zones


@pytest.mark.parametrize(
    ("location", "zone"),
    [
        ("Berlin, Germany", "Europe/Berlin"),
        ("Munich", "Europe/Berlin"),
        ("London, United Kingdom", "Europe/London"),
        ("San Francisco, California, United States", "America/Los_Angeles"),
        ("Austin, Texas, United States", "America/Chicago"),  # the city decides; Texas alone has two zones
        ("Bengaluru, India", "Asia/Kolkata"),
        ("Toronto / Ontario / Canada", "America/Toronto"),
    ],
)
def test_a_location_in_one_zone_gives_it(location: str, zone: str) -> None:
    assert time_zones.from_location(location) == zone


@pytest.mark.parametrize("location", ["United States", "Texas, United States", "Canada", "Australia", "", "Remote"])
def test_a_location_spanning_several_zones_gives_none(location: str) -> None:
    assert time_zones.from_location(location) == ""


def test_the_lead_s_own_zone_wins_then_the_location_s() -> None:
    assert time_zones.effective("Asia/Tokyo", "Berlin, Germany") == ("Asia/Tokyo", "lead")
    assert time_zones.effective(None, "Berlin, Germany") == ("Europe/Berlin", "location")
    assert time_zones.effective(None, "United States") == ("", "")


def test_a_zone_set_by_hand_must_be_an_iana_name() -> None:
    assert time_zones.validated(" Europe/Paris ") == "Europe/Paris"
    assert time_zones.validated("") == ""
    with pytest.raises(InvalidArgument) as refused:
        time_zones.validated("Mars/Olympus_Mons")
    assert refused.value.violations[0].field == "time_zone"
