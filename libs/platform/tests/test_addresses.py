"""The plain-address shortcut of email checking: whatever it accepts, email_validator accepts too, and
normalises to the same address.

Addresses are generated from pieces chosen to sit near every rule of the shortcut and of the library
(dots, hyphens, Punycode, special-use and numeric top-level labels, lengths at the limits, non-ASCII,
quoting characters), so a shortcut looser than the library fails here.
"""

from __future__ import annotations

import random

import pytest
from email_validator import EmailNotValidError, validate_email

from leadflood_platform.addresses import normalized, plainly_valid

# Pieces an address is made of: plain ones, then ones at or past a rule. Plain ones are drawn more
# often, so that many addresses reach the shortcut and carry one odd piece.
LOCAL_PIECES = (["a", "Z", "0", "o'brien", "first.last", "x+tag", "_", "-"],
                ["..", ".", "é", " ", '"q"', "a" * 64, "b" * 65])  # fmt: skip
LABELS = (["b", "mail", "a-b", "1", "123"],
          ["a--b", "ab--c", "xn--p1ai", "xn--abc", "-b", "b-", "é", "c" * 63, "d" * 64])  # fmt: skip
TOPS = (["com", "co", "example", "XN--P1AI"],
        ["c", "local", "test", "onion", "arpa", "localhost", "invalid", "123", "é"])  # fmt: skip


def _pick(rng: random.Random, pieces: tuple[list[str], list[str]]) -> str:
    return rng.choice(pieces[0] if rng.random() < 0.85 else pieces[1])


def _address(rng: random.Random) -> str:
    local = "".join(_pick(rng, LOCAL_PIECES) for _ in range(rng.randint(1, 3)))
    labels = [_pick(rng, LABELS) for _ in range(rng.randint(0, 3))]
    return f"{local}@{'.'.join([*labels, _pick(rng, TOPS)])}"


def test_every_address_the_shortcut_accepts_the_library_accepts() -> None:
    rng = random.Random(20261202)
    shortcut = 0
    for _ in range(20_000):
        address = _address(rng)
        if plainly_valid(address):
            shortcut += 1
            # Raises if the shortcut was too loose; differs if it normalised otherwise.
            assert normalized(address) == validate_email(address, check_deliverability=False).normalized
    assert shortcut > 2_000, "the generator reaches the shortcut often enough to test it"


@pytest.mark.parametrize(
    "address",
    ["first.last+tag@mail.example.com", "o'brien@acme.co", "A.B@Sub.Example.ORG", "x_y-z@a-b.io"],
)
def test_common_addresses_take_the_shortcut(address: str) -> None:
    assert plainly_valid(address)
    assert normalized(address) == validate_email(address, check_deliverability=False).normalized


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("a@b.local", "special-use"),
        ("a@ab--c.com", "two dashes"),
        ("a@1.23", "top-level domain"),
        ("a..b@c.com", "period"),
    ],
)
def test_addresses_off_the_shortcut_get_the_librarys_explanation(address: str, reason: str) -> None:
    assert not plainly_valid(address)
    with pytest.raises(EmailNotValidError, match=reason):
        validate_email(address, check_deliverability=False)
    with pytest.raises(EmailNotValidError, match=reason):
        normalized(address)
