"""Shared wire shapes: request bodies in camelCase with unknown fields rejected; timestamps out."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

# What an int32 field of the contracts can carry: a larger number is the caller's error, not ours.
Int32 = Annotated[int, Field(ge=-(2**31), le=2**31 - 1)]


class Body(BaseModel):
    model_config = ConfigDict(
        extra="forbid", alias_generator=to_camel, populate_by_name=False, str_strip_whitespace=True, strict=True
    )


def enum_word(value: int, enum: Any, prefix: str) -> str:
    """LEAD_STATUS_ENRICHED -> enriched."""
    return enum.Name(value).removeprefix(prefix).lower()


class Timestamps:
    @staticmethod
    def of(message: Any, *names: str) -> dict[str, str | None]:
        """created_at -> createdAt: an RFC 3339 string, or None when unset."""
        return {
            to_camel(name): getattr(message, name).ToJsonString() if message.HasField(name) else None for name in names
        }
