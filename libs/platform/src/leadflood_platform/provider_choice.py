"""Checks a user's choice of provider before any work is queued: known, and configured."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from leadflood_platform.errors import InvalidArgument, Unavailable, quoted


def require_provider(
    *, field: str, choice: str, known: Sequence[str], settings: object, keys: Mapping[str, str], kind: str
) -> str:
    """The choice; INVALID_ARGUMENT when unknown, UNAVAILABLE naming the setting when its key is unset."""
    if choice not in known:
        raise InvalidArgument.on(field, f"unknown {field} {quoted(choice)}; use one of {', '.join(known)}")
    setting = keys.get(choice)
    if setting and not getattr(settings, setting):
        raise Unavailable(f"{setting.upper()} is not set: the {choice} {kind} provider is not configured")
    return choice
