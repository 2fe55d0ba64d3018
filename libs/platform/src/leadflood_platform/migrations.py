"""Runs a service's Alembic migrations against its own schema, as its own role."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command, context
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from leadflood_platform.db import asyncpg_url


def upgrade(*, url: str, schema: str, script_location: Path, target_metadata: MetaData, revision: str = "head") -> None:
    """Migrate up to `revision`; a PostgreSQL advisory lock makes concurrent callers take turns.

    `url` may be a plain postgresql:// URL: the asyncpg dialect is added.
    """
    _migrate(command.upgrade, url, schema, script_location, target_metadata, revision)


def downgrade(*, url: str, schema: str, script_location: Path, target_metadata: MetaData, revision: str) -> None:
    """Migrate down to `revision`: how a migration's way back is tested (no CLI runs it yet)."""
    _migrate(command.downgrade, url, schema, script_location, target_metadata, revision)


def _migrate(
    step: Callable[[Config, str], None],
    url: str,
    schema: str,
    script_location: Path,
    target_metadata: MetaData,
    revision: str,
) -> None:
    def run(connection: Connection) -> None:
        config = Config()
        config.set_main_option("script_location", str(script_location))
        config.attributes.update(connection=connection, schema=schema, metadata=target_metadata)
        connection.execute(text("select pg_advisory_xact_lock(hashtext(:s))"), {"s": schema})
        step(config, revision)

    async def main() -> None:
        engine = create_async_engine(asyncpg_url(url))
        try:
            async with engine.begin() as conn:
                await conn.run_sync(run)
        finally:
            await engine.dispose()

    asyncio.run(main())


def run_env() -> None:
    """The body of every service's migrations/env.py: online mode on the connection handed in."""
    attributes = context.config.attributes
    context.configure(
        connection=attributes["connection"],
        target_metadata=attributes["metadata"],
        version_table_schema=attributes["schema"],
        include_schemas=True,
        transactional_ddl=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def differences(*, url: str, schema: str, metadata: MetaData, tables: set[str]) -> list[Any]:
    """What the migrated schema at `url` lacks or has beyond what the models declare (Alembic's autogenerate
    comparison), for the service's own `tables` (the platform's are the platform's to check): [] when the
    migrations build exactly the models."""

    def compare(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(
            connection,
            opts={
                "include_schemas": True,
                "include_name": lambda name, kind, _: name == schema if kind == "schema" else True,
                "include_object": lambda _, name, kind, *rest: kind != "table" or name in tables,
            },
        )
        return list(compare_metadata(context, metadata))

    # Reflected from outside the schema (search_path public), so that every name comes schema-qualified.
    engine = create_async_engine(asyncpg_url(url), connect_args={"server_settings": {"search_path": "public"}})
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(compare)
    finally:
        await engine.dispose()
