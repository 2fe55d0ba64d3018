"""The tokens of each gateway signed in to, kept in one file only its owner can read."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def path() -> Path:
    """~/.config/leadflood/credentials.json (or under $XDG_CONFIG_HOME, as the XDG base directories say)."""
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "leadflood" / "credentials.json"


def _read() -> dict[str, Any]:
    try:
        stored = json.loads(path().read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        return {}  # an unreadable file is as good as none: signing in again writes a fresh one
    return stored if isinstance(stored, dict) else {}


def _write(stored: dict[str, Any]) -> None:
    target = path()
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # Written to a file created 0600, then renamed over the old one: the tokens are never readable by
    # others, not even for a moment, and a crash mid-write leaves the old file whole.
    temporary = target.with_name(f".{target.name}.{os.getpid()}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        json.dump(stored, file, indent=2, sort_keys=True)
    os.replace(temporary, target)


def get(base_url: str) -> dict[str, Any] | None:
    """The tokens kept for a gateway, or None when not signed in to it."""
    found = _read().get(base_url)
    return found if isinstance(found, dict) and found.get("accessToken") else None


def put(base_url: str, entry: dict[str, Any]) -> None:
    _write(_read() | {base_url: entry})


def forget(base_url: str) -> bool:
    """Drops a gateway's tokens; False when there were none."""
    stored = _read()
    if stored.pop(base_url, None) is None:
        return False
    _write(stored)
    return True
