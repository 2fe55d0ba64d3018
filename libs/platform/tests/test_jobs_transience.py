"""Which job failures are retried: infrastructure faults and transient gRPC codes, not refusals."""

from __future__ import annotations

import grpc
import pytest
from sqlalchemy.exc import OperationalError

from leadflood_platform.jobs import RetryableJobError, is_transient


def rpc_error(code: grpc.StatusCode) -> grpc.aio.AioRpcError:
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(), details="x")


@pytest.mark.parametrize(
    "error",
    [RetryableJobError("provider 503"), ConnectionRefusedError(), TimeoutError(),
     OperationalError("select 1", {}, Exception("server closed the connection")),
     rpc_error(grpc.StatusCode.UNAVAILABLE), rpc_error(grpc.StatusCode.DEADLINE_EXCEEDED)],
)  # fmt: skip
def test_transient_faults_are_retried(error: BaseException) -> None:
    assert is_transient(error)


@pytest.mark.parametrize(
    "error",
    [ValueError("bad data"), rpc_error(grpc.StatusCode.INVALID_ARGUMENT), rpc_error(grpc.StatusCode.NOT_FOUND)],
)
def test_refusals_fail_at_once(error: BaseException) -> None:
    assert not is_transient(error)
