"""The command line: its arguments, one function per command, and the exit codes."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import quote, urlsplit

from leadflood_cli import credentials, render
from leadflood_cli.client import ApiError, Gateway, NotSignedIn, Unreachable

DEFAULT_URL = "http://127.0.0.1:8080"  # where `make run` serves the gateway (devstack's default http port)
OK, REFUSED, USAGE, UNREACHABLE = 0, 1, 2, 3
LEAD_STATUSES = ["waiting", "pending", "running", "done", "failed", "cancelled", "skipped"]

# A command gets the gateway and its arguments, and gives the API's JSON and the text a person reads.
Command = Callable[[Gateway, argparse.Namespace], tuple[Any, str]]


def _id(value: str) -> str:
    """An id as one path segment: whatever was typed cannot reach another route."""
    return quote(value, safe="")


def login(api: Gateway, args: argparse.Namespace) -> tuple[Any, str]:
    password = args.password if args.password is not None else getpass.getpass(f"password for {args.email}: ")
    tokens = api.call("POST", "/v1/auth/login", body={"email": args.email, "password": password}, signed_in=False)
    credentials.put(
        api.base_url,
        {"email": args.email, "accessToken": tokens["accessToken"], "refreshToken": tokens["refreshToken"]},
    )
    # The tokens stay in the credentials file; they are not printed, not even with --json.
    return {"url": api.base_url, "email": args.email}, f"signed in to {api.base_url} as {args.email}"


def logout(api: Gateway, args: argparse.Namespace) -> tuple[Any, str]:
    tokens = credentials.get(api.base_url)
    if tokens is None:
        return {"url": api.base_url, "signedOut": False}, f"not signed in to {api.base_url}"
    try:
        # Revoked at the gateway too, so a copy of the file is no use either.
        api.call("POST", "/v1/auth/logout", body={"refreshToken": tokens.get("refreshToken", "")}, signed_in=False)
    except (ApiError, Unreachable):
        pass  # an expired or unreachable session: forgetting it here is what was asked
    credentials.forget(api.base_url)
    return {"url": api.base_url, "signedOut": True}, f"signed out of {api.base_url}"


def dlq_list(api: Gateway, args: argparse.Namespace) -> tuple[Any, str]:
    data = api.get("/v1/jobs", status="failed", limit=args.limit, cursor=args.cursor)
    return data, render.dead_letters(data)


def dlq_show(api: Gateway, args: argparse.Namespace) -> tuple[Any, str]:
    data = api.get(f"/v1/jobs/{_id(args.job_id)}")
    return data, render.job(data)


def dlq_replay(api: Gateway, args: argparse.Namespace) -> tuple[Any, str]:
    data = api.post(f"/v1/jobs/{_id(args.job_id)}/replay")
    return data, f"job {data['id']} replayed: {data['status']}"


def runs_list(api: Gateway, args: argparse.Namespace) -> tuple[Any, str]:
    data = api.get("/v1/lead-runs", limit=args.limit, cursor=args.cursor)
    return data, render.runs(data)


def runs_show(api: Gateway, args: argparse.Namespace) -> tuple[Any, str]:
    data = api.get(f"/v1/lead-runs/{_id(args.run_id)}")
    return data, render.run(data)


def runs_leads(api: Gateway, args: argparse.Namespace) -> tuple[Any, str]:
    data = api.get(f"/v1/lead-runs/{_id(args.run_id)}/leads", status=args.status, limit=args.limit, cursor=args.cursor)
    return data, render.leads(data)


def runs_receipts(api: Gateway, args: argparse.Namespace) -> tuple[Any, str]:
    data = api.get(f"/v1/lead-runs/{_id(args.run_id)}/leads/{_id(args.lead_id)}/receipts")
    return data, render.receipts(data)


def runs_start(api: Gateway, args: argparse.Namespace) -> tuple[Any, str]:
    data = api.post(f"/v1/lead-runs/{_id(args.run_id)}/jobs")
    said = "was running already" if data.get("alreadyRunning") else f"started: {data['state']}"
    return data, f"run {data['id']} {said}"


def runs_cancel(api: Gateway, args: argparse.Namespace) -> tuple[Any, str]:
    data = api.post(f"/v1/lead-runs/{_id(args.run_id)}/cancel")
    return data, f"run {data['id']}: {data['state']}"


def runs_retry(api: Gateway, args: argparse.Namespace) -> tuple[Any, str]:
    data = api.post(f"/v1/lead-runs/{_id(args.run_id)}/leads/{_id(args.lead_id)}/retry")
    return data, f"lead {args.lead_id} queued again; run {data['id']}: {data['state']}"


def runs_quota(api: Gateway, args: argparse.Namespace) -> tuple[Any, str]:
    data = api.get("/v1/lead-runs/quota")
    return data, render.quota(data)


def alerts_list(api: Gateway, args: argparse.Namespace) -> tuple[Any, str]:
    data = api.get("/v1/lead-runs/alerts", state=args.state)
    return data, render.alerts(data)


def queue_health(api: Gateway, args: argparse.Namespace) -> tuple[Any, str]:
    data = api.get("/v1/operations/queue-health")
    return data, render.queue_health(data)


def credentials_create(api: Gateway, args: argparse.Namespace) -> tuple[Any, str]:
    data = api.post("/v1/internal-credentials", {"team": args.team, "scopes": args.scope})
    return data, render.new_credential(data)


def credentials_list(api: Gateway, args: argparse.Namespace) -> tuple[Any, str]:
    data = api.get("/v1/internal-credentials")
    return data, render.credentials(data)


def credentials_revoke(api: Gateway, args: argparse.Namespace) -> tuple[Any, str]:
    api.call("DELETE", f"/v1/internal-credentials/{_id(args.credential_id)}")
    return {"id": args.credential_id, "revoked": True}, (
        f"credential {args.credential_id} revoked: no new token from now on; one already issued ends within 5 min"
    )


def _limit(text: str) -> int:
    value = int(text) if text.isdigit() else 0
    if not 1 <= value <= 200:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number from 1 to 200")
    return value


def _url(text: str) -> str:
    parts = urlsplit(text.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise argparse.ArgumentTypeError(f"{text!r} is not an http(s) URL like {DEFAULT_URL}")
    return text.strip().rstrip("/")


def parser() -> argparse.ArgumentParser:
    # --url and --json are taken before or after the command; SUPPRESS keeps a subcommand's unset copy
    # from overwriting what was given before it.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--url", type=_url, default=argparse.SUPPRESS,
        help=f"the gateway (default: $LEADFLOOD_URL, else {DEFAULT_URL})",
    )  # fmt: skip
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print the API's JSON as it is")
    top = argparse.ArgumentParser(
        prog="leadflood",
        description=(
            "Lead Flood from a terminal: dead letters, lead runs and their receipts, alerts, queue health, internal "
            "teams' credentials."
        ),
        parents=[common],
        epilog="Exit codes: 0 done, 1 refused by the API, 2 a usage error, 3 the gateway cannot be reached.",
    )
    groups = top.add_subparsers(dest="group", required=True, metavar="COMMAND")

    def command(
        within: Any, name: str, run: Command, help: str, args: Sequence[tuple[Sequence[str], dict[str, Any]]] = ()
    ) -> None:
        sub = within.add_parser(name, parents=[common], help=help, description=help)
        for flags, options in args:
            sub.add_argument(*flags, **options)
        sub.set_defaults(run=run)

    def group(name: str, help: str) -> Any:
        sub = groups.add_parser(name, help=help, description=help)
        return sub.add_subparsers(dest="command", required=True, metavar="COMMAND")

    limit = (["--limit"], {"type": _limit, "default": 50, "help": "how many, 1 to 200 (default 50)"})
    cursor = (["--cursor"], {"default": "", "help": "the next page, as the previous one said"})
    run_id = (["run_id"], {"metavar": "RUN_ID"})

    command(groups, "login", login, "sign in and keep the tokens (~/.config/leadflood/credentials.json)", [
        (["--email"], {"required": True}),
        (["--password"], {"help": "asked for when not given (one typed here stays in the shell's history)"}),
    ])  # fmt: skip
    command(groups, "logout", logout, "sign out and forget the tokens")

    dlq = group("dlq", "dead letters: jobs that failed every attempt")
    command(dlq, "list", dlq_list, "the dead letters of every service, newest first", [limit, cursor])
    command(dlq, "show", dlq_show, "a job: its error, attempts and payload", [(["job_id"], {"metavar": "JOB_ID"})])
    command(dlq, "replay", dlq_replay, "queue a dead letter again", [(["job_id"], {"metavar": "JOB_ID"})])

    runs = group("runs", "lead runs")
    command(runs, "list", runs_list, "the org's lead runs, newest first", [limit, cursor])
    command(runs, "show", runs_show, "a run: its state, progress and diagnostics", [run_id])
    command(runs, "leads", runs_leads, "a run's leads, best score first", [
        run_id, (["--status"], {"choices": LEAD_STATUSES}), limit, cursor,
    ])  # fmt: skip
    command(runs, "receipts", runs_receipts, "what each of a lead's actions in a run did", [
        run_id, (["lead_id"], {"metavar": "LEAD_ID"}),
    ])  # fmt: skip
    command(runs, "start", runs_start, "start a created run, or resume a running one", [run_id])
    command(runs, "cancel", runs_cancel, "cancel a run", [run_id])
    command(
        runs, "retry", runs_retry, "try a failed lead of a run again", [run_id, (["lead_id"], {"metavar": "LEAD_ID"})]
    )
    command(runs, "quota", runs_quota, "runs and leads used today, active runs, and their limits")

    alerts = group("alerts", "failed-run alerts")
    command(alerts, "list", alerts_list, "open and acknowledged alerts", [
        (["--state"], {"choices": ["open", "acknowledged", "resolved"], "default": ""}),
    ])  # fmt: skip

    team = group("credentials", "internal teams' credentials for calling the gRPC services (owners and admins)")
    command(team, "create", credentials_create, "a credential for a team; its secret is shown once", [
        (["--team"], {"required": True, "help": "the team's short name (lowercase, digits, dashes)"}),
        (["--scope"], {"required": True, "action": "append",
                       "help": "what its tokens may call: <service>:read|write|*, or *; repeat for more"}),
    ])  # fmt: skip
    command(team, "list", credentials_list, "the org's credentials, revoked ones too (never their secrets)")
    command(team, "revoke", credentials_revoke, "revoke a credential: no new token from now on", [
        (["credential_id"], {"metavar": "CREDENTIAL_ID"}),
    ])  # fmt: skip

    queue = group("queue", "the lead-run queue")
    command(queue, "health", queue_health, "oldest pending age, pending, running, retries, dead letters")
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)  # a usage error exits 2 here, as argparse does
    base_url = getattr(args, "url", None) or _env_url()
    as_json = getattr(args, "json", False)
    try:
        with Gateway(base_url) as api:
            data, text = args.run(api, args)
    except ApiError as exc:
        _err(json.dumps(exc.problem, indent=2) if as_json else render.problem(exc.status, exc.problem))
        return REFUSED
    except NotSignedIn as exc:
        _err(f"error: {exc}")
        return REFUSED
    except Unreachable as exc:
        _err(f"error: cannot reach the gateway at {exc.base_url}: {exc.reason}.")
        _err("Is it running? `make run` starts it; --url or $LEADFLOOD_URL points elsewhere.")
        return UNREACHABLE
    except KeyboardInterrupt:
        return 130
    _out(render.pretty(data) if as_json else text)
    return OK


def _env_url() -> str:
    raw = os.environ.get("LEADFLOOD_URL", "").strip()
    if not raw:
        return DEFAULT_URL
    try:
        return _url(raw)
    except argparse.ArgumentTypeError as exc:
        parser().error(f"LEADFLOOD_URL: {exc}")  # exits 2
        raise


def _out(text: str) -> None:
    try:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
    except BrokenPipeError:  # `leadflood runs list | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _err(text: str) -> None:
    sys.stderr.write(text + "\n")
