"""A lead's email as stored: trimmed and lower-cased, or refused with email_validator's explanation."""

from __future__ import annotations

import pytest

from leadflood_platform.errors import InvalidArgument
from leads.service import normalise_email


@pytest.mark.parametrize(
    "address",
    ["first.last+tag@mail.example.com", "o'brien@acme.co", "A.B@Sub.Example.ORG", "x_y-z@a-b.io"],
)
def test_an_address_is_trimmed_and_lower_cased(address: str) -> None:
    assert normalise_email(f" {address} ") == address.lower()


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("a@b.local", "special-use"),
        ("a@ab--c.com", "two dashes"),
        ("a@1.23", "top-level domain"),
        ("a..b@c.com", "period"),
    ],
)
def test_a_bad_address_is_refused_with_the_reason(address: str, reason: str) -> None:
    with pytest.raises(InvalidArgument, match=reason):
        normalise_email(address)
