"""A lead's time zone: set by hand, else read from its location where that names one zone only.

The location is free text from a provider or an import ("Berlin, Germany", "London", "Texas, United
States"). Only places inside a single zone are mapped: a country with one zone, a US state or Canadian
province with one, a large city. "United States", "Canada", "Australia", "Brazil", "Russia" alone name
several zones and give none; a sequence then sends in its own window's time zone (there is no org-wide one).
"""

from __future__ import annotations

import re
import zoneinfo

from leadflood_platform.errors import InvalidArgument

# Whole places (lower case) that lie in one zone. Longer names are matched before their parts.
_PLACES = {
    # Countries with one zone.
    "germany": "Europe/Berlin", "deutschland": "Europe/Berlin", "france": "Europe/Paris", "spain": "Europe/Madrid",
    "italy": "Europe/Rome", "netherlands": "Europe/Amsterdam", "the netherlands": "Europe/Amsterdam",
    "belgium": "Europe/Brussels", "switzerland": "Europe/Zurich", "austria": "Europe/Vienna",
    "united kingdom": "Europe/London", "uk": "Europe/London", "england": "Europe/London", "scotland": "Europe/London",
    "wales": "Europe/London", "ireland": "Europe/Dublin", "portugal": "Europe/Lisbon", "poland": "Europe/Warsaw",
    "sweden": "Europe/Stockholm", "norway": "Europe/Oslo", "denmark": "Europe/Copenhagen",
    "finland": "Europe/Helsinki", "czech republic": "Europe/Prague", "czechia": "Europe/Prague",
    "greece": "Europe/Athens", "romania": "Europe/Bucharest", "hungary": "Europe/Budapest",
    "israel": "Asia/Jerusalem", "india": "Asia/Kolkata", "japan": "Asia/Tokyo", "south korea": "Asia/Seoul",
    "singapore": "Asia/Singapore", "china": "Asia/Shanghai", "hong kong": "Asia/Hong_Kong",
    "united arab emirates": "Asia/Dubai", "uae": "Asia/Dubai", "south africa": "Africa/Johannesburg",
    "nigeria": "Africa/Lagos", "kenya": "Africa/Nairobi", "egypt": "Africa/Cairo", "new zealand": "Pacific/Auckland",
    "argentina": "America/Argentina/Buenos_Aires", "colombia": "America/Bogota", "peru": "America/Lima",
    "chile": "America/Santiago", "philippines": "Asia/Manila", "vietnam": "Asia/Ho_Chi_Minh",
    "thailand": "Asia/Bangkok", "turkey": "Europe/Istanbul",
    # US states and Canadian provinces in one zone (not Florida, Texas, Tennessee... which have two).
    "california": "America/Los_Angeles", "washington": "America/Los_Angeles", "oregon": "America/Los_Angeles",
    "nevada": "America/Los_Angeles", "new york": "America/New_York", "massachusetts": "America/New_York",
    "new jersey": "America/New_York", "pennsylvania": "America/New_York", "georgia": "America/New_York",
    "virginia": "America/New_York", "north carolina": "America/New_York", "ohio": "America/New_York",
    "illinois": "America/Chicago", "minnesota": "America/Chicago", "wisconsin": "America/Chicago",
    "missouri": "America/Chicago", "colorado": "America/Denver", "utah": "America/Denver",
    "arizona": "America/Phoenix", "hawaii": "Pacific/Honolulu", "ontario": "America/Toronto",
    "quebec": "America/Toronto", "british columbia": "America/Vancouver", "alberta": "America/Edmonton",
    # Large cities, so a location without its country is still read.
    "berlin": "Europe/Berlin", "munich": "Europe/Berlin", "hamburg": "Europe/Berlin", "paris": "Europe/Paris",
    "london": "Europe/London", "dublin": "Europe/Dublin", "amsterdam": "Europe/Amsterdam", "madrid": "Europe/Madrid",
    "barcelona": "Europe/Madrid", "stockholm": "Europe/Stockholm", "zurich": "Europe/Zurich",
    "new york city": "America/New_York", "nyc": "America/New_York", "boston": "America/New_York",
    "san francisco": "America/Los_Angeles", "los angeles": "America/Los_Angeles", "seattle": "America/Los_Angeles",
    "chicago": "America/Chicago", "austin": "America/Chicago", "dallas": "America/Chicago",
    "houston": "America/Chicago", "denver": "America/Denver", "miami": "America/New_York",
    "atlanta": "America/New_York", "toronto": "America/Toronto", "vancouver": "America/Vancouver",
    "montreal": "America/Toronto", "sydney": "Australia/Sydney", "melbourne": "Australia/Melbourne",
    "tokyo": "Asia/Tokyo", "bangalore": "Asia/Kolkata", "bengaluru": "Asia/Kolkata", "mumbai": "Asia/Kolkata",
    "tel aviv": "Asia/Jerusalem", "sao paulo": "America/Sao_Paulo", "são paulo": "America/Sao_Paulo",
    "mexico city": "America/Mexico_City", "dubai": "Asia/Dubai",
}  # fmt: skip


def validated(name: str) -> str:
    """An IANA zone name as given ("" clears it); INVALID_ARGUMENT naming time_zone otherwise."""
    name = name.strip()
    if not name:
        return ""
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise InvalidArgument.on(
            "time_zone", f"unknown time zone {name[:64]!r}; use an IANA name like Europe/Berlin"
        ) from None
    return name


def from_location(location: str) -> str:
    """The one zone the location lies in, or "" when it names none, or several (the most specific part wins)."""
    parts = [part.strip().lower() for part in re.split(r"[,/;|]", location or "") if part.strip()]
    for part in parts:  # city first, then region, then country, as locations are usually written
        if part in _PLACES:
            return _PLACES[part]
    return ""


def effective(own: str | None, location: str) -> tuple[str, str]:
    """(zone, where it came from: "lead", "location", or "" when neither gives one)."""
    if own:
        return own, "lead"
    derived = from_location(location)
    return (derived, "location") if derived else ("", "")
