"""Domain errors, and the one place that turns them into gRPC status codes (with field details)."""

from __future__ import annotations

from dataclasses import dataclass, field

import grpc
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

# PostgreSQL text cannot hold a NUL character; validators refuse it with this message.
NO_NUL = "must not contain NUL characters"


@dataclass
class FieldViolation:
    field: str
    message: str


@dataclass
class DomainError(Exception):
    """Base of the errors a domain function raises; the transport decides what the caller sees."""

    message: str
    violations: list[FieldViolation] = field(default_factory=list)
    # Facts a caller can act on (a quota's limit, its use, when it frees), carried as google.rpc.ErrorInfo
    # metadata and shown by the gateway as members of the problem body.
    info: dict[str, str] = field(default_factory=dict)
    code = grpc.StatusCode.INTERNAL

    def __str__(self) -> str:
        return self.message


class InvalidArgument(DomainError):
    code = grpc.StatusCode.INVALID_ARGUMENT

    @classmethod
    def on(cls, field_name: str, message: str) -> InvalidArgument:
        return cls(f"{field_name}: {message}", [FieldViolation(field_name, message)])


class NotFound(DomainError):
    code = grpc.StatusCode.NOT_FOUND


class AlreadyExists(DomainError):
    code = grpc.StatusCode.ALREADY_EXISTS


class FailedPrecondition(DomainError):
    code = grpc.StatusCode.FAILED_PRECONDITION


class ResourceExhausted(DomainError):
    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class Unavailable(DomainError):
    code = grpc.StatusCode.UNAVAILABLE


class PermissionDenied(DomainError):
    code = grpc.StatusCode.PERMISSION_DENIED


class Unauthenticated(DomainError):
    code = grpc.StatusCode.UNAUTHENTICATED


# gRPC sends a status's message in its trailers twice (grpc-message, and inside the rich status),
# and refuses trailers over 8 KB: a message echoing a huge input became an INTERNAL error instead.
MAX_MESSAGE = 1000


def bounded(text: str, limit: int = MAX_MESSAGE) -> str:
    """The text, cut to `limit` characters (ending in an ellipsis) when longer."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def quoted(value: str, limit: int = 80) -> str:
    """A caller's input for an error message: repr'd and cut short, however long it was."""
    return repr(bounded(value, limit))


def to_rpc_status(error: DomainError) -> grpc.Status:
    """A rich gRPC status: code, message and a google.rpc.BadRequest with the fields at fault."""
    status = status_pb2.Status(code=getattr(code_pb2, error.code.name), message=bounded(error.message))
    if error.violations:
        detail = error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(field=bounded(v.field, 200), description=bounded(v.message))
                for v in error.violations[:50]
            ]
        )
        status.details.add().Pack(detail)
    if error.info:
        reason = type(error).__name__.upper()
        status.details.add().Pack(error_details_pb2.ErrorInfo(reason=reason, domain="leadflood", metadata=error.info))
    return rpc_status.to_status(status)


def error_info(status: status_pb2.Status | None) -> dict[str, str]:
    """The ErrorInfo metadata a rich status carries (empty when none)."""
    for detail in status.details if status else []:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return dict(info.metadata)
    return {}


def field_violations(status: status_pb2.Status | None) -> list[FieldViolation]:
    """The field violations a rich status carries, for the gateway's problem body."""
    found: list[FieldViolation] = []
    for detail in status.details if status else []:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            found += [FieldViolation(v.field, v.description) for v in bad.field_violations]
    return found
