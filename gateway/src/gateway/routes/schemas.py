"""Shared wire shapes: request bodies in camelCase with unknown fields rejected; timestamps out; the documented
shape of a response."""

from __future__ import annotations

import functools
import time
from typing import Annotated, Any

from google.protobuf import timestamp_pb2
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from leadflood_platform import totals

# What an int32 field of the contracts can carry: a larger number is the caller's error, not ours.
Int32 = Annotated[int, Field(ge=-(2**31), le=2**31 - 1)]


class Reply(BaseModel):
    """A response's shape as the OpenAPI document states it (camelCase). Routes build their JSON by hand, so
    these only document it; tests/gateway/test_openapi.py checks each against the JSON a route builds."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


def documents(model: type[BaseModel], status: int = 200) -> dict[str, Any]:
    """A route decorator's arguments that document its answer as `model` without FastAPI validating the answer
    against it (no cost on the hot path, and a field added to the JSON is never dropped on the way out)."""
    return {"response_model": None, "responses": {status: {"model": model}}}


# A list's count stops here (the services count with leadflood_platform.totals): "10,000+" on a table's header.
MAX_TOTAL = totals.MAX_TOTAL


class Totalled(Reply):
    """A page of a list that counts what matches it: the first page carries the total, a later page does not."""

    total: int | None = Field(
        description=f"The first page only (no `cursor`, `after` or `before`): how many items match, exact up to "
        f"{MAX_TOTAL:,}; past that {MAX_TOTAL:,} with `totalCapped` true. Null on a later page."
    )
    total_capped: bool = Field(description=f"More than `total` items match (the count stops at {MAX_TOTAL:,})")


class CursorPage(Totalled):
    """A counted list's page, the next one asked for with `cursor`."""

    next_cursor: str | None = Field(description="The `cursor` of the next page; null on the last")


def total_json(reply: Any) -> dict[str, Any]:
    """A list reply's `total` (set on a first page asked `with_total`) and `total_capped`, as `Totalled` says."""
    return {"total": reply.total if reply.HasField("total") else None, "totalCapped": reply.total_capped}


class Body(BaseModel):
    model_config = ConfigDict(
        extra="forbid", alias_generator=to_camel, populate_by_name=False, str_strip_whitespace=True, strict=True
    )


@functools.cache
def enum_word(value: int, enum: Any, prefix: str) -> str:
    """LEAD_STATUS_ENRICHED -> enriched (remembered: a list page asks it for each of its rows)."""
    return enum.Name(value).removeprefix(prefix).lower()


class Timestamps:
    @staticmethod
    def of(message: Any, *names: str) -> dict[str, str | None]:
        """created_at -> createdAt: an RFC 3339 string, or None when unset."""
        return {_camel(name): rfc3339(getattr(message, name)) if message.HasField(name) else None for name in names}


@functools.cache
def _camel(name: str) -> str:
    return to_camel(name)  # a few regular expressions: worked out once per name, not twice per lead of a list


def rfc3339(stamp: timestamp_pb2.Timestamp) -> str:
    """What Timestamp.ToJsonString gives (UTC, "Z", 0, 3, 6 or 9 fraction digits), at a fifth of its cost."""
    text = _utc_second(stamp.seconds)
    nanos = stamp.nanos
    if not nanos:
        return text + "Z"
    if nanos % 1_000_000 == 0:
        return f"{text}.{nanos // 1_000_000:03d}Z"
    if nanos % 1000 == 0:
        return f"{text}.{nanos // 1000:06d}Z"
    return f"{text}.{nanos:09d}Z"


@functools.lru_cache(maxsize=4096)
def _utc_second(seconds: int) -> str:
    """The date and time to the second: remembered, as the rows of a list were mostly written together (a search
    run's page of leads shares one created_at) and formatting it was a tenth of a list page's CPU in the gateway."""
    year, month, day, hour, minute, second = time.gmtime(seconds)[:6]
    return f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}"
