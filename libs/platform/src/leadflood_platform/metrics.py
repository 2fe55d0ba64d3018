"""The Prometheus metrics every process exports (gRPC calls, HTTP requests, jobs, queues, the outbox) and its /metrics.

Each process serves the default registry on METRICS_PORT (0: not served): a service's own metrics (the runs
worker's queue health, the mail room's sends) are defined in its package and appear on the same endpoint.
One observation per call, job or request, and no I/O on those paths: the queue and outbox gauges are
measured by loops of their own.
"""

from __future__ import annotations

import logging

from prometheus_client import Gauge, Histogram, start_http_server

log = logging.getLogger(__name__)

# Seconds: an RPC or a request answers in milliseconds; a job may wait on a provider for a minute.
CALL_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
JOB_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)

# Rate, errors and latency in one series each: its _count is the calls, by code; its buckets the latency.
GRPC_SERVER = Histogram(
    "leadflood_grpc_server_handling_seconds",
    "gRPC calls served, by method and status code: time to the status",
    ["grpc_service", "grpc_method", "grpc_code"],
    buckets=CALL_BUCKETS,
)
HTTP_SERVER = Histogram(
    "leadflood_http_server_request_duration_seconds",
    "HTTP requests the gateway answered, by route template and status: time to the end of the response",
    ["method", "route", "status"],
    buckets=CALL_BUCKETS,
)
# Throughput by outcome is the _count: completed, retried (a transient fault, tried again after a backoff),
# failed (a refusal, its attempts spent, or stopped), poison (undecodable or without its record), duplicate
# (a redelivery of a finished job) and error (the delivery itself broke, e.g. the database away: redelivered).
JOB_DURATION = Histogram(
    "leadflood_job_duration_seconds",
    "Job deliveries a worker processed, by kind and outcome: time from fetch to ack, nak or term",
    ["kind", "outcome"],
    buckets=JOB_BUCKETS,
)
JOB_ATTEMPTS = Histogram(
    "leadflood_job_attempts",
    "The attempt on which a job ended (completed or failed), by kind",
    ["kind", "outcome"],
    buckets=(1, 2, 3, 4, 5, 7, 10),
)
CONSUMER_PENDING = Gauge(
    "leadflood_jobs_consumer_pending",
    "Job messages in the stream not yet delivered to the consumer (JetStream num_pending)",
    ["stream", "consumer"],
)
CONSUMER_ACK_PENDING = Gauge(
    "leadflood_jobs_consumer_ack_pending",
    "Job messages delivered and not yet acked: running, or waiting out a retry's backoff (num_ack_pending)",
    ["stream", "consumer"],
)
CONSUMER_OLDEST_PENDING_AGE = Gauge(
    "leadflood_jobs_consumer_oldest_pending_age_seconds",
    "How long ago the oldest job message the consumer has not acked was queued (0: none)",
    ["stream", "consumer"],
)
OUTBOX_BACKLOG = Gauge("leadflood_outbox_backlog", "Outbox rows not yet published to NATS", ["service"])
OUTBOX_OLDEST_AGE = Gauge(
    "leadflood_outbox_oldest_age_seconds",
    "How long the oldest unpublished outbox row has waited (0: none)",
    ["service"],
)

_served: set[int] = set()


def serve(port: int) -> None:
    """The process's /metrics on `port` (0: none), from a thread of its own; once per port per process."""
    if not port or port in _served:
        return
    try:
        start_http_server(port)
    except OSError as error:
        # Metrics are for watching the work, not a part of it: a port taken (another program on a
        # developer's machine) is said loudly, and the process goes on without /metrics.
        log.error("metrics not served: the port is taken", extra={"port": port, "error": str(error)})
        return
    _served.add(port)
    log.info("metrics served", extra={"port": port})
