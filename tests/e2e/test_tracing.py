"""One trace follows a lead from the gateway through gRPC and JetStream into the worker."""

from __future__ import annotations

import time

import httpx

from tests.e2e.helpers import unique_email, wait_for_lead
from tests.fakes.otlp import FakeCollector

SERVER, CLIENT, CONSUMER = 2, 3, 5  # OTLP SpanKind values


def test_the_trace_crosses_gateway_grpc_and_nats(client: httpx.Client, collector: FakeCollector) -> None:
    created = client.post("/v1/leads", json={"email": unique_email("traced"), "firstName": "T", "lastName": "R"})
    wait_for_lead(client, created.json()["leadId"])
    deadline = time.monotonic() + 10
    while True:
        spans = collector.spans()
        posts = [
            s for s in spans if s.service == "gateway" and s.kind == SERVER and s.name.startswith("POST /v1/leads")
        ]
        traces = {s.trace_id for s in posts}
        in_trace = [s for s in spans if s.trace_id in traces]
        kinds = {(s.service, s.kind) for s in in_trace}
        if {("gateway", CLIENT), ("leads", SERVER), ("leads", CONSUMER)} <= kinds:
            break
        assert time.monotonic() < deadline, f"the trace did not reach every hop: {sorted(kinds)}"
        time.sleep(0.2)
    consumer = next(s for s in in_trace if s.kind == CONSUMER)
    assert consumer.name == "leads.enrich"
