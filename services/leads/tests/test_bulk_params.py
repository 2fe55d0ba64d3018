"""Columns joined into one text parameter: the element count survives whatever the values hold."""

from __future__ import annotations

import asyncpg
import pytest

from devstack.stack import Stack
from leads.bulk_params import SEPARATOR, joined, split_sql


def test_values_are_joined_each_with_a_terminator_and_none_becomes_empty_when_nullable() -> None:
    assert joined(["a", "", "c"]) == f"a{SEPARATOR}{SEPARATOR}c{SEPARATOR}"
    assert joined([None, 12, None], nullable=True) == f"{SEPARATOR}12{SEPARATOR}{SEPARATOR}"
    assert joined([True, False]) == f"True{SEPARATOR}False{SEPARATOR}"
    assert joined([""]) == SEPARATOR
    with pytest.raises(ValueError):
        joined([])


def test_a_value_holding_the_separator_keeps_the_count_of_values() -> None:
    text = joined(["x", f"bad{SEPARATOR}value", "z"])
    assert text.split(SEPARATOR) == ["x", "badvalue", "z", ""]


async def test_a_nul_in_a_value_is_dropped_so_postgresql_can_store_the_rest(stack: Stack) -> None:
    text = joined(["Ad\x00a", "\x00"])
    assert text == f"Ada{SEPARATOR}{SEPARATOR}"
    assert stack.postgres is not None
    conn = await asyncpg.connect(stack.postgres.admin_dsn())
    try:
        assert await conn.fetchval("SELECT " + split_sql("$1", "text"), text) == ["Ada", ""]
    finally:
        await conn.close()


def test_the_sql_splits_on_the_same_separator_and_maps_empty_to_null_only_when_nullable() -> None:
    assert split_sql("$3", "text", nullable=True) == (
        "CAST(trim_array(string_to_array(CAST($3 AS text), E'\\x1f', ''), 1) AS text[])"
    )
    assert "''" not in split_sql("$4", "text")


@pytest.mark.parametrize(
    ("values", "sql_type", "nullable"),
    [
        ([""], "text", False),  # a lone empty value: PostgreSQL splits "" into no elements at all
        (["", ""], "text", False),
        (["Ada", "", "Lin"], "text", False),
        ([None], "text", True),
        (["a@x.io", None, ""], "text", True),
        ([7, None], "int", True),
        ([False], "bool", False),
    ],
)
async def test_postgresql_splits_back_exactly_the_values_joined(
    stack: Stack, values: list[object], sql_type: str, nullable: bool
) -> None:
    assert stack.postgres is not None
    conn = await asyncpg.connect(stack.postgres.admin_dsn())
    try:
        split = await conn.fetchval(
            "SELECT " + split_sql("$1", sql_type, nullable=nullable),
            joined(values, nullable=nullable),
        )
    finally:
        await conn.close()
    expected = [None if nullable and value in (None, "") else value for value in values]
    assert split == expected
