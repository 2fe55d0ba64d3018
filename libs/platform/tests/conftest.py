"""Fixtures the platform's own tests share."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from devstack.nats import LocalNats
from devstack.ports import free_port


@pytest.fixture
async def nats_url(tmp_path: Path) -> AsyncIterator[str]:
    """A real nats-server of the test's own, with JetStream, its store in the test's temporary folder."""
    server = LocalNats(tmp_path / "store", free_port(), free_port())
    server.start(tmp_path / "nats.log")
    try:
        yield server.url
    finally:
        server.stop()
