"""Prometheus metrics on the real stack: after a request and the job it queued, the gateway's, the leads service's
and the leads worker's /metrics show the HTTP, RPC and job series with their labels and counts."""

from __future__ import annotations

import uuid

import httpx
from prometheus_client.parser import text_string_to_metric_families

from devstack.stack import Stack
from tests.e2e.helpers import unique_email, until, wait_for_lead

Samples = list[tuple[str, dict[str, str], float]]


def scrape(url: str) -> Samples:
    reply = httpx.get(url, timeout=5)
    reply.raise_for_status()
    families = text_string_to_metric_families(reply.text)
    return [(sample.name, sample.labels, sample.value) for family in families for sample in family.samples]


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sum of the samples of `name` whose labels include `labels` (0 when there is none)."""
    return sum(v for n, got, v in samples if n == name and labels.items() <= got.items())


def counted(url: str, name: str, **labels: str) -> Samples | None:
    """The scrape once it counts `name` with those labels above zero: a polled condition, for `until`."""
    samples = scrape(url)
    return samples if value(samples, name, **labels) > 0 else None


def test_a_request_and_its_job_show_in_the_gateway_service_and_worker_metrics(
    stack: Stack, client: httpx.Client, base_url: str
) -> None:
    created = client.post("/v1/leads", json={"email": unique_email("metrics"), "firstName": "Me", "lastName": "Tric"})
    assert created.status_code == 201, created.text
    lead_id = created.json()["leadId"]
    assert wait_for_lead(client, lead_id)["status"] == "enriched"
    missing = str(uuid.uuid4())
    assert client.get(f"/v1/leads/{missing}").status_code == 404

    # The gateway: by route template and status, never the raw path (no lead id in a label).
    gateway = until(
        lambda: counted(
            stack.metrics_url("gateway"), "leadflood_http_server_request_duration_seconds_count",
            route="/v1/leads/{lead_id}", status="404", method="GET",
        ),
        what="the gateway's 404 on a lead's route",
    )  # fmt: skip
    http = "leadflood_http_server_request_duration_seconds"
    assert value(gateway, f"{http}_count", method="POST", route="/v1/leads", status="201") >= 1
    assert value(gateway, f"{http}_bucket", method="POST", route="/v1/leads", status="201", le="+Inf") >= 1
    routes = {labels["route"] for name, labels, _ in gateway if name == f"{http}_count"}
    assert not any(lead_id in route or missing in route for route in routes), routes

    # The leads service: each method by its status code, the domain's NotFound as NOT_FOUND.
    rpc = "leadflood_grpc_server_handling_seconds_count"
    service = "leadflood.leads.v1.LeadsService"
    leads = until(
        lambda: counted(stack.metrics_url("leads"), rpc, grpc_service=service, grpc_code="NOT_FOUND"),
        what="the leads service's NOT_FOUND",
    )
    assert value(leads, rpc, grpc_service=service, grpc_method="GetLead", grpc_code="NOT_FOUND") >= 1
    created_ok = {labels["grpc_method"] for name, labels, v in leads if name == rpc and labels["grpc_code"] == "OK"}
    assert "GetLead" in created_ok and len(created_ok) >= 2, created_ok
    assert any(name == "leadflood_outbox_backlog" and labels == {"service": "leads"} for name, labels, _ in leads)

    # The leads worker: the enrichment job completed on its first attempt, and its consumer's queue measured.
    worker_url = stack.metrics_url("leads-worker")
    worker = until(
        lambda: counted(worker_url, "leadflood_job_duration_seconds_count", kind="leads.enrich", outcome="completed"),
        what="the worker's completed enrichment",
    )
    assert value(worker, "leadflood_job_attempts_bucket", kind="leads.enrich", outcome="completed", le="1.0") >= 1
    queue = {"stream": "JOBS", "consumer": "leads-leads-enrich"}
    for gauge in ("pending", "ack_pending", "oldest_pending_age_seconds"):
        assert any(n == f"leadflood_jobs_consumer_{gauge}" and labels == queue for n, labels, _ in worker), gauge


def test_every_process_serves_its_own_metrics_and_the_public_port_does_not(stack: Stack, base_url: str) -> None:
    ports = stack.config.ports.metrics
    assert len(set(ports.values())) == len(ports) and {"gateway", "leads", "leads-worker", "runs-worker"} <= set(ports)
    for process in ports:
        samples = scrape(stack.metrics_url(process))
        assert any(name.startswith("process_cpu_seconds") for name, _, _ in samples), process
    assert "leadflood_" not in httpx.get(f"{base_url}/metrics").text
