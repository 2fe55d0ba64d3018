"""`make k8s-check` (deploy/k8s/check.py) and what it stands on: the generated JetStream and KEDA manifests
match the code; the operators' kinds validate against the vendored schemas; each policy passes on every
overlay and catches a manifest that breaks it; the alerts and the dashboard name only metrics the code
exports and link runbooks that exist; the grace periods cover the processes' drain; the Ingress' limits
match the gateway's.
"""

from __future__ import annotations

import ast
import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from leadflood_platform import registry
from tests.k8s_scripts import check, generate

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy" / "k8s"


WORKERS = tuple(f"{s.name}-worker" for s in registry.services(REPO / "services" / "registry.toml") if s.worker)


def _docs(overlay: str) -> list[dict[str, Any]]:
    return copy.deepcopy(check.render(overlay))


def _one(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    (found,) = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    return found


# --- generated from the code -------------------------------------------------------------------


@pytest.fixture(scope="module")
def declared() -> tuple[list[Any], list[Any]]:
    return generate.declared()


def test_generated_manifests_match_the_code(declared: tuple[list[Any], list[Any]]) -> None:
    for path, text in generate.render(*declared).items():
        assert path.read_text() == text, f"{path.relative_to(REPO)} is stale: run deploy/k8s/generate.py"


def test_every_stream_and_consumer_the_code_uses_is_declared_r3(declared: tuple[list[Any], list[Any]]) -> None:
    streams, consumers = declared
    # The product's two streams, and the gateway's event-ticket bucket (a key-value bucket is a stream).
    assert {s.name for s in streams} == {"JOBS", "EVENTS", "KV_GATEWAY_EVENT_TICKETS"}
    # Every worker's job kinds are consumers, and the sequences worker's stop-events consumer too.
    assert {c.service for c in consumers} == {w.removesuffix("-worker") for w in WORKERS}
    assert "sequences-stops" in {c.durable for c in consumers}
    docs = check.render("production")
    declared_streams = {d["spec"]["name"]: d["spec"] for d in docs if d["kind"] == "Stream"}
    declared_consumers = {d["spec"]["durableName"]: d["spec"] for d in docs if d["kind"] == "Consumer"}
    assert set(declared_streams) == {s.name for s in streams}
    assert set(declared_consumers) == {c.durable for c in consumers}
    for stream in streams:
        spec = declared_streams[stream.name]
        assert spec["subjects"] == stream.subjects and spec["retention"] == stream.retention
        assert spec["storage"] == stream.storage and spec["replicas"] == 3
        assert spec["storage"] == ("memory" if stream.name.startswith("KV_") else "file")  # tickets live 30 s
    for consumer in consumers:
        spec = declared_consumers[consumer.durable]
        assert spec["streamName"] == consumer.stream and spec["replicas"] == 3
        assert spec.get("filterSubjects") or [spec["filterSubject"]] == consumer.filter_subjects
        assert spec["ackPolicy"] == "explicit" and spec["maxAckPending"] == consumer.max_ack_pending


def test_a_job_kind_added_to_the_code_makes_the_files_stale(declared: tuple[list[Any], list[Any]]) -> None:
    streams, consumers = declared
    extra = generate.ConsumerDecl(
        service="leads", stream="JOBS", durable="leads-leads-new_kind", filter_subjects=["jobs.leads.new_kind"],
        deliver_policy="all", ack_policy="explicit", ack_wait_s=30, max_deliver=-1, max_ack_pending=16,
    )  # fmt: skip
    files = generate.render(streams, [*consumers, extra])
    assert files[generate.JETSTREAM_FILE] != generate.JETSTREAM_FILE.read_text()
    assert "leads-leads-new-kind" in files[generate.JETSTREAM_FILE]  # a DNS-1123 name for the durable
    assert "consumer: leads-leads-new_kind" in files[generate.SCALED_OBJECTS_FILE]


def test_each_worker_scales_on_its_own_consumers_lag(declared: tuple[list[Any], list[Any]]) -> None:
    _, consumers = declared
    docs = check.render("production")
    scaled = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ScaledObject"}
    assert set(scaled) == set(WORKERS)
    for worker, obj in scaled.items():
        mine = {c.durable for c in consumers if f"{c.service}-worker" == worker}
        triggers = [t for t in obj["spec"]["triggers"] if t["type"] == "nats-jetstream"]
        assert {t["metadata"]["consumer"] for t in triggers} == mine, worker
        for trigger in triggers:
            # KEDA runs in its own namespace: the endpoint names this overlay's namespace in full.
            assert trigger["metadata"]["natsServerMonitoringEndpoint"] == "nats.leadflood.svc.cluster.local:8222"
        # A worker that claims from a table of its own also scales on that table's due rows.
        tables = [t for t in obj["spec"]["triggers"] if t["type"] == "postgresql"]
        service = worker.removesuffix("-worker")
        assert [t["name"] for t in tables] == ([generate.TABLE_QUEUES[service].name] if service in
                                               generate.TABLE_QUEUES else []), worker  # fmt: skip
        assert len(tables) + len(triggers) == len(obj["spec"]["triggers"]), worker


# --- the whole check, and each part catching what it should -------------------------------------


@pytest.mark.parametrize("overlay", check.OVERLAYS)
def test_k8s_check_passes(overlay: str) -> None:
    """What `make k8s-check` runs per overlay; the core kinds' kubernetes-validate run is
    test_k8s_manifests.test_overlay_passes_strict_schema_validation (both minors), not repeated here."""
    assert check.check_overlay(overlay, versions=()) == []


def test_every_operator_kind_has_a_vendored_schema() -> None:
    kinds = {(d["apiVersion"], d["kind"]) for o in check.OVERLAYS for d in check.render(o) if not check.is_core(d)}
    assert kinds == {
        ("jetstream.nats.io/v1beta2", "Stream"),
        ("jetstream.nats.io/v1beta2", "Consumer"),
        ("postgresql.cnpg.io/v1", "Cluster"),
        ("postgresql.cnpg.io/v1", "ScheduledBackup"),
        ("postgresql.cnpg.io/v1", "Database"),
        ("keda.sh/v1alpha1", "ScaledObject"),
        ("monitoring.coreos.com/v1", "PodMonitor"),
        ("monitoring.coreos.com/v1", "PrometheusRule"),
    }
    assert kinds <= set(check.crd_schemas())
    readme = (K8S / "schemas" / "README.md").read_text()
    for path in (K8S / "schemas").glob("*.json"):
        assert path.name in readme, f"schemas/README.md does not say where {path.name} comes from"


@pytest.mark.parametrize(
    ("kind", "name", "path", "value", "says"),
    [
        ("Stream", "jobs", ["spec", "storage"], "disk", "'disk' is not one of"),
        ("Consumer", "icp-icp-search", ["spec", "ackPolicy"], "manual", "'manual' is not one of"),
        ("Consumer", "icp-icp-search", ["spec", "durableNmae"], "x", "Additional properties"),
        ("Cluster", "leadflood-pg", ["spec", "backup", "barmanObjectStore", "s3Credentials", "key"], "x", "Additional"),
        ("Cluster", "leadflood-pg", ["spec", "instances"], "3", "is not of type 'integer'"),
        ("ScheduledBackup", "leadflood-pg-nightly", ["spec", "backupOwnerReference"], "me", "is not one of"),
        ("Database", "leadflood", ["spec", "schemas", 0, "onwer"], "x", "Additional properties"),
        ("ScaledObject", "leads-worker", ["spec", "minReplicas"], 2, "Additional properties"),
        ("PodMonitor", "leadflood", ["spec", "podMetricsEndpoints", 0, "prot"], "metrics", "Additional properties"),
        ("PrometheusRule", "leadflood", ["spec", "groups", 0, "rules", 0, "exprr"], "up", "Additional properties"),
    ],
)
def test_operator_schemas_catch_a_broken_object(kind: str, name: str, path: list[Any], value: Any, says: str) -> None:
    docs = _docs("production")
    node = _one(docs, kind, name)
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    problems = check.validate_crds(docs)
    assert any(says in p and name in p for p in problems), problems


def test_an_unknown_operator_kind_is_refused() -> None:
    docs = _docs("staging")
    docs.append({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {}})
    assert any("no schema for example.com/v1 Widget" in p for p in check.validate_crds(docs))


def test_core_validation_catches_a_misspelled_field() -> None:
    docs = _docs("staging")
    _one(docs, "Deployment", "gateway")["spec"]["template"]["spec"]["containers"][0]["imagePullPolcy"] = "Always"
    assert check.validate_core(docs, check.KUBERNETES_VERSIONS[-1])


def _app(docs: list[dict[str, Any]], name: str = "gateway") -> dict[str, Any]:
    return _one(docs, "Deployment", name)["spec"]["template"]["spec"]["containers"][0]


def _break_probe(docs: list[dict[str, Any]]) -> None:
    _app(docs, "leads").pop("readinessProbe")


def _break_limits(docs: list[dict[str, Any]]) -> None:
    _app(docs)["resources"]["limits"].pop("memory")


def _break_cluster_limits(docs: list[dict[str, Any]]) -> None:
    _one(docs, "Cluster", "leadflood-pg")["spec"].pop("resources")


def _break_non_root(docs: list[dict[str, Any]]) -> None:
    _app(docs)["securityContext"]["runAsNonRoot"] = False


def _break_root_uid(docs: list[dict[str, Any]]) -> None:
    _app(docs)["securityContext"]["runAsUser"] = 0


def _break_read_only(docs: list[dict[str, Any]]) -> None:
    _app(docs)["securityContext"]["readOnlyRootFilesystem"] = False


def _break_latest(docs: list[dict[str, Any]]) -> None:
    _one(docs, "StatefulSet", "nats")["spec"]["template"]["spec"]["containers"][0]["image"] = "nats:latest"


def _break_untagged(docs: list[dict[str, Any]]) -> None:
    _app(docs)["image"] = "registry.example.com/leadflood/leadflood"


def _break_cluster_image(docs: list[dict[str, Any]]) -> None:
    _one(docs, "Cluster", "leadflood-pg")["spec"]["imageName"] = "ghcr.io/cloudnative-pg/postgresql:latest"


def _break_secret_rendered(docs: list[dict[str, Any]]) -> None:
    docs.append({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "leadflood-auth"}, "data": {}})


def _break_literal_credential(docs: list[dict[str, Any]]) -> None:
    env = _app(docs)["env"]
    for item in env:
        if item["name"] == "AUTH_JWT_SECRET":
            item.pop("valueFrom")
            item["value"] = "s3cr3t-s3cr3t-s3cr3t"


def _break_password_in_config(docs: list[dict[str, Any]]) -> None:
    config = next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("leadflood-config"))
    config["data"]["NATS_URL"] = "nats://app:hunter2@nats:4222"


def _break_env_from_secret(docs: list[dict[str, Any]]) -> None:
    _app(docs)["envFrom"].append({"secretRef": {"name": "leadflood-auth"}})


@pytest.mark.parametrize(
    ("breaks", "says"),
    [
        (_break_probe, "has no readinessProbe"),
        (_break_limits, "no limits.memory"),
        (_break_cluster_limits, "Cluster/leadflood-pg: no requests.cpu"),
        (_break_non_root, "does not run as non-root"),
        (_break_root_uid, "does not run as non-root"),
        (_break_read_only, "root filesystem is writable"),
        (_break_latest, "is `latest`"),
        (_break_untagged, "has no tag"),
        (_break_cluster_image, "is `latest`"),
        (_break_secret_rendered, "a Secret is rendered"),
        (_break_literal_credential, "env AUTH_JWT_SECRET is a literal credential"),
        (_break_password_in_config, "key NATS_URL holds a credential"),
        (_break_env_from_secret, "envFrom a whole Secret"),
    ],
)
def test_each_policy_catches_a_manifest_that_breaks_it(breaks: Any, says: str) -> None:
    docs = _docs("production")
    assert check.policy_problems(docs) == []
    breaks(docs)
    problems = check.policy_problems(docs)
    assert any(says in p for p in problems), problems


def test_a_worker_without_probes_is_allowed_but_not_a_listener() -> None:
    """Workers listen on metrics only: no endpoint to probe. Give one a port and it needs probes."""
    docs = _docs("production")
    worker = _app(docs, "leads-worker")
    assert "readinessProbe" not in worker and check.policy_problems(docs) == []
    worker["ports"].append({"name": "http", "containerPort": 8080})
    assert any("leads-worker" in p and "readinessProbe" in p for p in check.policy_problems(docs))


def test_an_undocumented_secret_reference_is_caught() -> None:
    docs = _docs("production")
    cluster = _one(docs, "Cluster", "leadflood-pg")
    cluster["spec"]["managed"]["roles"][0]["passwordSecret"]["name"] = "leadflood-pg-role-nobody"
    problems = check.undocumented_secrets(docs, (REPO / "deploy" / "README.md").read_text())
    assert problems == [
        "Secret leadflood-pg-role-nobody is referenced but deploy/README.md does not show how to create it"
    ]


def test_secret_references_cover_every_form_used() -> None:
    found = check.referenced_secrets(check.render("production"))
    names = {name for name, _ in found}
    assert {"leadflood-db", "leadflood-auth", "leadflood-inbox", "leadflood-tls", "leadflood-pg-backup"} <= names
    assert {f"leadflood-pg-role-{p}" for p in ("gateway", *(s.name for s in registry.services()))} <= names
    assert ("leadflood-pg-backup", "ACCESS_KEY_ID") in found


# --- metrics: the rules and the dashboard name only what the code exports ------------------------

PROMETHEUS_TYPES = {"Counter", "Gauge", "Histogram", "Summary", "Info", "Enum"}
PROMQL_WORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset", "le",
}  # fmt: skip


def exported_metrics() -> set[str]:
    """Every series name the code's prometheus_client metrics expose, found by reading the source: each call of
    a prometheus_client metric class with its name as the first argument, with the suffixes the client adds."""
    names: set[str] = set()
    roots = [REPO / "libs", REPO / "gateway" / "src", *(REPO / "services").glob("*/src")]
    for root in roots:
        for path in root.rglob("*.py"):
            text = path.read_text()
            if "prometheus_client" not in text:
                continue
            tree = ast.parse(text)
            imported = {
                alias.asname or alias.name
                for node in ast.walk(tree)
                if isinstance(node, ast.ImportFrom) and node.module == "prometheus_client"
                for alias in node.names
                if alias.name in PROMETHEUS_TYPES
            }
            kinds = {name: name for name in imported}
            for node in ast.walk(tree):
                if not (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)):
                    continue
                func = node.func
                called = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
                qualified = called in PROMETHEUS_TYPES and "prometheus_client" in ast.unparse(func)
                if called not in kinds and not qualified:
                    continue
                kind, name = kinds.get(called, called), str(node.args[0].value)
                if kind == "Counter":
                    base = name.removesuffix("_total")
                    names |= {f"{base}_total", f"{base}_created"}
                elif kind in {"Histogram", "Summary"}:
                    names |= {f"{name}_sum", f"{name}_count", f"{name}_created"}
                    if kind == "Histogram":
                        names.add(f"{name}_bucket")
                elif kind == "Info":
                    names.add(f"{name}_info")
                else:
                    names.add(name)
    return names


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads: identifiers that are not functions, keywords, label names or
    numbers, once strings, label matchers, ranges and grouping lists are removed."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    text = re.sub(r"\{[^}]*\}", "", text)
    text = re.sub(r"\[[^\]]*\]", "", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)
    text = re.sub(r"\b\d+(\.\d+)?(e[+-]?\d+)?[smhdwy]*\b", "", text)  # numbers and durations (offset 5m)
    found = set()
    for match in re.finditer(r"[a-zA-Z_:][a-zA-Z0-9_:]*", text):
        word, rest = match.group(0), text[match.end() :].lstrip()
        if rest.startswith("(") or word in PROMQL_WORDS or re.fullmatch(r"\d+[smhdwy]?|e\d+|Inf|NaN", word):
            continue
        found.add(word)
    return found


def _rules() -> list[dict[str, Any]]:
    doc = yaml.safe_load((K8S / "components" / "monitoring" / "prometheus-rules.yaml").read_text())
    return [rule for group in doc["spec"]["groups"] for rule in group["rules"]]


def _panel_queries() -> list[tuple[str, str]]:
    dashboard = json.loads((K8S / "components" / "monitoring" / "dashboards" / "leadflood.json").read_text())
    return [(panel["title"], target["expr"]) for panel in dashboard["panels"] for target in panel["targets"]]


def test_exported_metrics_are_read_from_the_code() -> None:
    exported = exported_metrics()
    # A sample of each kind, to show the reading works (the list itself is never written here).
    assert "leadflood_grpc_server_handling_seconds_count" in exported
    assert "leadflood_jobs_consumer_oldest_pending_age_seconds" in exported
    assert "leadflood_runs_stale_recoveries_total" in exported and "leadflood_inbox_messages_sent_total" in exported
    assert "leadflood_runs_stale_recoveries_total_total" not in exported


def test_metric_names_parser() -> None:
    expr = 'sum by (le, kind) (rate(x_bucket{outcome=~"a|b"}[5m])) / on (kind) y_total > 0.5 and z offset 5m'
    assert metric_names(expr) == {"x_bucket", "y_total", "z"}
    assert metric_names("histogram_quantile(0.95, sum by (le) (rate(a_b[1h])))") == {"a_b"}


def test_every_rule_and_panel_names_only_exported_metrics() -> None:
    exported = exported_metrics()
    queries = [(f"alert {rule['alert']}", rule["expr"]) for rule in _rules()] + _panel_queries()
    assert len(queries) > 20
    for where, expr in queries:
        names = metric_names(expr)
        assert names, f"{where}: names no metric: {expr}"
        assert names <= exported, f"{where}: {sorted(names - exported)} not exported by the code"


def test_a_misspelled_metric_is_caught() -> None:
    names = metric_names("max by (consumer) (leadflood_jobs_consumer_oldest_age_seconds) > 600")
    assert not names <= exported_metrics()


def test_rules_cover_the_issue_alerts_and_link_runbooks_that_exist() -> None:
    rules = _rules()
    exprs = " ".join(rule["expr"] for rule in rules)
    for must in (
        "leadflood_jobs_consumer_oldest_pending_age_seconds",  # queue age
        "leadflood_runs_stale_recoveries_total",  # stale runs
        'outcome=~"failed|poison"',  # dead letters
        "leadflood_grpc_server_handling_seconds_count",  # error rate
        "leadflood_http_server_request_duration_seconds_count",
        "leadflood_outbox_oldest_age_seconds",  # outbox backlog
    ):
        assert must in exprs, must
    for rule in rules:
        url = rule["annotations"]["runbook_url"]
        assert url.startswith("docs/runbooks/") and (REPO / url).is_file(), f"{rule['alert']}: {url}"
        assert rule["labels"]["severity"] in {"page", "ticket"}


def test_runbooks_name_only_commands_that_exist() -> None:
    """Every `leadflood <group> <command>` a runbook names is a command of the CLI (its argparse tree)."""
    from leadflood_cli import commands

    parser = commands.parser()
    groups = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    known = set()
    for group, sub in groups.choices.items():
        nested = [a for a in sub._actions if a.__class__.__name__ == "_SubParsersAction"]
        known |= {f"{group} {command}" for action in nested for command in action.choices} or {group}
    named = 0
    for runbook in (REPO / "docs" / "runbooks").glob("*.md"):
        if runbook.name == "restoring-the-database.md":
            continue  # another engineer's
        for match in re.finditer(r"\bleadflood ([a-z-]+)(?: ([a-z-]+))?", runbook.read_text()):
            group, command = match.group(1), match.group(2)
            if group in {"dlq", "runs", "alerts", "queue", "login", "logout", "credentials"}:
                named += 1
                assert f"{group} {command}" in known or group in known, f"{runbook.name}: leadflood {group} {command}"
    assert named >= 5


# --- graceful termination and ingress limits -------------------------------------------------------


def _code_seconds(path: Path, pattern: str) -> float:
    match = re.search(pattern, path.read_text())
    assert match, f"{path.relative_to(REPO)} no longer matches {pattern!r}: check terminationGracePeriodSeconds"
    return float(match.group(1))


def test_grace_periods_cover_each_process_drain() -> None:
    platform = REPO / "libs" / "platform" / "src" / "leadflood_platform"
    bus_drain = _code_seconds(platform / "bus.py", r"wait_for\(self\.nc\.drain\(\), timeout=(\d+)")
    rpc_grace = _code_seconds(platform / "server.py", r"server\.stop\(grace=(\d+)")
    worker_wait = _code_seconds(platform / "server.py", r"wait_for\(task, timeout=(\d+)")
    http_server = REPO / "gateway" / "src" / "gateway" / "http_server.py"
    http_grace = _code_seconds(http_server, r"timeout_graceful_shutdown=(\d+)")
    docs = check.render("production")
    for doc in docs:
        if doc["kind"] != "Deployment":
            continue
        pod = doc["spec"]["template"]["spec"]
        app = pod["containers"][0]
        component = doc["metadata"]["labels"]["app.kubernetes.io/component"]
        grace = pod.get("terminationGracePeriodSeconds", 30)
        pre_stop = ((app.get("lifecycle") or {}).get("preStop") or {}).get("sleep", {}).get("seconds", 0)
        if component == "worker":
            assert grace > worker_wait + bus_drain, doc["metadata"]["name"]
        else:
            # Listeners: a preStop pause while endpoints are withdrawn, then the server's own drain.
            assert pre_stop >= 5, f"{doc['metadata']['name']}: no preStop pause before SIGTERM"
            drain = http_grace if component == "gateway" else rpc_grace + bus_drain
            assert grace > pre_stop + drain, doc["metadata"]["name"]


def test_ingress_limits_match_the_gateway() -> None:
    from gateway.config import GatewaySettings

    fields = GatewaySettings.model_fields
    ingress = _one(check.render("production"), "Ingress", "gateway")
    notes = ingress["metadata"]["annotations"]
    assert ingress["spec"]["ingressClassName"] == "nginx"

    def size(text: str) -> int:
        number, unit = re.fullmatch(r"(\d+)([kmg]?)", text.lower()).groups()
        return int(number) * {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[unit]

    body = size(notes["nginx.ingress.kubernetes.io/proxy-body-size"])
    assert fields["max_upload_bytes"].default <= body < 2 * fields["max_upload_bytes"].default
    assert int(notes["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 30
    assert int(notes["nginx.ingress.kubernetes.io/proxy-connect-timeout"]) <= 10
    controller = yaml.safe_load((K8S / "components" / "ingress" / "ingress-nginx-controller.yaml").read_text())
    data = controller["data"]
    count, each = data["large-client-header-buffers"].split()
    assert size(each) == fields["max_header_bytes"].default, "a header line the gateway takes must fit"
    assert float(data["client-header-timeout"]) == fields["header_timeout_s"].default
    assert int(data["client-body-timeout"]) > 0 and int(count) >= 2
    assert not check.validate_core([controller], check.KUBERNETES_VERSIONS[-1])
