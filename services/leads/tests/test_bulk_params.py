"""Columns joined into one text parameter: the element count survives whatever the values hold."""

from __future__ import annotations

from leads.bulk_params import SEPARATOR, joined, split_sql


def test_values_are_joined_and_none_becomes_empty_when_nullable() -> None:
    assert joined(["a", "", "c"]) == f"a{SEPARATOR}{SEPARATOR}c"
    assert joined([None, 12, None], nullable=True) == f"{SEPARATOR}12{SEPARATOR}"
    assert joined([True, False]) == f"True{SEPARATOR}False"
    assert joined([]) == ""


def test_a_value_holding_the_separator_keeps_the_count_of_values() -> None:
    text = joined(["x", f"bad{SEPARATOR}value", "z"])
    assert text.split(SEPARATOR) == ["x", "badvalue", "z"]


def test_the_sql_splits_on_the_same_separator_and_maps_empty_to_null_only_when_nullable() -> None:
    assert split_sql("emails", "text", nullable=True) == (
        "CAST(string_to_array(CAST(:emails AS text), E'\\x1f', '') AS text[])"
    )
    assert "''" not in split_sql("names", "text")
