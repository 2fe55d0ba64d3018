"""Signed per-recipient unsubscribe tokens: who (org, address) and nothing else, unforgeable and unguessable.

A token is base64url(org id bytes + address) "." base64url(HMAC-SHA256 of that, 16 bytes). It never
expires: an unsubscribe link in an old email must still work.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from dataclasses import dataclass

PURPOSE = "unsubscribe"
_MAC_BYTES = 16


@dataclass(frozen=True)
class Recipient:
    org_id: uuid.UUID
    address: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def token(key: bytes, org_id: uuid.UUID, address: str) -> str:
    payload = org_id.bytes + address.lower().encode()
    return f"{_b64(payload)}.{_b64(hmac.new(key, payload, hashlib.sha256).digest()[:_MAC_BYTES])}"


def verify(key: bytes, value: str) -> Recipient | None:
    """The recipient a token names, or None for anything not signed by `key` (checked in constant time)."""
    body, _, mac = value.partition(".")
    try:
        payload, given = _unb64(body), _unb64(mac)
    except (ValueError, TypeError):
        return None
    expected = hmac.new(key, payload, hashlib.sha256).digest()[:_MAC_BYTES]
    if len(payload) <= 16 or not hmac.compare_digest(given, expected):
        return None
    try:
        return Recipient(uuid.UUID(bytes=payload[:16]), payload[16:].decode())
    except UnicodeDecodeError:
        return None
