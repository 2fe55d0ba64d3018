"""`python -m gateway serve|migrate|create-user`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

import uvicorn

from gateway import auth
from gateway.config import GatewaySettings
from gateway.models import Base
from leadflood_platform import logs, migrations, tracing
from leadflood_platform.db import Database
from leadflood_platform.settings import load

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


async def _create_user(settings: GatewaySettings, org: str, email: str, password: str, role: str | None) -> None:
    db = Database(settings.database_url)
    try:
        async with db.transaction() as session:
            user = await auth.create_user(session=session, org_name=org, email=email, password=password, role=role)
        print(f"created {user.email} in org {org} ({user.org_id})")  # noqa: T201 - operator output
    finally:
        await db.close()


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m gateway")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("serve")
    sub.add_parser("migrate")
    create = sub.add_parser("create-user", help="add a user (and its org, if new)")
    create.add_argument("--org", required=True)
    create.add_argument("--email", required=True)
    create.add_argument("--password", required=True)
    create.add_argument(
        "--role", choices=["owner", "admin", "member", "viewer"], help="default: owner of a new org, else member"
    )
    args = parser.parse_args(argv[1:] or ["serve"])
    settings = load(GatewaySettings)
    logs.configure("gateway", settings.log_level)
    if args.command == "migrate":
        migrations.upgrade(
            url=settings.database_url, schema="gateway", script_location=MIGRATIONS, target_metadata=Base.metadata
        )
    elif args.command == "create-user":
        asyncio.run(_create_user(settings, args.org, args.email, args.password, args.role))
    else:
        tracing.configure("gateway", settings.otel_exporter_otlp_endpoint)
        from gateway import http_server
        from gateway.app import create_app

        server = uvicorn.Server(
            http_server.config(
                create_app(settings),
                port=settings.http_port,
                max_header_bytes=settings.max_header_bytes,
                header_timeout_s=settings.header_timeout_s,
                keep_alive_s=settings.keep_alive_timeout_s,
            )
        )
        sockets = [http_server.reuse_port_socket(settings.http_port)] if settings.http_reuse_port else None
        http_server.run(server, sockets)


# Guarded, so importing it (a tool, a test) serves nothing; multiprocessing's spawn leaves *.__main__ modules alone.
if __name__ == "__main__":
    main(sys.argv)
