"""OpenTelemetry set-up, and carrying a trace and the request context through NATS headers.

With OTEL_EXPORTER_OTLP_ENDPOINT unset nothing is installed, and no span is made (see `active`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from opentelemetry import propagate, trace
from opentelemetry.context import attach, detach

from leadflood_platform import context

_HEADER_FOR = {"request_id": "Lf-Request-Id", "org_id": "Lf-Org-Id"}


def configure(service: str, endpoint: str | None) -> bool:
    """Install the SDK with an OTLP/HTTP exporter when an endpoint is set; True if it did."""
    if not endpoint:
        return False
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces")))
    trace.set_tracer_provider(provider)
    return True


def message_headers() -> dict[str, str]:
    """Headers for a message written now: the W3C trace context and our request/org ids."""
    headers: dict[str, str] = {}
    if active():
        propagate.inject(headers)
    values = context.current()
    headers.update({h: values[name] for name, h in _HEADER_FOR.items() if name in values})
    return headers


def active() -> bool:
    """A tracer provider is installed (configure's, or a test's own), so spans are worth making.

    The API's no-op tracer is not free: a consumed message's span and context cost about 16 µs, a
    transaction's span 5 µs, 7% of the mail room worker's CPU per email (py-spy).
    """
    return not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)


@contextlib.contextmanager
def consuming(headers: dict[str, str] | None, span_name: str) -> Iterator[None]:
    """Continue the producer's trace and context while handling a message."""
    headers = headers or {}
    if not active():
        with context.bound(**{name: headers.get(h) for name, h in _HEADER_FOR.items()}):
            yield
        return
    token = attach(propagate.extract(headers))
    try:
        with (
            context.bound(**{name: headers.get(h) for name, h in _HEADER_FOR.items()}),
            trace.get_tracer("leadflood.bus").start_as_current_span(span_name, kind=trace.SpanKind.CONSUMER),
        ):
            yield
    finally:
        detach(token)
