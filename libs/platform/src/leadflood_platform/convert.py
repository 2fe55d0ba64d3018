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


def timestamp(value: dt.datetime | None) -> timestamp_pb2.Timestamp | None:
    if value is None:
        return None
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(value)
    return stamp


def struct(value: dict[str, Any] | None) -> struct_pb2.Struct | None:
    if value is None:
        return None
    out = struct_pb2.Struct()
    out.update(value)
    return out
