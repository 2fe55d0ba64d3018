"""The gateway's RFC 3339 timestamps are exactly what protobuf's own ToJsonString gives."""

from __future__ import annotations

import random

import pytest
from google.protobuf import timestamp_pb2

from gateway.routes.schemas import Timestamps, rfc3339
from leadflood.leads.v1 import leads_pb2

FIRST, LAST = -62_135_596_800, 253_402_300_799  # 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z, Timestamp's range


@pytest.mark.parametrize("seconds", [FIRST, LAST, 0, -1, 1_764_684_185])
@pytest.mark.parametrize("nanos", [0, 1, 999_999_999, 123_000_000, 123_456_000, 120_000_000, 1_000])
def test_edges_and_each_fraction_length(seconds: int, nanos: int) -> None:
    stamp = timestamp_pb2.Timestamp(seconds=seconds, nanos=nanos)
    assert rfc3339(stamp) == stamp.ToJsonString()


def test_random_instants_across_the_range() -> None:
    rng = random.Random(3339)
    for _ in range(20_000):
        nanos = rng.choice([0, rng.randrange(10**9), rng.randrange(1000) * 10**6, rng.randrange(10**6) * 1000])
        stamp = timestamp_pb2.Timestamp(seconds=rng.randrange(FIRST, LAST + 1), nanos=nanos)
        assert rfc3339(stamp) == stamp.ToJsonString()


def test_fields_are_camel_cased_and_unset_ones_are_none() -> None:
    lead = leads_pb2.Lead(created_at=timestamp_pb2.Timestamp(seconds=1_764_684_185, nanos=5_000_000))
    assert Timestamps.of(lead, "created_at", "updated_at") == {
        "createdAt": "2025-12-02T14:03:05.005Z",
        "updatedAt": None,
    }
