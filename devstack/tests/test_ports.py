"""Ports for throwaway instances: each pytest-xdist worker draws from a slice of the span of its own, so two
workers starting stacks in the same seconds never hand out one port twice."""

from __future__ import annotations

import pytest

from devstack import ports


def test_each_worker_takes_its_own_slice_of_the_span(monkeypatch: pytest.MonkeyPatch) -> None:
    low, high = ports._below_ephemeral()
    slices = []
    for worker in ("gw0", "gw1", "gw2"):
        monkeypatch.setenv("PYTEST_XDIST_WORKER", worker)
        monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", "3")
        slices.append(ports._own_slice(low, high))
        port = ports.free_port()
        assert slices[-1][0] <= port < slices[-1][1]
    for before, after in zip(slices, slices[1:], strict=False):
        assert before[1] <= after[0]  # disjoint, in order
    assert slices[0][0] == low and slices[-1][1] <= high


def test_one_process_alone_takes_the_whole_span(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    monkeypatch.delenv("PYTEST_XDIST_WORKER_COUNT", raising=False)
    assert ports._own_slice(20_000, 32_000) == (20_000, 32_000)
