"""Logs are one JSON object per line, carrying the request, org and job of the work."""

from __future__ import annotations

import json
import logging

from leadflood_platform import context
from leadflood_platform.logs import JsonFormatter


def test_a_record_is_json_with_context_and_extra_fields() -> None:
    record = logging.LogRecord("leads.worker", logging.INFO, __file__, 1, "job %s done", ("j1",), None)
    record.attempt = 2
    with context.bound(request_id="r-1", org_id="o-1", job_id="j-1"):
        line = JsonFormatter("leads").format(record)
    entry = json.loads(line)
    assert entry["msg"] == "job j1 done" and entry["level"] == "info" and entry["service"] == "leads"
    assert (entry["request_id"], entry["org_id"], entry["job_id"], entry["attempt"]) == ("r-1", "o-1", "j-1", 2)


def test_context_is_restored_after_the_block() -> None:
    with context.bound(org_id="outer"):
        with context.bound(org_id="inner"):
            assert context.org_id.get() == "inner"
        assert context.org_id.get() == "outer"
    assert context.org_id.get() is None
