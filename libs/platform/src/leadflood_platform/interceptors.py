"""Server interceptors: each call timed into the metrics; the caller's identity verified and bound; the
request id bound from metadata and domain errors mapped to gRPC codes."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from sqlalchemy.exc import DBAPIError

from leadflood_platform import context, identity, metrics
from leadflood_platform.db import concurrent_conflict, refused_value
from leadflood_platform.errors import DomainError, to_rpc_status

log = logging.getLogger(__name__)


@functools.cache
def _names(method: str) -> tuple[str, str]:
    """`/leadflood.leads.v1.LeadsService/GetLead` -> (`leadflood.leads.v1.LeadsService`, `GetLead`)."""
    service, _, name = method.lstrip("/").rpartition("/")
    return service, name


def _wrapped(handler: grpc.RpcMethodHandler, behaviour: Callable[..., Awaitable[Any]]) -> grpc.RpcMethodHandler:
    """The handler with `behaviour` in place of its own (unary or client-streaming, as it was), same codecs."""
    wrap = grpc.unary_unary_rpc_method_handler if handler.unary_unary else grpc.stream_unary_rpc_method_handler
    return wrap(
        behaviour, request_deserializer=handler.request_deserializer, response_serializer=handler.response_serializer
    )


class Metrics(grpc.aio.ServerInterceptor):
    """Every unary-reply call's status code and time into `leadflood_grpc_server_handling_seconds` (one
    observation a call); installed outside ContextAndErrors, so a domain error counts as the code it became."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None or (handler.unary_unary is None and handler.stream_unary is None):
            return handler  # health Watch and reflection streams: long-lived, their time says nothing
        service, method = _names(details.method)
        inner = handler.unary_unary or handler.stream_unary

        async def timed(request: Any, ctx: grpc.aio.ServicerContext) -> Any:
            started, code = time.perf_counter(), "UNKNOWN"
            try:
                reply = await inner(request, ctx)
                code = (ctx.code() or grpc.StatusCode.OK).name
                return reply
            except grpc.aio.AbortError:
                code = (ctx.code() or grpc.StatusCode.UNKNOWN).name
                raise
            except asyncio.CancelledError:
                code = "CANCELLED"
                raise
            finally:
                metrics.GRPC_SERVER.labels(service, method, code).observe(time.perf_counter() - started)

        return _wrapped(handler, timed)


class Identities(grpc.aio.ServerInterceptor):
    """Every call but tooling's (health, reflection) proves who makes it: no token or a bad one is
    UNAUTHENTICATED, a scope short of the method PERMISSION_DENIED. The org and user the service scopes its
    work by are the token's, bound for the call; metadata cannot name them."""

    def __init__(self, service: str, verifier: identity.Verifier) -> None:
        self.service, self.verifier = service, verifier

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None or details.method.lstrip("/").startswith(identity.OPEN_SERVICE_PREFIX):
            return handler
        if handler.unary_unary is None and handler.stream_unary is None:
            return handler  # no server-streaming methods are served; were one added, it would need its own wrap
        metadata = dict(details.invocation_metadata or ())
        try:
            caller: identity.Identity | DomainError = self.verifier.verify(metadata.get(identity.METADATA_KEY))
            identity.require(caller, self.service, details.method)
        except DomainError as refused:
            caller = refused
        inner = handler.unary_unary or handler.stream_unary

        async def as_caller(request: Any, ctx: grpc.aio.ServicerContext) -> Any:
            if isinstance(caller, DomainError):
                log.warning("call refused", extra={"method": details.method, "reason": str(caller)})
                await ctx.abort(caller.code, str(caller))
            with context.bound(org_id=caller.org_id, user_id=caller.user_id, caller=caller.caller):
                return await inner(request, ctx)

        return _wrapped(handler, as_caller)


class ContextAndErrors(grpc.aio.ServerInterceptor):
    """The one place a service turns a DomainError into a status; anything else is INTERNAL, no trace."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None or (handler.unary_unary is None and handler.stream_unary is None):
            return handler  # health Watch and reflection streams pass through untouched
        metadata = dict(details.invocation_metadata or ())
        values = {name: metadata.get(key) for name, key in context.METADATA_KEYS.items()}
        inner = handler.unary_unary or handler.stream_unary

        # `request` is the message, or for a client stream the iterator of messages.
        async def one_reply(request: Any, ctx: grpc.aio.ServicerContext) -> Any:
            with context.bound(**values):
                try:
                    return await inner(request, ctx)
                except grpc.aio.AbortError:
                    raise
                except DomainError as error:
                    await ctx.abort_with_status(to_rpc_status(error))
                except Exception as error:
                    if isinstance(error, DBAPIError) and error.connection_invalidated:
                        # PostgreSQL went away mid-call (a restart): the transaction did not commit
                        # and the pool has dropped the connection, so the caller's retry can succeed.
                        log.warning("database connection lost", extra={"method": details.method})
                        await ctx.abort(grpc.StatusCode.UNAVAILABLE, "the database connection was lost; try again")
                    if (refused := refused_value(error)) is not None:
                        log.warning("value refused by the database", extra={"method": details.method})
                        await ctx.abort_with_status(to_rpc_status(refused))
                    if concurrent_conflict(error):
                        # A deadlock or serialization failure the call did not retry away: nothing was
                        # written, and the caller may send the request again.
                        log.warning("transaction rolled back by a concurrent one", extra={"method": details.method})
                        await ctx.abort(
                            grpc.StatusCode.ABORTED, "the change met a concurrent change and was undone; try again"
                        )
                    log.exception("unhandled error", extra={"method": details.method})
                    await ctx.abort(grpc.StatusCode.INTERNAL, "internal error")

        return _wrapped(handler, one_reply)
