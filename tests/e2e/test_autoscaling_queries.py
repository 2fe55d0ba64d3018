"""The PostgreSQL queries KEDA scales the table-queue workers by (deploy/k8s/generate.py's TABLE_QUEUES) run as
each worker's own role against the migrated schema and count what is due: a typo would leave a worker unscaled
in production with nothing failing here."""

from __future__ import annotations

import asyncpg
import pytest

from devstack.stack import Stack
from leadflood_platform.db import asyncpg_url
from tests.k8s_scripts import generate


@pytest.mark.parametrize("service", sorted(generate.TABLE_QUEUES))
async def test_each_table_queue_is_counted_by_its_workers_own_role(stack: Stack, service: str) -> None:
    queue = generate.TABLE_QUEUES[service]
    dsn = asyncpg_url(stack.env[service]["DATABASE_URL"]).replace("postgresql+asyncpg://", "postgresql://")
    connection = await asyncpg.connect(dsn)
    try:
        count = await connection.fetchval(queue.query)
    finally:
        await connection.close()
    assert isinstance(count, int) and count >= 0
    rendered = (generate.REPO / "deploy" / "k8s" / "components" / "autoscaling" / "scaledobjects.yaml").read_text()
    assert f"name: {queue.name}" in rendered and "connectionFromEnv: DATABASE_URL" in rendered
