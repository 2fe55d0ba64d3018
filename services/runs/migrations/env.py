"""Alembic entry point for the runs schema; the platform runs it on the connection it opens."""

from leadflood_platform.migrations import run_env

run_env()
