"""Writes the manifests that mirror what the code declares on NATS: the JetStream `Stream` and `Consumer`
resources (the NATS JetStream controller's, jetstream.nats.io/v1beta2) and each worker's KEDA
`ScaledObject` on its consumers' lag.

Nothing is listed by hand: the streams are those `Bus.ensure_streams` creates, the consumers those each
registered service's worker subscribes (its job kinds through `JobWorker`, and any loop of its own that adds a
durable consumer, such as the sequences worker's stop events), each read by running the code's own subscribe
path against a recording stand-in for JetStream. So a job kind, a stream subject or a consumer setting added in
the code shows up here, and `tests/deploy` fails until the files are written again:

    .venv/bin/python deploy/k8s/generate.py          # rewrite the generated files
    .venv/bin/python deploy/k8s/generate.py --check  # exit 1 when they differ from the code
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import yaml

K8S = Path(__file__).resolve().parent
REPO = K8S.parents[1]
JETSTREAM_FILE = K8S / "components" / "jetstream" / "jetstream.yaml"
SCALED_OBJECTS_FILE = K8S / "components" / "autoscaling" / "scaledobjects.yaml"

# R3: every stream and consumer on three servers, so one lost node loses nothing (MACHINE-NOTES: a lost
# machine loses what an R1 stream held).
REPLICAS = 3
# The in-cluster NATS' monitoring port, where KEDA reads consumer lag (/jsz). The namespace part is
# replaced per overlay (the autoscaling component's `replacements`), since KEDA runs in its own namespace.
MONITORING_ENDPOINT = "nats.NAMESPACE.svc.cluster.local:8222"
# Messages waiting per worker replica before KEDA adds one (KEDA divides a consumer's lag by this).
LAG_PER_REPLICA = 20
MIN_WORKERS, MAX_WORKERS = 2, 10


@dataclass(frozen=True)
class TableQueue:
    """Work a worker claims from its own PostgreSQL table, not from JetStream: its lag is a count of due rows,
    which KEDA reads with its PostgreSQL scaler (the query is bounded, so a huge backlog stays a cheap count)."""

    name: str
    query: str
    per_replica: int


# The lead-run drain (runs.run_leads, claimed by lease) and the sequences scheduler (due enrollments): their
# JetStream consumers carry only the jobs that start them, so a campaign's backlog would never scale them.
TABLE_QUEUES = {
    "runs": TableQueue(
        "runs-due-leads",
        "SELECT count(*) FROM (SELECT 1 FROM runs.run_leads WHERE status = 'pending' AND due_at <= now() "
        "LIMIT 100000) AS due",
        # LEAD_RUNS_BATCH_SIZE (20) held per worker, a few batches deep.
        100,
    ),
    "sequences": TableQueue(
        "sequences-due-steps",
        "SELECT count(*) FROM (SELECT 1 FROM sequences.enrollments WHERE state = 'active' AND next_due_at <= now() "
        "LIMIT 100000) AS due",
        # One scheduler sent 588 steps/s on the 2-core bench machine (docs/capacity.md, M8): 500 due is about a
        # second of its work, and more than that waits for another replica.
        500,
    ),
}


@dataclass(frozen=True)
class StreamDecl:
    name: str
    subjects: list[str]
    retention: str  # limits | interest | workqueue
    storage: str  # file | memory
    max_age_s: float
    duplicate_window_s: float
    max_bytes: int = -1  # -1: no limit
    # A key-value bucket's stream (the gateway's event tickets) sets these; the product's own streams do not.
    discard: str = "old"
    max_msgs_per_subject: int = 0
    deny_delete: bool = False
    allow_rollup: bool = False
    allow_direct: bool = False


@dataclass(frozen=True)
class ConsumerDecl:
    service: str  # the registered service whose worker subscribes it
    stream: str
    durable: str
    filter_subjects: list[str]
    deliver_policy: str
    ack_policy: str
    ack_wait_s: float
    max_deliver: int
    max_ack_pending: int


# --- reading the code ------------------------------------------------------------------------------


class _Captured(BaseException):
    """Stops the code's subscribe path once its request is recorded (a BaseException: retry loops catch Exception)."""


def _enum(value: Any) -> str:
    return str(getattr(value, "value", value))


def _consumer(service: str, stream: str, config: Any, subject: str | None = None) -> ConsumerDecl:
    subjects = list(config.filter_subjects or []) or [config.filter_subject or subject or ""]
    return ConsumerDecl(
        service=service,
        stream=stream,
        durable=config.durable_name,
        filter_subjects=[s for s in subjects if s],
        deliver_policy=_enum(config.deliver_policy or "all"),
        ack_policy=_enum(config.ack_policy),
        ack_wait_s=float(config.ack_wait or 30),
        max_deliver=int(config.max_deliver if config.max_deliver is not None else -1),
        max_ack_pending=int(config.max_ack_pending or 1000),
    )


class _RecordingJetStream:
    """Answers the calls a process makes on start-up, recording what it asks for."""

    def __init__(self, service: str = "") -> None:
        self.service = service
        self.streams: list[Any] = []
        self.consumers: list[ConsumerDecl] = []

    async def add_stream(self, config: Any) -> Any:
        self.streams.append(config)
        return SimpleNamespace(config=config)  # a stream's info, as a key-value bucket's creation reads it

    async def update_stream(self, config: Any) -> None:  # pragma: no cover - add_stream never fails here
        self.streams.append(config)

    async def pull_subscribe(self, subject: str, durable: str, stream: str, config: Any, **_: Any) -> None:
        config.durable_name = config.durable_name or durable
        self.consumers.append(_consumer(self.service, stream, config, subject))
        raise _Captured

    async def add_consumer(self, stream: str, config: Any, **_: Any) -> None:
        self.consumers.append(_consumer(self.service, stream, config))
        raise _Captured


class _RecordingConnection:
    def __init__(self, js: _RecordingJetStream) -> None:
        self.js = js

    def jetstream(self, **_: Any) -> _RecordingJetStream:
        return self.js


async def _declared() -> tuple[list[StreamDecl], list[ConsumerDecl]]:
    from nats.js.client import JetStreamContext

    from gateway.routes.events import ticket_bucket
    from leadflood_platform import registry
    from leadflood_platform.bus import Bus
    from leadflood_platform.jobs import JobWorker
    from leadflood_platform.server import Runtime

    js = _RecordingJetStream()
    await Bus(_RecordingConnection(js)).ensure_streams()  # type: ignore[arg-type]
    # The gateway's event tickets: a key-value bucket is a stream, made by nats-py's own create_key_value.
    await JetStreamContext.create_key_value(js, ticket_bucket())  # type: ignore[arg-type]
    streams = [
        StreamDecl(
            name=c.name,
            subjects=list(c.subjects),
            retention=_enum(c.retention or "limits"),
            storage=_enum(c.storage),
            max_age_s=float(c.max_age or 0),
            duplicate_window_s=float(c.duplicate_window or 0),
            max_bytes=int(c.max_bytes if c.max_bytes is not None else -1),
            discard=_enum(c.discard or "old"),
            max_msgs_per_subject=int(c.max_msgs_per_subject or 0),
            deny_delete=bool(c.deny_delete),
            allow_rollup=bool(c.allow_rollup_hdrs),
            allow_direct=bool(c.allow_direct),
        )
        for c in js.streams
    ]
    consumers: list[ConsumerDecl] = []
    for entry in registry.services():
        if not entry.worker:
            continue
        spec = importlib.import_module(f"{entry.name}.server").spec()
        js = _RecordingJetStream(entry.name)
        bus = Bus(_RecordingConnection(js))  # type: ignore[arg-type]
        runtime = Runtime(spec.settings, db=None, bus=bus)  # type: ignore[arg-type]
        stop = asyncio.Event()
        worker = JobWorker(
            service=entry.name, db=None, bus=bus, tables=spec.tables, kinds=spec.job_kinds(runtime),  # type: ignore[arg-type]
            backoff_ms=spec.settings.job_retry_backoff_ms, ack_wait_ms=spec.settings.job_ack_wait_ms,
            concurrency=spec.settings.job_concurrency,
        )  # fmt: skip
        for kind in worker.kinds:
            try:
                await worker._consume(kind, stop)
            except _Captured:
                pass
        # The worker's own loops: any that subscribes a durable consumer does it in `_subscribe`.
        for loop in spec.loops(runtime):
            subscribe = getattr(getattr(loop, "__self__", None), "_subscribe", None)
            if subscribe is not None:
                try:
                    await subscribe(stop)
                except _Captured:
                    pass
        consumers.extend(js.consumers)
    return streams, consumers


def declared() -> tuple[list[StreamDecl], list[ConsumerDecl]]:
    """The streams and consumers the code declares, read in a child process whose environment holds only what
    the settings require: the defaults, never a developer's local overrides."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DATABASE_URL": "postgresql://generate:generate@127.0.0.1:1/generate",
        "LEADFLOOD_ENV": "production",
    }
    if os.environ.get("LEADFLOOD_SERVICE_REGISTRY"):
        env["LEADFLOOD_SERVICE_REGISTRY"] = os.environ["LEADFLOOD_SERVICE_REGISTRY"]
    proc = subprocess.run(
        [sys.executable, __file__, "--dump"], env=env, cwd=REPO, capture_output=True, text=True, timeout=120
    )
    if proc.returncode != 0:
        raise RuntimeError(f"reading the code's streams and consumers failed:\n{proc.stderr}")
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    return [StreamDecl(**s) for s in data["streams"]], [ConsumerDecl(**c) for c in data["consumers"]]


# --- writing the manifests -------------------------------------------------------------------------


def go_duration(seconds: float) -> str:
    """Go's time.Duration text, as the controller parses it (`168h`, `30m`, `30s`, `1500ms`)."""
    if seconds <= 0:
        return ""
    ms = round(seconds * 1000)
    if ms % 1000:
        return f"{ms}ms"
    s = ms // 1000
    if s % 3600 == 0:
        return f"{s // 3600}h"
    if s % 60 == 0:
        return f"{s // 60}m"
    return f"{s}s"


def k8s_name(text: str) -> str:
    """A DNS-1123 name for a JetStream name (`inbox-inbox-send_reply` -> `inbox-inbox-send-reply`)."""
    return text.lower().replace("_", "-").replace(".", "-")


LABELS = {"app.kubernetes.io/part-of": "leadflood", "app.kubernetes.io/component": "message-bus"}


def stream_resource(stream: StreamDecl) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "name": stream.name,
        "subjects": stream.subjects,
        "retention": stream.retention,
        "storage": stream.storage,
        "replicas": REPLICAS,
        "discard": stream.discard,
        "duplicateWindow": go_duration(stream.duplicate_window_s),
    }
    if stream.max_age_s:
        spec["maxAge"] = go_duration(stream.max_age_s)
    if stream.max_bytes > 0:
        spec["maxBytes"] = stream.max_bytes
    if stream.max_msgs_per_subject > 0:  # -1 (or 0): no limit
        spec["maxMsgsPerSubject"] = stream.max_msgs_per_subject
    for field, on in (("denyDelete", stream.deny_delete), ("allowRollup", stream.allow_rollup),
                      ("allowDirect", stream.allow_direct)):  # fmt: skip
        if on:
            spec[field] = True
    return {
        "apiVersion": "jetstream.nats.io/v1beta2",
        "kind": "Stream",
        "metadata": {"name": k8s_name(stream.name), "labels": LABELS},
        "spec": spec,
    }


def consumer_resource(consumer: ConsumerDecl) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "streamName": consumer.stream,
        "durableName": consumer.durable,
        "deliverPolicy": consumer.deliver_policy,
        "ackPolicy": consumer.ack_policy,
        "ackWait": go_duration(consumer.ack_wait_s),
        "maxDeliver": consumer.max_deliver,
        "maxAckPending": consumer.max_ack_pending,
        "replicas": REPLICAS,
    }
    if len(consumer.filter_subjects) == 1:
        spec["filterSubject"] = consumer.filter_subjects[0]
    else:
        spec["filterSubjects"] = consumer.filter_subjects
    return {
        "apiVersion": "jetstream.nats.io/v1beta2",
        "kind": "Consumer",
        "metadata": {
            "name": k8s_name(consumer.durable),
            "labels": {**LABELS, "leadflood.io/service": consumer.service},
        },
        "spec": spec,
    }


def scaled_object(service: str, consumers: list[ConsumerDecl]) -> dict[str, Any]:
    worker = f"{service}-worker"
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {
            "name": worker,
            "labels": {"app.kubernetes.io/name": worker, "app.kubernetes.io/part-of": "leadflood"},
        },
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": worker},
            # Never to zero: a worker also runs its service's schedulers and sweeps, not only consumers.
            "minReplicaCount": MIN_WORKERS,
            "maxReplicaCount": MAX_WORKERS,
            "pollingInterval": 15,
            "cooldownPeriod": 300,
            "advanced": {
                "horizontalPodAutoscalerConfig": {
                    "behavior": {
                        # Down slowly: a draining worker's jobs in flight are handed back, not lost, but
                        # flapping costs redeliveries.
                        "scaleDown": {
                            "stabilizationWindowSeconds": 300,
                            "policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}],
                        }
                    }
                }
            },
            "triggers": [
                {
                    "type": "nats-jetstream",
                    "name": k8s_name(c.durable),
                    "metadata": {
                        "natsServerMonitoringEndpoint": MONITORING_ENDPOINT,
                        "account": "$G",
                        "stream": c.stream,
                        "consumer": c.durable,
                        "lagThreshold": str(LAG_PER_REPLICA),
                        "activationLagThreshold": "0",
                        "useHttps": "false",
                    },
                }
                for c in consumers
            ]
            + [
                {
                    "type": "postgresql",
                    "name": queue.name,
                    "metadata": {
                        # The worker's own DATABASE_URL (a secretKeyRef KEDA resolves from the Deployment): its
                        # role reads its schema, nothing else.
                        "connectionFromEnv": "DATABASE_URL",
                        "query": queue.query,
                        "targetQueryValue": str(queue.per_replica),
                        "activationTargetQueryValue": "0",
                    },
                }
                for queue in ([TABLE_QUEUES[service]] if service in TABLE_QUEUES else [])
            ],
        },
    }


HEADER = "# GENERATED by deploy/k8s/generate.py from the code ({what}); do not edit: run the script.\n"


def _dump(docs: list[dict[str, Any]], what: str) -> str:
    body = yaml.safe_dump_all(docs, sort_keys=False, default_flow_style=False, width=120)
    return HEADER.format(what=what) + "---\n" + body


def render(streams: list[StreamDecl], consumers: list[ConsumerDecl]) -> dict[Path, str]:
    jetstream = [stream_resource(s) for s in streams] + [consumer_resource(c) for c in consumers]
    by_service: dict[str, list[ConsumerDecl]] = {}
    for consumer in consumers:
        by_service.setdefault(consumer.service, []).append(consumer)
    scaled = [scaled_object(service, found) for service, found in by_service.items()]
    return {
        JETSTREAM_FILE: _dump(jetstream, "Bus.ensure_streams and each worker's subscriptions"),
        SCALED_OBJECTS_FILE: _dump(scaled, "each worker's JetStream consumers"),
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the files differ from the code")
    parser.add_argument("--dump", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.dump:
        streams, consumers = asyncio.run(_declared())
        sys.stdout.write(
            json.dumps({"streams": [asdict(s) for s in streams], "consumers": [asdict(c) for c in consumers]}) + "\n"
        )
        return 0
    files = render(*declared())
    stale = [path for path, text in files.items() if not path.exists() or path.read_text() != text]
    if args.check:
        for path in stale:
            sys.stderr.write(f"{path.relative_to(REPO)} differs from the code: run deploy/k8s/generate.py" + "\n")
        return 1 if stale else 0
    for path in stale:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(files[path])
        sys.stdout.write(f"wrote {path.relative_to(REPO)}" + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
