"""The internal-token key of the test session: the stack's processes sign with it, and so does the test process
(for its own gRPC calls), so a test's stand-in server can verify what the code under test sends."""

from __future__ import annotations

from leadflood_platform import identity

KEY = "test-internal-token-key-0123456789abcdef"


def verifier() -> identity.Verifier:
    return identity.Verifier([KEY])
