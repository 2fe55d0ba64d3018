"""One trace follows a lead from the gateway through gRPC and JetStream into the worker, and a search run from the
gateway into the transaction that writes its page in the leads service."""

from __future__ import annotations

import time

import httpx

from tests.e2e.helpers import unique_email, until, wait_for_lead
from tests.e2e.test_icps import icp_body
from tests.e2e.test_search_runs import wait_run
from tests.fakes.otlp import FakeCollector, Span

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


def test_one_search_run_is_one_trace_from_the_gateway_into_the_leads_page_transaction(
    client: httpx.Client, collector: FakeCollector
) -> None:
    """POST /v1/icps/{id}/search (gateway) -> StartSearch (icp, gRPC) -> the search job (icp worker, through the
    outbox and JetStream) -> UpsertSourcedLeads (leads, gRPC) -> the transaction that writes the page (leads):
    each span the child of the one before, in one trace."""
    icp = client.post("/v1/icps", json=icp_body()).json()
    run = client.post(f"/v1/icps/{icp['id']}/search", json={"source": "sandbox", "limit": 30, "force": True}).json()
    assert wait_run(client, icp["id"], run["runId"])["status"] == "completed"

    def chain() -> list[Span] | None:
        spans = collector.spans()
        by_id = {s.span_id: s for s in spans}
        starts = [s for s in spans if s.service == "gateway" and s.kind == SERVER and "/search" in s.name]
        for transaction in (s for s in spans if s.service == "leads" and s.name == "db.transaction"):
            path, at = [transaction], transaction
            while at.parent_id in by_id:
                at = by_id[at.parent_id]
                path.append(at)
            if path[-1] in starts:
                return path[::-1]
        return None

    path = until(chain, timeout_s=15, what="a leads page transaction whose parents reach the gateway's POST")
    hops = [(s.service, s.kind) for s in path]
    assert len({s.trace_id for s in path}) == 1
    assert hops[0] == ("gateway", SERVER) and hops[-1] == ("leads", CLIENT)
    for hop in [("icp", SERVER), ("icp", CONSUMER), ("leads", SERVER)]:
        assert hop in hops, hops
    assert hops.index(("icp", CONSUMER)) < hops.index(("leads", SERVER))  # the page is the job's, not the RPC's
    assert any(s.service == "leads" and s.name.endswith("UpsertSourcedLeads") for s in path), [s.name for s in path]
