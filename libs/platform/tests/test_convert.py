"""The shared protobuf conversions agree with protobuf's own."""

from __future__ import annotations

import datetime as dt

import pytest
from google.protobuf import timestamp_pb2

from leadflood_platform.convert import timestamp


@pytest.mark.parametrize(
    "value",
    [
        dt.datetime(2026, 12, 2, 14, 3, 5, 123456, tzinfo=dt.UTC),
        dt.datetime(2026, 1, 1, 1, 0, tzinfo=dt.timezone(dt.timedelta(hours=5))),  # another offset
        dt.datetime(2026, 3, 29, 2, 30, 0, 1),  # naive: taken as UTC
        dt.datetime(1969, 7, 20, 20, 17, 40, 999999, tzinfo=dt.UTC),  # before the epoch: negative seconds
    ],
)
def test_timestamp_is_what_from_datetime_gives(value: dt.datetime) -> None:
    expected = timestamp_pb2.Timestamp()
    expected.FromDatetime(value)
    assert timestamp(value) == expected


def test_no_value_is_no_timestamp() -> None:
    assert timestamp(None) is None
