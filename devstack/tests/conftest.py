"""Fixtures the devstack tests share."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def world_dir() -> Iterator[Path]:
    """A temp dir the `postgres` user can enter (pytest's own tmp_path is 0700 root-only when run as root)."""
    path = Path(tempfile.mkdtemp(prefix="devstack-test-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)
