"""Server interceptor: binds the caller's context from metadata and maps domain errors to gRPC codes."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import grpc

from leadflood_platform import context
from leadflood_platform.errors import DomainError, InvalidArgument, bounded, to_rpc_status

log = logging.getLogger(__name__)


# The data exceptions (SQLSTATE class 22) that mean a value the caller sent cannot be stored as
# given, rather than a fault of ours (a division by zero, say, stays INTERNAL).
BAD_VALUE_SQLSTATES = frozenset(
    {
        "22001",  # string data right truncation: too long
        "22003",  # numeric value out of range
        "22007",  # invalid datetime format
        "22008",  # datetime field overflow
        "22021",  # character not in repertoire: a NUL in text
        "22P02",  # invalid text representation
        "22P05",  # untranslatable character
    }
)


def _bad_value(error: Exception) -> InvalidArgument | None:
    """PostgreSQL refusing a caller's value as the caller's error, for whatever validation missed it.

    The unit of work's transaction rolled back with the error: nothing was written.
    """
    if getattr(getattr(error, "orig", error), "sqlstate", None) not in BAD_VALUE_SQLSTATES:
        return None
    reason = (str(getattr(error, "orig", error)).splitlines() or ["invalid value"])[0]
    return InvalidArgument(f"a value cannot be stored: {bounded(reason, 200)}")


class ContextAndErrors(grpc.aio.ServerInterceptor):
    """The one place a service turns a DomainError into a status; anything else is INTERNAL, no trace."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None or handler.unary_unary is None:
            return handler  # health Watch and reflection streams pass through untouched
        metadata = dict(details.invocation_metadata or ())
        values = {name: metadata.get(key) for name, key in context.METADATA_KEYS.items()}
        inner = handler.unary_unary

        async def unary(request: Any, ctx: grpc.aio.ServicerContext) -> Any:
            with context.bound(**values):
                try:
                    return await inner(request, ctx)
                except grpc.aio.AbortError:
                    raise
                except DomainError as error:
                    await ctx.abort_with_status(to_rpc_status(error))
                except Exception as error:
                    if (refused := _bad_value(error)) is not None:
                        log.warning("value refused by the database", extra={"method": details.method})
                        await ctx.abort_with_status(to_rpc_status(refused))
                    log.exception("unhandled error", extra={"method": details.method})
                    await ctx.abort(grpc.StatusCode.INTERNAL, "internal error")

        return grpc.unary_unary_rpc_method_handler(
            unary,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
