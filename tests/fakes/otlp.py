"""An OpenTelemetry collector's OTLP/HTTP traces endpoint: keeps every span the services export."""

from __future__ import annotations

from dataclasses import dataclass

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from tests.fakes.server import FakeServer, Received, Reply


@dataclass(frozen=True)
class Span:
    service: str
    name: str
    trace_id: str
    kind: int
    span_id: str = ""
    parent_id: str = ""  # "" for a trace's root
    attributes: tuple[tuple[str, str], ...] = ()


class FakeCollector(FakeServer):
    def answer(self, request: Received) -> Reply:
        if request.method != "POST" or request.path != "/v1/traces":
            return Reply(404, b"")
        ExportTraceServiceRequest.FromString(request.body)  # a malformed export fails the request, as it would
        return Reply(200, ExportTraceServiceResponse().SerializeToString(), {"content-type": "application/x-protobuf"})

    def spans(self) -> list[Span]:
        found = []
        for request in list(self.received):
            if request.path != "/v1/traces":
                continue
            for resource_spans in ExportTraceServiceRequest.FromString(request.body).resource_spans:
                attributes = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
                for scope in resource_spans.scope_spans:
                    found += [
                        Span(
                            attributes.get("service.name", ""),
                            s.name,
                            s.trace_id.hex(),
                            s.kind,
                            s.span_id.hex(),
                            s.parent_span_id.hex(),
                            tuple((a.key, a.value.string_value) for a in s.attributes),
                        )  # fmt: skip
                        for s in scope.spans
                    ]
        return found
