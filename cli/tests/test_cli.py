"""The command line without a gateway: its tables, its arguments, its credentials file, and how it answers
a refusal, an expired token or a gateway that is not there (the gateway faked with httpx.MockTransport)."""

from __future__ import annotations

import json
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from leadflood_cli import commands, credentials, render
from leadflood_cli.client import ApiError, Gateway, Unreachable

URL = "http://gateway.test:8080"


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home of the test's own: no test reads or writes the real credentials file."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.delenv("LEADFLOOD_URL", raising=False)
    return tmp_path


# Tables


def test_a_table_lines_up_its_columns_and_says_dash_for_nothing() -> None:
    rows = [{"id": "a", "n": 1, "error": None}, {"id": "longer-id", "n": 12345, "error": "boom"}]
    text = render.table(rows, [("ID", "id"), ("N", "n"), ("ERROR", "error")])
    assert text.splitlines() == [
        "ID         N      ERROR",
        "a          1      -",
        "longer-id  12345  boom",
    ]


def test_a_long_or_multiline_cell_stays_on_one_line_cut_to_the_widest() -> None:
    text = render.table([{"e": "line one\nline two " + "x" * 100}], [("E", "e")])
    row = text.splitlines()[1]
    assert row.startswith("line one line two x") and row.endswith("…") and len(row) == render.WIDEST


def test_cells_say_yes_no_and_join_lists_and_an_empty_table_says_so() -> None:
    assert [render.cell(v) for v in (True, False, ["a", "b"], [], "", 0)] == ["yes", "no", "a,b", "-", "-", "0"]
    assert render.table([], [("ID", "id")], empty="no dead letters") == "no dead letters"


def test_a_column_can_be_worked_out_from_the_row() -> None:
    job = {"id": "inbox.1", "type": "inbox.send", "attempts": 3, "maxAttempts": 3, "error": "451 busy",
           "finishedAt": "2025-06-01T12:00:03.123Z"}  # fmt: skip
    text = render.dead_letters({"jobs": [job], "unavailable": ["leads"]})
    header, row, down = text.splitlines()
    assert header.split() == ["JOB", "ID", "TYPE", "ATTEMPTS", "FAILED", "AT", "ERROR"]
    assert row.split() == ["inbox.1", "inbox.send", "3/3", "2025-06-01", "12:00:03Z", "451", "busy"]
    assert "leads" in down  # a service that did not answer is named, not silently left out
    paged = render.dead_letters({"jobs": [job], "unavailable": [], "nextCursor": "WyJhIl0="})
    assert paged.splitlines()[-1] == "(more: --cursor WyJhIl0=)"  # the next page, as `dlq list --cursor` takes it


def test_a_job_shows_its_error_attempts_and_payload_pretty_printed() -> None:
    text = render.job(
        {"id": "runs.1", "type": "runs.source", "status": "failed", "attempts": 2, "maxAttempts": 5,
         "error": "ICP x not found", "payload": {"runId": "r1", "orgId": "o1"}, "result": None}
    )  # fmt: skip
    assert "error:    ICP x not found" in text and "attempts: 2 of 5" in text
    assert text.endswith('payload:\n  {\n    "runId": "r1",\n    "orgId": "o1"\n  }')


def test_a_problem_names_its_detail_its_fields_and_what_a_caller_can_act_on() -> None:
    text = render.problem(
        429,
        {"type": "t", "title": "Too Many Requests", "status": 429, "requestId": "req1",
         "detail": "3 of 3 runs are active (LEAD_RUNS_MAX_ACTIVE_RUNS)", "limit": "LEAD_RUNS_MAX_ACTIVE_RUNS",
         "max": 3, "errors": [{"field": "limit", "message": "too big"}]},
    )  # fmt: skip
    assert text.splitlines() == [
        "error (429): 3 of 3 runs are active (LEAD_RUNS_MAX_ACTIVE_RUNS)",
        "  limit: too big",
        "  limit: LEAD_RUNS_MAX_ACTIVE_RUNS",
        "  max: 3",
    ]


# Arguments


def test_url_and_json_are_taken_before_or_after_the_command() -> None:
    before = commands.parser().parse_args(["--url", "http://h:1/", "--json", "dlq", "list"])
    after = commands.parser().parse_args(["dlq", "list", "--url", "http://h:1", "--json"])
    for args in (before, after):
        assert args.url == "http://h:1" and args.json is True and args.run is commands.dlq_list
    plain = commands.parser().parse_args(["runs", "leads", "r1", "--status", "failed"])
    assert not hasattr(plain, "url") and not hasattr(plain, "json") and plain.limit == 50
    assert (plain.run_id, plain.status) == ("r1", "failed")
    retry = commands.parser().parse_args(["runs", "retry", "r1", "l1"])
    assert (retry.run, retry.run_id, retry.lead_id) == (commands.runs_retry, "r1", "l1")


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["dlq"],
        ["dlq", "show"],
        ["dlq", "list", "--limit", "0"],
        ["dlq", "list", "--limit", "201"],
        ["runs", "leads", "r1", "--status", "lost"],
        ["runs", "launch", "r1"],
        ["--url", "gateway:8080", "runs", "list"],
        ["login"],
    ],
)
def test_a_usage_error_exits_2_before_any_request(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        commands.main(argv)
    assert exited.value.code == commands.USAGE
    assert "usage: leadflood" in capsys.readouterr().err


def test_the_gateway_is_the_flag_else_the_environment_else_the_local_default(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []
    monkeypatch.setattr(commands, "Gateway", lambda url: fake_gateway(url, seen))
    commands.main(["queue", "health", "--json"])
    monkeypatch.setenv("LEADFLOOD_URL", "https://leadflood.example.com/")
    commands.main(["queue", "health", "--json"])
    commands.main(["queue", "health", "--json", "--url", "http://other:9"])
    assert seen == ["http://127.0.0.1:8080", "https://leadflood.example.com", "http://other:9"]


def fake_gateway(url: str, seen: list[str]) -> Gateway:
    seen.append(url)
    return Gateway(url, transport=httpx.MockTransport(lambda request: httpx.Response(401, json={"detail": "no"})))


# The gateway, faked


def gateway(handler: Callable[[httpx.Request], httpx.Response], pauses: list[float] | None = None) -> Gateway:
    return Gateway(URL, transport=httpx.MockTransport(handler), sleep=(pauses if pauses is not None else []).append)


def test_the_tokens_are_kept_per_gateway_in_a_file_only_its_owner_reads(home: Path) -> None:
    tokens = {"accessToken": "a1", "refreshToken": "r1"}

    def handler(request: httpx.Request) -> httpx.Response:
        assert json.loads(request.content) == {"email": "ops@example.com", "password": "pw"}
        return httpx.Response(200, json=tokens | {"tokenType": "Bearer", "expiresIn": 900})

    credentials.put("http://elsewhere:8080", {"accessToken": "other"})
    args = commands.parser().parse_args(["login", "--email", "ops@example.com", "--password", "pw"])
    data, text = commands.login(gateway(handler), args)
    assert data == {"url": URL, "email": "ops@example.com"} and "a1" not in text
    path = home / ".config" / "leadflood" / "credentials.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    stored = json.loads(path.read_text())
    assert stored[URL] == {"email": "ops@example.com", **tokens} and stored["http://elsewhere:8080"]
    assert credentials.forget(URL) and credentials.get(URL) is None and credentials.get("http://elsewhere:8080")


def test_an_expired_access_token_is_refreshed_once_and_the_new_pair_kept() -> None:
    credentials.put(URL, {"email": "e", "accessToken": "old", "refreshToken": "r1"})
    calls: list[tuple[str, str | None]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append((request.url.path, request.headers.get("authorization")))
        if request.url.path == "/v1/auth/refresh":
            assert json.loads(request.content) == {"refreshToken": "r1"}
            return httpx.Response(200, json={"accessToken": "new", "refreshToken": "r2"})
        if request.headers["authorization"] == "Bearer old":
            return httpx.Response(401, json={"detail": "invalid access token: expired"})
        return httpx.Response(200, json={"runs": []})

    assert gateway(handler).get("/v1/lead-runs") == {"runs": []}
    assert calls == [("/v1/lead-runs", "Bearer old"), ("/v1/auth/refresh", None), ("/v1/lead-runs", "Bearer new")]
    assert credentials.get(URL) == {"email": "e", "accessToken": "new", "refreshToken": "r2"}


def test_a_refused_refresh_says_to_sign_in_again() -> None:
    credentials.put(URL, {"accessToken": "old", "refreshToken": "r1"})
    refused = httpx.Response(401, json={"detail": "refresh token expired"})
    with pytest.raises(ApiError) as error:
        gateway(lambda request: refused).get("/v1/lead-runs")
    assert error.value.status == 401 and "leadflood login" in error.value.problem["detail"]


def test_a_connection_failure_is_tried_twice_more_after_short_pauses_then_named_unreachable() -> None:
    attempts: list[str] = []
    pauses: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        attempts.append(request.url.path)
        raise httpx.ConnectError("Connection refused")

    with pytest.raises(Unreachable) as error:
        gateway(handler, pauses).post("/v1/jobs/runs.x/replay")
    assert len(attempts) == 3 and len(pauses) == 2 and all(0 < p <= 2 for p in pauses)
    assert error.value.base_url == URL and "Connection refused" in error.value.reason


def test_a_request_that_timed_out_is_not_sent_again() -> None:
    attempts: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        attempts.append(request.url.path)
        raise httpx.ReadTimeout("timed out")

    with pytest.raises(Unreachable):
        gateway(handler).post("/v1/lead-runs/r1/jobs")
    assert len(attempts) == 1  # the gateway may have started the run: a second POST is not ours to send


def run_main(
    argv: list[str], handler: Callable[[httpx.Request], httpx.Response], monkeypatch: pytest.MonkeyPatch
) -> int:
    monkeypatch.setattr(commands, "Gateway", lambda url: Gateway(url, transport=httpx.MockTransport(handler)))
    return commands.main(argv)


def test_a_refusal_exits_1_with_the_detail_on_stderr(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    credentials.put(commands.DEFAULT_URL, {"accessToken": "a", "refreshToken": "r"})
    problem = {"status": 404, "title": "Not Found", "detail": "job 'runs.x' not found"}
    reply = httpx.Response(404, json=problem, headers={"content-type": "application/problem+json"})
    assert run_main(["dlq", "show", "runs.x"], lambda request: reply, monkeypatch) == commands.REFUSED
    out, err = capsys.readouterr()
    assert out == "" and err == "error (404): job 'runs.x' not found\n"
    assert run_main(["dlq", "show", "runs.x", "--json"], lambda request: reply, monkeypatch) == commands.REFUSED
    assert json.loads(capsys.readouterr().err) == problem


def test_an_id_cannot_reach_another_route(monkeypatch: pytest.MonkeyPatch) -> None:
    credentials.put(commands.DEFAULT_URL, {"accessToken": "a", "refreshToken": "r"})
    paths: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.raw_path.decode())
        return httpx.Response(404, json={"detail": "not found"})

    run_main(["runs", "show", "../../jobs?status=failed"], handler, monkeypatch)
    assert paths == ["/v1/lead-runs/..%2F..%2Fjobs%3Fstatus%3Dfailed"]


def test_without_a_sign_in_the_command_says_how_to_sign_in(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    unauthenticated = httpx.Response(401, json={"detail": "sign in first"})
    assert run_main(["runs", "list"], lambda request: unauthenticated, monkeypatch) == commands.REFUSED
    assert "leadflood login --email" in capsys.readouterr().err


def test_json_output_is_the_apis_json(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    credentials.put(commands.DEFAULT_URL, {"accessToken": "a", "refreshToken": "r"})
    body: dict[str, Any] = {"alerts": [{"id": "a1", "kind": "run_failures", "runIds": ["r1"], "extra": None}]}
    assert run_main(["alerts", "list", "--json"], lambda request: httpx.Response(200, json=body), monkeypatch) == 0
    assert json.loads(capsys.readouterr().out) == body
