"""The runs service's background jobs: one JobKind subclass each (see leadflood_platform.jobs.JobKind)."""

from __future__ import annotations

from typing import Any

from leadflood_platform.jobs import JobKind
from leadflood_platform.server import Runtime


def job_kinds(runtime: Runtime) -> list[JobKind[Any, Any]]:
    """The jobs the worker process runs, each built with what it needs from the runtime."""
    return []
