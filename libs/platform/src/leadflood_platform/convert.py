"""Conversions between stored values and protobuf well-known types, shared by every servicer."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from google.protobuf import struct_pb2, timestamp_pb2

from leadflood_platform.errors import NotFound, quoted


def parse_id(value: str, name: str) -> uuid.UUID:
    """An id from a request; a malformed one is a lookup that finds nothing."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound(f"{name} {quoted(value)} not found") from None


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def timestamp(value: dt.datetime | None) -> timestamp_pb2.Timestamp | None:
    """A naive value is taken as UTC, as Timestamp.FromDatetime takes it, at a third of its cost (a list of 50 leads
    has 100 of these)."""
    if value is None:
        return None
    delta = (value if value.tzinfo else value.replace(tzinfo=dt.UTC)) - _EPOCH
    return timestamp_pb2.Timestamp(seconds=delta.days * 86_400 + delta.seconds, nanos=delta.microseconds * 1000)


def struct(value: dict[str, Any] | None) -> struct_pb2.Struct | None:
    if value is None:
        return None
    out = struct_pb2.Struct()
    out.update(value)
    return out
