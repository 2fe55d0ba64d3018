"""What a person at a terminal reads: aligned tables and labelled fields, built from the API's JSON."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

# A column is its header and how a row gives its value (a key of the row's JSON, or a function of the row).
Column = tuple[str, str | Callable[[dict[str, Any]], Any]]
WIDEST = 60  # a longer cell (an error message) is cut, so a row stays one line; `show` or --json has it whole


def cell(value: Any, width: int = WIDEST) -> str:
    """One value as table text: '-' for nothing, yes/no, lists joined, one line, cut at `width`."""
    if value is None or value == "" or value == []:
        text = "-"
    elif isinstance(value, bool):
        text = "yes" if value else "no"
    elif isinstance(value, list):
        text = ",".join(map(str, value))
    else:
        text = str(value)
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def table(rows: Sequence[dict[str, Any]], columns: Sequence[Column], *, empty: str = "(none)") -> str:
    """Rows under headers, each column as wide as its widest cell; the last column is not padded."""
    if not rows:
        return empty
    grid = [[header for header, _ in columns]] + [
        [cell(get(row) if callable(get) else row.get(get)) for _, get in columns] for row in rows
    ]
    widths = [max(len(line[i]) for line in grid) for i in range(len(columns))]
    return "\n".join(
        "  ".join(text.ljust(width) for text, width in zip(line, widths, strict=True)).rstrip() for line in grid
    )


def fields(pairs: Sequence[tuple[str, Any]]) -> str:
    """`label: value` lines, the values lined up; values are not cut."""
    width = max((len(label) for label, _ in pairs), default=0) + 1
    return "\n".join(f"{label + ':':<{width}} {cell(value, width=10**6)}" for label, value in pairs)


def when(stamp: str | None) -> str | None:
    """2025-06-01T12:00:03.123Z -> 2025-06-01 12:00:03Z: to the second, still saying UTC."""
    return f"{stamp[:10]} {stamp[11:19]}Z" if stamp else None


def pretty(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False)


def dead_letters(data: dict[str, Any]) -> str:
    text = table(
        data["jobs"],
        [
            ("JOB ID", "id"),
            ("TYPE", "type"),
            ("ATTEMPTS", lambda j: f"{j['attempts']}/{j['maxAttempts']}"),
            ("FAILED AT", lambda j: when(j.get("finishedAt"))),
            ("ERROR", "error"),
        ],
        empty="no dead letters",
    )
    return text + _unavailable(data) + _more(data)


def _unavailable(data: dict[str, Any]) -> str:
    down = data.get("unavailable") or []
    return f"\n(not answering, so their jobs are not listed: {', '.join(down)})" if down else ""


def job(data: dict[str, Any]) -> str:
    head = fields(
        [
            ("job", data["id"]),
            ("type", data["type"]),
            ("status", data["status"]),
            ("attempts", f"{data['attempts']} of {data['maxAttempts']}"),
            ("created", when(data.get("createdAt"))),
            ("started", when(data.get("startedAt"))),
            ("finished", when(data.get("finishedAt"))),
            ("error", data.get("error")),
        ]
    )
    parts = [head, "payload:", _indent(pretty(data.get("payload") or {}))]
    if data.get("result") is not None:
        parts += ["result:", _indent(pretty(data["result"]))]
    return "\n".join(parts)


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


def runs(data: dict[str, Any]) -> str:
    text = table(
        data["runs"],
        [
            ("RUN ID", "id"),
            ("STATE", "state"),
            ("DRY RUN", "dryRun"),
            ("DONE", lambda r: f"{r['progress']['done']}/{r['progress']['total']}"),
            ("FAILED", lambda r: r["progress"]["failed"]),
            ("CREATED", lambda r: when(r.get("createdAt"))),
            ("ERROR", "error"),
        ],
        empty="no lead runs",
    )
    return text + _more(data)


def _more(data: dict[str, Any]) -> str:
    return f"\n(more: --cursor {data['nextCursor']})" if data.get("nextCursor") else ""


# The run's diagnostics, in the order the pipeline reaches them.
DIAGNOSTICS = [
    ("sourced", "sourced"),
    ("filtered by score", "filteredByScore"),
    ("with email", "withEmail"),
    ("without email", "withoutEmail"),
    ("booked", "booked"),
    ("no slot", "noSlot"),
    ("calendar retries", "calendarRetries"),
    ("drafted", "drafted"),
    ("sent", "sent"),
    ("simulated", "simulated"),
    ("failed actions", "failedActions"),
    ("skipped", "skipped"),  # already in touch: each receipt says why
    ("stale recoveries", "staleRecoveries"),
    ("queue lag (s)", "queueLagS"),
]


def run(data: dict[str, Any]) -> str:
    p, channels = data["progress"], data["channels"]
    enabled = [f"email {channels['email']}"] + [name for name in ("sms", "call") if channels.get(name)]
    calendar = data.get("calendar") or {}
    head = fields(
        [
            ("run", data["id"]),
            ("state", data["state"] + (" (already running)" if data.get("alreadyRunning") else "")),
            ("error", data.get("error")),
            ("icp", data["icpId"]),
            ("limit", data["limit"]),
            ("dry run", data["dryRun"]),
            ("source", data.get("source")),
            ("channels", ", ".join(enabled)),
            ("calendar", calendar.get("provider") if calendar.get("enabled") else "off"),
            ("job", data.get("jobId")),
            ("created", when(data.get("createdAt"))),
            ("started", when(data.get("startedAt"))),
            ("finished", when(data.get("finishedAt"))),
            (
                "progress",
                f"{p['done']}/{p['total']} done, {p['failed']} failed, {p['pending']} pending, "
                f"{p['inFlight']} in flight",
            ),
        ]
    )
    diagnostics = fields([(label, p.get(key)) for label, key in DIAGNOSTICS])
    return f"{head}\ndiagnostics:\n{_indent(diagnostics)}"


def leads(data: dict[str, Any]) -> str:
    text = table(
        data["leads"],
        [
            ("LEAD ID", "leadId"),
            ("STATUS", "status"),
            ("SCORE", "score"),
            ("EMAIL", "email"),
            ("NAME", "name"),
            ("OUTCOMES", "outcomes"),
            ("ERROR", "error"),
        ],
        empty="no leads",
    )
    return text + _more(data)


def receipts(data: dict[str, Any]) -> str:
    return table(
        data["receipts"],
        [
            ("KIND", "kind"),
            ("STATUS", "status"),
            ("SIMULATED", "simulated"),
            ("ATTEMPT", "attempt"),
            ("LATENCY", lambda r: f"{r['latencyMs']} ms"),
            ("AT", lambda r: when(r.get("createdAt"))),
            ("TARGET", "target"),
            # Why, in words: a refusal's error, or a skip's reason ("already in the sequence …").
            ("ERROR", lambda r: r.get("error") or r.get("detail")),
        ],
        empty="no receipts",
    )


def quota(data: dict[str, Any]) -> str:
    return fields(
        [
            ("runs today", f"{data['runsToday']} of {data['maxRunsPerDay']}"),
            ("leads today", f"{data['leadsToday']} of {data['maxLeadsPerDay']}"),
            ("active runs", f"{data['activeRuns']} of {data['maxActiveRuns']}"),
            ("active run ids", data.get("activeRunIds")),
            ("resets at", when(data.get("resetsAt"))),
        ]
    )


def alerts(data: dict[str, Any]) -> str:
    return table(
        data["alerts"],
        [
            ("ALERT ID", "id"),
            ("KIND", "kind"),
            ("STATE", "state"),
            ("CREATED", lambda a: when(a.get("createdAt"))),
            (
                "ESCALATED",
                lambda a: a.get("escalationStatus") and f"{a['escalationStatus']} {a.get('escalationRoute') or ''}",
            ),
            ("RUNS", lambda a: len(a.get("runIds") or [])),
            ("MESSAGE", "message"),
        ],
        empty="no open alerts",
    )


def credentials(data: dict[str, Any]) -> str:
    return table(
        data["credentials"],
        [
            ("CLIENT ID", "id"),
            ("TEAM", "team"),
            ("SCOPES", "scopes"),
            ("CREATED", lambda c: when(c.get("createdAt"))),
            ("LAST USED", lambda c: when(c.get("lastUsedAt"))),
            ("REVOKED", lambda c: when(c.get("revokedAt"))),
        ],
        empty="no internal credentials",
    )


def new_credential(data: dict[str, Any]) -> str:
    return (
        fields(
            [
                ("client id", data["id"]),
                ("team", data["team"]),
                ("scopes", data["scopes"]),
                ("client secret", data["clientSecret"]),
            ]
        )  # fmt: skip
        + "\n\nThe secret is shown this once: put it in the team's secret store. The team exchanges it at "
        "POST /v1/oauth/token for a token (README: Internal callers)."
    )


def queue_health(data: dict[str, Any]) -> str:
    head = fields(
        [
            ("oldest pending (s)", data["oldestPendingAgeS"]),
            ("threshold (s)", data["queueAgeThresholdS"]),
            ("breached", data["breached"]),
            ("pending", data["pending"]),
            ("running", data["running"]),
            ("retries", data["retries"]),
            ("failures", data["failures"]),
            ("dead letters", data["deadLetters"]),
            ("stale recoveries", data["staleRecoveries"]),
        ]
    )
    orgs = table(
        data.get("orgs") or [],
        [("ORG ID", "orgId"), ("PENDING", "pending"), ("RUNNING", "running"), ("OLDEST (s)", "oldestPendingAgeS")],
    )
    workers = table(
        data.get("workers") or [],
        [("WORKER", "worker"), ("RUNNING", "running"), ("LAST HEARTBEAT", lambda w: when(w.get("lastHeartbeatAt")))],
    )
    return f"{head}\n\nby org:\n{_indent(orgs)}\n\nby worker:\n{_indent(workers)}"


def problem(status: int, body: dict[str, Any]) -> str:
    """A refusal for stderr: its detail, each field's error, what a caller can act on (a quota's limit)."""
    lines = [f"error ({status}): {body.get('detail') or body.get('title') or 'refused'}"]
    lines += [f"  {e.get('field') or '-'}: {e.get('message')}" for e in body.get("errors") or []]
    standard = {"type", "title", "status", "detail", "instance", "errors", "requestId"}
    lines += [f"  {key}: {cell(value, width=10**6)}" for key, value in body.items() if key not in standard]
    if status >= 500 and body.get("requestId"):
        lines.append(f"  request id: {body['requestId']}")
    return "\n".join(lines)
