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


async def _create_user(settings: GatewaySettings, org: str, email: str, password: str) -> None:
    db = Database(settings.database_url)
    try:
        async with db.transaction() as session:
            user = await auth.create_user(session=session, org_name=org, email=email, password=password)
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
    args = parser.parse_args(argv[1:] or ["serve"])
    settings = load(GatewaySettings)
    logs.configure("gateway", settings.log_level)
    if args.command == "migrate":
        migrations.upgrade(
            url=settings.database_url, schema="gateway", script_location=MIGRATIONS, target_metadata=Base.metadata
        )
    elif args.command == "create-user":
        asyncio.run(_create_user(settings, args.org, args.email, args.password))
    else:
        tracing.configure("gateway", settings.otel_exporter_otlp_endpoint)
        from gateway.app import create_app

        server = uvicorn.Server(
            uvicorn.Config(
                create_app(settings),
                host="0.0.0.0",
                port=settings.http_port,
                log_config=None,
                access_log=False,
                timeout_graceful_shutdown=5,
            )
        )
        asyncio.run(server.serve())


main(sys.argv)
