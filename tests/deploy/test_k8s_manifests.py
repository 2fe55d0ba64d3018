"""The Kubernetes manifests under deploy/: each overlay renders with kustomize, passes strict schema
validation, and has the properties a reviewer checks (locked-down containers, gRPC probes,
migrations before start, no committed secrets, HA in production, deny-by-default networking).

Runs offline: kubectl (with kustomize built in) and kubernetes-validate come from the venv that
runs pytest.
"""

from __future__ import annotations

import copy
import fnmatch
import functools
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from leadflood_platform import registry

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
K8S = DEPLOY / "k8s"
BIN = Path(sys.executable).parent

OVERLAYS = ("dev", "staging", "production")
NAMESPACES = {"dev": "leadflood-dev", "staging": "leadflood-staging", "production": "leadflood"}
# The oldest Kubernetes minor we claim to support and the newest schema bundled with
# kubernetes-validate.
KUBERNETES_VERSIONS = ("1.33.0", "1.37.0")

# The services the manifests must run: the service registry's (services/registry.toml), each with a
# Deployment, and a <name>-worker Deployment for those with a worker.
REGISTERED = registry.services(REPO / "services" / "registry.toml")
GRPC_SERVICES = tuple(service.name for service in REGISTERED)
WORKERS = tuple(f"{service.name}-worker" for service in REGISTERED if service.worker)
APP_UID = 10001
GRPC_PORT = 50051
HTTP_PORT = 8080
METRICS_PORT = 9464
EXPECTED_TARGETS = {f"{svc.upper()}_GRPC_TARGET": f"dns:///{svc}:{GRPC_PORT}" for svc in GRPC_SERVICES}
WORKLOAD_KINDS = ("Deployment", "StatefulSet")
NAMESPACED_KINDS = {
    "Cluster",
    "ConfigMap",
    "Consumer",
    "Database",
    "PodMonitor",
    "PrometheusRule",
    "ScaledObject",
    "ScheduledBackup",
    "Stream",
    "Deployment",
    "HorizontalPodAutoscaler",
    "Ingress",
    "NetworkPolicy",
    "PodDisruptionBudget",
    "Secret",
    "Service",
    "StatefulSet",
}


# --- rendering ---------------------------------------------------------------------------------


def _tool(name: str) -> Path:
    path = BIN / name
    assert path.exists(), f"{name} not found next to {sys.executable}: install the venv's deps"
    return path


@functools.cache
def _kustomize(directory: Path) -> str:
    proc = subprocess.run(
        [str(_tool("kubectl")), "kustomize", str(directory)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, f"kubectl kustomize {directory} failed:\n{proc.stderr}"
    assert proc.stdout.strip(), f"kubectl kustomize {directory} rendered nothing"
    return proc.stdout


@dataclass
class Rendered:
    overlay: str
    text: str
    docs: list[dict[str, Any]]

    @property
    def namespace(self) -> str:
        return NAMESPACES[self.overlay]

    def kind(self, kind: str) -> list[dict[str, Any]]:
        return [doc for doc in self.docs if doc["kind"] == kind]

    def get(self, kind: str, name: str) -> dict[str, Any]:
        found = [doc for doc in self.kind(kind) if doc["metadata"]["name"] == name]
        assert len(found) == 1, f"{self.overlay}: expected one {kind}/{name}, found {len(found)}"
        return found[0]

    def workloads(self) -> list[dict[str, Any]]:
        return [doc for doc in self.docs if doc["kind"] in WORKLOAD_KINDS]

    def app_deployments(self) -> list[dict[str, Any]]:
        return [d for d in self.kind("Deployment") if _container(d, "app") is not None]


@functools.cache
def render(overlay: str) -> Rendered:
    text = _kustomize(K8S / "overlays" / overlay)
    docs = [doc for doc in yaml.safe_load_all(text) if doc]
    return Rendered(overlay, text, docs)


@pytest.fixture(params=OVERLAYS)
def rendered(request: pytest.FixtureRequest) -> Rendered:
    return render(request.param)


# --- helpers -----------------------------------------------------------------------------------


def _pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    return workload["spec"]["template"]["spec"]


def _pod_labels(workload: dict[str, Any]) -> dict[str, str]:
    return workload["spec"]["template"]["metadata"].get("labels") or {}


def _all_containers(workload: dict[str, Any]) -> Iterator[dict[str, Any]]:
    spec = _pod_spec(workload)
    yield from spec.get("initContainers") or []
    yield from spec.get("containers") or []


def _container(workload: dict[str, Any], name: str, init: bool = False) -> dict[str, Any] | None:
    key = "initContainers" if init else "containers"
    for container in _pod_spec(workload).get(key) or []:
        if container["name"] == name:
            return container
    return None


def _where(workload: dict[str, Any], container: dict[str, Any] | None = None) -> str:
    where = f"{workload['kind']}/{workload['metadata']['name']}"
    return f"{where} container {container['name']}" if container else where


def _env(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in container.get("env") or []}


def _secret_ref(container: dict[str, Any], var: str) -> tuple[str, str] | None:
    item = _env(container).get(var)
    ref = ((item or {}).get("valueFrom") or {}).get("secretKeyRef")
    return (ref["name"], ref["key"]) if ref else None


def _module(container: dict[str, Any]) -> tuple[str, str]:
    """`python -m <module> <verb>` -> (module, verb)."""
    command = container.get("command") or []
    assert command[:2] == ["python", "-m"] and len(command) == 4, f"unexpected command {command}"
    return command[2], command[3]


def _matches(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """Kubernetes label-selector semantics; an empty selector matches everything."""
    selector = selector or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        ok = {
            "In": key in labels and labels.get(key) in values,
            "NotIn": labels.get(key) not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }[op]
        if not ok:
            return False
    return True


def _named_ports(workload: dict[str, Any]) -> dict[str, int]:
    return {
        port["name"]: port["containerPort"]
        for container in _pod_spec(workload).get("containers") or []
        for port in container.get("ports") or []
        if "name" in port
    }


def _resolve_port(workload: dict[str, Any], port: int | str) -> int | None:
    return port if isinstance(port, int) else _named_ports(workload).get(port)


def _hpa_for(r: Rendered, deployment: str) -> dict[str, Any] | None:
    for hpa in r.kind("HorizontalPodAutoscaler"):
        ref = hpa["spec"]["scaleTargetRef"]
        if ref["kind"] == "Deployment" and ref["name"] == deployment:
            return hpa
    return None


def _scaled_object_for(r: Rendered, deployment: str) -> dict[str, Any] | None:
    for scaled in r.kind("ScaledObject"):
        ref = scaled["spec"]["scaleTargetRef"]
        if ref.get("kind", "Deployment") == "Deployment" and ref["name"] == deployment:
            return scaled
    return None


def _min_replicas(r: Rendered, workload: dict[str, Any]) -> int:
    hpa = _hpa_for(r, workload["metadata"]["name"]) if workload["kind"] == "Deployment" else None
    if hpa is not None:
        return hpa["spec"].get("minReplicas", 1)
    scaled = _scaled_object_for(r, workload["metadata"]["name"]) if workload["kind"] == "Deployment" else None
    if scaled is not None:
        return scaled["spec"].get("minReplicaCount", 0)
    return workload["spec"].get("replicas", 1)


def _pdbs_for(r: Rendered, workload: dict[str, Any]) -> list[dict[str, Any]]:
    return [pdb for pdb in r.kind("PodDisruptionBudget") if _matches(pdb["spec"]["selector"], _pod_labels(workload))]


# --- rendering and schema ----------------------------------------------------------------------


def test_no_deploy_file_is_git_ignored() -> None:
    """A kustomization input that .gitignore hides (e.g. *.env) would render here but not in a clone."""
    assert shutil.which("git"), "git is not installed (apt-get install git)"
    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout: nothing here is git-ignored")
    proc = subprocess.run(
        ["git", "ls-files", "--others", "--ignored", "--exclude-standard", "--", "deploy", "tests/deploy"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 0, proc.stderr
    ignored = [line for line in proc.stdout.splitlines() if "__pycache__" not in line]
    assert not ignored, f"git-ignored files under deploy/: {ignored}"


def test_base_renders_on_its_own() -> None:
    docs = [doc for doc in yaml.safe_load_all(_kustomize(K8S / "base")) if doc]
    assert {doc["kind"] for doc in docs} >= {"Deployment", "Service", "ConfigMap", "NetworkPolicy"}
    assert not any("namespace" in doc["metadata"] for doc in docs), "the base must be namespace-agnostic"


def test_overlay_renders(rendered: Rendered) -> None:
    names = {doc["metadata"]["name"] for doc in rendered.kind("Deployment")}
    assert names == {"gateway", *GRPC_SERVICES, *WORKERS}


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_overlay_passes_strict_schema_validation(rendered: Rendered, version: str, tmp_path: Path) -> None:
    """Kubernetes' own kinds; the operators' kinds are validated against deploy/k8s/schemas (test_k8s_check.py)."""
    core = [doc for doc in rendered.docs if _is_core(doc)]
    manifest = tmp_path / f"{rendered.overlay}.yaml"
    manifest.write_text(yaml.safe_dump_all(core))
    proc = subprocess.run(
        [str(_tool("kubernetes-validate")), "--strict", "-k", version, str(manifest)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert "WARN" not in output, output
    passed = [line for line in output.splitlines() if line.startswith("INFO") and " passed " in line]
    assert len(passed) == len(core), f"not every resource was validated:\n{output}"


def _is_core(doc: dict[str, Any]) -> bool:
    group = doc["apiVersion"].rpartition("/")[0]
    return "." not in group or group.endswith(".k8s.io")


# --- pod and container hardening ----------------------------------------------------------------


def test_every_container_is_locked_down(rendered: Rendered) -> None:
    problems: list[str] = []
    for workload in rendered.workloads():
        pod = _pod_spec(workload)
        pod_sc = pod.get("securityContext") or {}
        if pod.get("automountServiceAccountToken") is not False:
            problems.append(f"{_where(workload)}: service account token is mounted")
        for flag in ("hostNetwork", "hostPID", "hostIPC"):
            if pod.get(flag):
                problems.append(f"{_where(workload)}: {flag}")
        volumes = {v["name"]: v for v in pod.get("volumes") or []}
        for container in _all_containers(workload):
            where = _where(workload, container)
            sc = container.get("securityContext") or {}

            def effective(key: str, sc: dict[str, Any] = sc, pod_sc: dict[str, Any] = pod_sc) -> Any:
                return sc.get(key, pod_sc.get(key))

            if effective("runAsNonRoot") is not True:
                problems.append(f"{where}: runAsNonRoot is not true")
            if effective("runAsUser") != APP_UID:
                problems.append(f"{where}: runAsUser is {effective('runAsUser')}, not {APP_UID}")
            if sc.get("readOnlyRootFilesystem") is not True:
                problems.append(f"{where}: root filesystem is writable")
            if sc.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{where}: allowPrivilegeEscalation is not false")
            if sc.get("privileged"):
                problems.append(f"{where}: privileged")
            caps = sc.get("capabilities") or {}
            if "ALL" not in (caps.get("drop") or []) or caps.get("add"):
                problems.append(f"{where}: capabilities are not drop [ALL] with nothing added")
            if (effective("seccompProfile") or {}).get("type") != "RuntimeDefault":
                problems.append(f"{where}: seccompProfile is not RuntimeDefault")
            resources = container.get("resources") or {}
            for kind in ("requests", "limits"):
                missing = {"cpu", "memory"} - set(resources.get(kind) or {})
                if missing:
                    problems.append(f"{where}: no {kind} for {sorted(missing)}")
            tmp = [m for m in container.get("volumeMounts") or [] if m["mountPath"] == "/tmp"]
            if not tmp or "emptyDir" not in volumes.get(tmp[0]["name"], {}):
                problems.append(f"{where}: read-only root but no emptyDir mounted at /tmp")
            image = container.get("image", "")
            if ":" not in image.rsplit("/", 1)[-1] or image.endswith(":latest"):
                problems.append(f"{where}: image {image!r} is not pinned to a tag")
    assert not problems, "\n".join(problems)


def test_namespace_enforces_restricted_pod_security(rendered: Rendered) -> None:
    (namespace,) = rendered.kind("Namespace")
    assert namespace["metadata"]["name"] == rendered.namespace
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    for doc in rendered.docs:
        if doc["kind"] in NAMESPACED_KINDS:
            assert doc["metadata"].get("namespace") == rendered.namespace, _where(doc)


# --- the processes -----------------------------------------------------------------------------


def test_grpc_services_have_native_grpc_probes_on_50051(rendered: Rendered) -> None:
    for svc in GRPC_SERVICES:
        deployment = rendered.get("Deployment", svc)
        app = _container(deployment, "app")
        assert app is not None and _module(app) == (svc, "serve")
        for probe in ("livenessProbe", "readinessProbe"):
            assert (app.get(probe) or {}).get("grpc", {}).get("port") == GRPC_PORT, f"{svc}: {probe}"
        assert GRPC_PORT in {p["containerPort"] for p in app.get("ports") or []}
        assert _env(app)["GRPC_PORT"]["value"] == str(GRPC_PORT)
        service = rendered.get("Service", svc)
        assert _matches({"matchLabels": service["spec"]["selector"]}, _pod_labels(deployment))
        (port,) = service["spec"]["ports"]
        assert port["port"] == GRPC_PORT and _resolve_port(deployment, port["targetPort"]) == GRPC_PORT
        # Headless, so callers resolve every pod and balance across them rather than pin to one.
        assert service["spec"].get("clusterIP") == "None", svc


def test_gateway_serves_http_with_health_and_readiness(rendered: Rendered) -> None:
    gateway = rendered.get("Deployment", "gateway")
    app = _container(gateway, "app")
    assert app is not None and _module(app) == ("gateway", "serve")
    assert _env(app)["HTTP_PORT"]["value"] == str(HTTP_PORT)
    for probe, path in (("livenessProbe", "/health"), ("readinessProbe", "/ready")):
        get = (app.get(probe) or {}).get("httpGet") or {}
        assert get.get("path") == path, f"gateway {probe}"
        assert _resolve_port(gateway, get.get("port")) == HTTP_PORT, f"gateway {probe}"
    assert _secret_ref(app, "AUTH_JWT_SECRET") == ("leadflood-auth", "jwt-secret")
    service = rendered.get("Service", "gateway")
    assert _matches({"matchLabels": service["spec"]["selector"]}, _pod_labels(gateway))
    assert [_resolve_port(gateway, p["targetPort"]) for p in service["spec"]["ports"]] == [HTTP_PORT]


def test_workers_run_their_service_worker_listening_only_for_metrics(rendered: Rendered) -> None:
    for worker in WORKERS:
        deployment = rendered.get("Deployment", worker)
        app = _container(deployment, "app")
        assert app is not None and _module(app) == (worker.removesuffix("-worker"), "worker")
        assert _named_ports(deployment) == {"metrics": METRICS_PORT}, worker


def test_every_deployment_exposes_its_metrics_port_for_prometheus(rendered: Rendered) -> None:
    (config,) = [c for c in rendered.kind("ConfigMap") if c["metadata"]["name"].startswith("leadflood-config")]
    assert config["data"]["METRICS_PORT"] == str(METRICS_PORT)  # where every process serves /metrics
    deployments = rendered.app_deployments()
    assert {d["metadata"]["name"] for d in deployments} == {"gateway", *GRPC_SERVICES, *WORKERS}
    for deployment in deployments:
        assert _named_ports(deployment)["metrics"] == METRICS_PORT, _where(deployment)
        annotations = deployment["spec"]["template"]["metadata"].get("annotations") or {}
        assert annotations.get("prometheus.io/scrape") == "true", _where(deployment)
        assert annotations.get("prometheus.io/port") == str(METRICS_PORT), _where(deployment)
        assert annotations.get("prometheus.io/path") == "/metrics", _where(deployment)


def test_app_containers_get_the_shared_configuration(rendered: Rendered) -> None:
    configmaps = {cm["metadata"]["name"]: cm.get("data") or {} for cm in rendered.kind("ConfigMap")}
    for deployment in rendered.app_deployments():
        for container in _all_containers(deployment):
            where = _where(deployment, container)
            env: dict[str, str] = {}
            for source in container.get("envFrom") or []:
                ref = source.get("configMapRef")
                assert ref and ref["name"] in configmaps, f"{where}: envFrom {source} does not resolve"
                assert not ref.get("optional"), where
                env.update(configmaps[ref["name"]])
            env.update({k: v["value"] for k, v in _env(container).items() if "value" in v})
            assert env.get("LEADFLOOD_ENV") == "production", where
            assert env.get("LOG_LEVEL"), where
            assert env.get("NATS_URL", "").startswith("nats://"), f"{where}: NATS_URL {env.get('NATS_URL')!r}"
            assert {k: env.get(k) for k in EXPECTED_TARGETS} == EXPECTED_TARGETS, where
            if "OTEL_EXPORTER_OTLP_ENDPOINT" in env:
                assert env["OTEL_EXPORTER_OTLP_ENDPOINT"], f"{where}: empty OTLP endpoint is not 'unset'"
            module, _ = _module(container)
            assert _secret_ref(container, "DATABASE_URL") == ("leadflood-db", f"{module}-database-url"), where


def test_every_database_user_migrates_before_starting(rendered: Rendered) -> None:
    users = [d for d in rendered.kind("Deployment") if any(_secret_ref(c, "DATABASE_URL") for c in _all_containers(d))]
    assert {d["metadata"]["name"] for d in users} >= {"gateway", *GRPC_SERVICES}
    for deployment in users:
        app = _container(deployment, "app")
        assert app is not None, _where(deployment)
        module, _ = _module(app)
        init_containers = _pod_spec(deployment).get("initContainers") or []
        migrations = [c for c in init_containers if c.get("command") == ["python", "-m", module, "migrate"]]
        assert len(migrations) == 1, f"{_where(deployment)}: no `python -m {module} migrate` initContainer"
        migrate = migrations[0]
        assert migrate["image"] == app["image"], _where(deployment, migrate)
        assert _secret_ref(migrate, "DATABASE_URL") == _secret_ref(app, "DATABASE_URL"), _where(deployment, migrate)
        assert migrate.get("envFrom") == app.get("envFrom"), _where(deployment, migrate)


# --- secrets -----------------------------------------------------------------------------------


def test_no_secret_is_rendered_and_every_referenced_secret_is_documented(rendered: Rendered) -> None:
    assert not rendered.kind("Secret"), "Secrets are created by the operator, never rendered"
    readme = (DEPLOY / "README.md").read_text()
    referenced: set[tuple[str, str | None]] = set()
    for workload in rendered.workloads():
        for container in _all_containers(workload):
            for item in container.get("env") or []:
                ref = (item.get("valueFrom") or {}).get("secretKeyRef")
                if ref:
                    referenced.add((ref["name"], ref["key"]))
            for source in container.get("envFrom") or []:
                assert "secretRef" not in source, _where(workload, container)
        for volume in _pod_spec(workload).get("volumes") or []:
            if "secret" in volume:
                referenced.add((volume["secret"]["secretName"], None))
    for ingress in rendered.kind("Ingress"):
        referenced.update((tls["secretName"], None) for tls in ingress["spec"].get("tls") or [])
    assert referenced
    for name, key in sorted(referenced, key=str):
        assert f"create secret generic {name}" in readme or f"create secret tls {name}" in readme, (
            f"deploy/README.md does not show how to create Secret {name}"
        )
        if key:
            assert f"--from-literal={key}=" in readme, f"deploy/README.md does not set {name} key {key}"


# --- availability ------------------------------------------------------------------------------


def test_rollouts_never_reduce_serving_capacity(rendered: Rendered) -> None:
    for deployment in rendered.kind("Deployment"):
        strategy = deployment["spec"].get("strategy") or {}
        assert strategy.get("type") == "RollingUpdate", _where(deployment)
        assert strategy["rollingUpdate"]["maxUnavailable"] == 0, _where(deployment)


def test_replicated_workloads_have_a_disruption_budget(rendered: Rendered) -> None:
    for workload in rendered.workloads():
        pdbs = _pdbs_for(rendered, workload)
        assert len(pdbs) <= 1, f"{_where(workload)}: overlapping PDBs"
        if _min_replicas(rendered, workload) > 1:
            assert pdbs, f"{_where(workload)}: replicas > 1 but no PodDisruptionBudget"
    for pdb in rendered.kind("PodDisruptionBudget"):
        selected = [w for w in rendered.workloads() if _matches(pdb["spec"]["selector"], _pod_labels(w))]
        assert len(selected) == 1, f"{_where(pdb)} selects {len(selected)} workloads"
    for scaler in [*rendered.kind("HorizontalPodAutoscaler"), *rendered.kind("ScaledObject")]:
        ref = scaler["spec"]["scaleTargetRef"]
        target = rendered.get(ref.get("kind", "Deployment"), ref["name"])
        # With an autoscaler, a replicas field in the manifest would be reset by every apply.
        assert "replicas" not in target["spec"], f"{_where(target)} has replicas and an autoscaler"
        others = [
            s
            for s in rendered.kind("HorizontalPodAutoscaler")
            if s is not scaler and s["spec"]["scaleTargetRef"]["name"] == ref["name"]
        ]
        assert not others or scaler["kind"] == "HorizontalPodAutoscaler", f"{ref['name']}: an HPA and a ScaledObject"


def test_production_is_highly_available() -> None:
    r = render("production")
    for name in ("gateway", *GRPC_SERVICES):
        deployment = r.get("Deployment", name)
        hpa = _hpa_for(r, name)
        assert hpa is not None, f"production: no HPA for {name}"
        assert hpa["apiVersion"] == "autoscaling/v2"
        assert hpa["spec"]["minReplicas"] >= 2 and hpa["spec"]["maxReplicas"] > hpa["spec"]["minReplicas"]
        assert [m["resource"]["name"] for m in hpa["spec"]["metrics"]] == ["cpu"]
        # CPU utilization is relative to requests: the HPA cannot work without them.
        assert _container(deployment, "app")["resources"]["requests"]["cpu"]
        assert _pdbs_for(r, deployment), f"production: no PDB for {name}"
    for worker in WORKERS:
        deployment = r.get("Deployment", worker)
        scaled = _scaled_object_for(r, worker)
        assert scaled is not None, f"production: no KEDA ScaledObject for {worker}"
        assert scaled["spec"]["minReplicaCount"] >= 2, worker
        assert scaled["spec"]["maxReplicaCount"] > scaled["spec"]["minReplicaCount"], worker
        # JetStream lag for every worker; the runs and sequences workers also their tables' due rows.
        assert "nats-jetstream" in {t["type"] for t in scaled["spec"]["triggers"]}, worker
        assert {t["type"] for t in scaled["spec"]["triggers"]} <= {"nats-jetstream", "postgresql"}, worker
        assert _pdbs_for(r, deployment), f"production: no PDB for {worker}"
    for pdb in r.kind("PodDisruptionBudget"):
        # A budget that allows no eviction blocks node drains forever.
        assert pdb["spec"].get("maxUnavailable", 0) >= 1 or "minAvailable" in pdb["spec"], _where(pdb)


# --- backing services and images ----------------------------------------------------------------


IN_CLUSTER = ("dev", "production")
# The CloudNativePG instances' pods (made by the operator, not rendered): what the network policies see.
PG_CLUSTER = "leadflood-pg"
PG_PODS = {
    "kind": "Pod",
    "metadata": {"name": PG_CLUSTER},
    "spec": {
        "template": {
            "metadata": {"labels": {"cnpg.io/cluster": PG_CLUSTER}},
            "spec": {"containers": [{"name": "postgres", "ports": [{"name": "postgresql", "containerPort": 5432}]}]},
        }
    },
}


@pytest.mark.parametrize("overlay", IN_CLUSTER)
def test_in_cluster_nats_is_a_three_node_jetstream_cluster_with_a_budget(overlay: str) -> None:
    r = render(overlay)
    nats = r.get("StatefulSet", "nats")
    assert nats["spec"]["replicas"] == 3 and nats["spec"]["podManagementPolicy"] == "Parallel"
    (container,) = _pod_spec(nats)["containers"]
    assert container["image"].startswith("nats:2.10")
    config_volume = next(v for v in _pod_spec(nats)["volumes"] if v["name"] == "config")
    conf = r.get("ConfigMap", config_volume["configMap"]["name"])["data"]["nats.conf"]
    store = re.search(r"store_dir:\s*(\S+)", conf).group(1)
    data_mounts = {m["name"] for m in container["volumeMounts"] if m["mountPath"] == store}
    assert data_mounts and data_mounts <= {t["metadata"]["name"] for t in nats["spec"]["volumeClaimTemplates"]}
    # Every node routes to every node, by the headless Service's stable names.
    routes = set(re.findall(r"nats-route://(nats-\d)\.nats:6222", conf))
    assert routes == {f"nats-{i}" for i in range(3)}, conf
    assert "server_name: $POD_NAME" in conf and _env(container)["POD_NAME"]["valueFrom"]["fieldRef"]
    service = r.get("Service", "nats")
    assert service["spec"]["clusterIP"] == "None" and service["spec"]["publishNotReadyAddresses"] is True
    assert nats["spec"]["serviceName"] == "nats"
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        get = container[probe]["httpGet"]
        assert get["path"].startswith("/healthz") and _resolve_port(nats, get["port"]) == 8222
    # Lame duck on the way out, inside the grace period.
    lame_duck = int(re.search(r"lame_duck_duration:\s*(\d+)s", conf).group(1))
    assert "ldm=" in " ".join(container["lifecycle"]["preStop"]["exec"]["command"])
    assert _pod_spec(nats)["terminationGracePeriodSeconds"] > lame_duck
    (pdb,) = _pdbs_for(r, nats)
    assert pdb["spec"]["maxUnavailable"] == 1  # two of three: the quorum of the R3 streams
    (config,) = [c for c in r.kind("ConfigMap") if "NATS_URL" in c.get("data", {})]
    assert config["data"]["NATS_URL"] == "nats://nats:4222"


@pytest.mark.parametrize("overlay", IN_CLUSTER)
def test_in_cluster_postgres_is_a_cloudnativepg_cluster_with_backups_roles_and_schemas(overlay: str) -> None:
    r = render(overlay)
    assert not [s for s in r.kind("StatefulSet") if s["metadata"]["name"] == "postgres"], "the old StatefulSet"
    cluster = r.get("Cluster", PG_CLUSTER)
    assert cluster["apiVersion"] == "postgresql.cnpg.io/v1"
    spec = cluster["spec"]
    assert spec["instances"] == (3 if overlay == "production" else 1)
    assert re.fullmatch(r"ghcr\.io/cloudnative-pg/postgresql:15\.\d+", spec["imageName"])
    assert spec["enableSuperuserAccess"] is False
    store = spec["backup"]["barmanObjectStore"]
    assert store["destinationPath"].startswith("s3://")
    for ref in store["s3Credentials"].values():
        assert set(ref) == {"name", "key"}, "backup credentials are Secret references"
    assert spec["backup"]["retentionPolicy"]
    (scheduled,) = r.kind("ScheduledBackup")
    assert scheduled["spec"]["cluster"]["name"] == PG_CLUSTER and len(scheduled["spec"]["schedule"].split()) == 6
    # One login role and one schema it owns per process: every registered service and the gateway.
    processes = {"gateway", *GRPC_SERVICES}
    roles = {role["name"]: role for role in spec["managed"]["roles"]}
    assert set(roles) == processes
    for name, role in roles.items():
        assert role["login"] is True and role["ensure"] == "present"
        assert role["passwordSecret"]["name"] == f"leadflood-pg-role-{name}"
    (database,) = r.kind("Database")
    assert database["spec"]["cluster"]["name"] == PG_CLUSTER
    assert {s["name"]: s["owner"] for s in database["spec"]["schemas"]} == {p: p for p in processes}
    assert database["spec"]["name"] == spec["bootstrap"]["initdb"]["database"]
    # The leads migrations use extensions.gin_trgm_ops: the schema exists and every role may use it.
    init_sql = " ".join(spec["bootstrap"]["initdb"]["postInitApplicationSQL"])
    assert "EXTENSION IF NOT EXISTS pg_trgm SCHEMA extensions" in init_sql
    assert "GRANT USAGE ON SCHEMA extensions TO PUBLIC" in init_sql


@pytest.mark.parametrize("overlay", ["staging", "production"])
def test_released_environments_use_a_registry_image_and_an_ingress(overlay: str) -> None:
    r = render(overlay)
    images = {c["image"] for d in r.app_deployments() for c in _all_containers(d)}
    assert len(images) == 1, images
    (image,) = images
    registry, _, tag = image.rpartition(":")
    assert "/" in registry and tag not in {"", "latest", "dev"}, image
    (ingress,) = r.kind("Ingress")
    (rule,) = ingress["spec"]["rules"]
    assert ingress["spec"]["tls"][0]["hosts"] == [rule["host"]]
    (path,) = rule["http"]["paths"]
    backend = path["backend"]["service"]
    service = r.get("Service", backend["name"])
    assert backend["port"]["name"] in {p["name"] for p in service["spec"]["ports"]}


def test_staging_uses_external_backends() -> None:
    r = render("staging")
    assert not r.kind("StatefulSet") and not r.kind("Cluster"), "staging must not run in-cluster NATS/Postgres"
    (config,) = [c for c in r.kind("ConfigMap") if "NATS_URL" in c.get("data", {})]
    assert not re.match(r"nats://nats[:/]", config["data"]["NATS_URL"]), "points at the in-cluster NATS"


# --- network policy ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Peer:
    name: str
    namespace: str
    labels: dict[str, str] = field(hash=False)

    @property
    def namespace_labels(self) -> dict[str, str]:
        return {"kubernetes.io/metadata.name": self.namespace}


def _ingress_allowed(r: Rendered, dst: dict[str, Any], port: int, src: Peer) -> bool:
    """Whether NetworkPolicies let `src` open a TCP connection to `dst`'s pods on `port`."""
    selecting = [
        policy
        for policy in r.kind("NetworkPolicy")
        if _matches(policy["spec"]["podSelector"], _pod_labels(dst))
        and "Ingress" in policy["spec"].get("policyTypes", ["Ingress"])
    ]
    if not selecting:
        return True
    for policy in selecting:
        for rule in policy["spec"].get("ingress") or []:
            if _peers_allow(rule.get("from"), r.namespace, src) and _ports_allow(rule.get("ports"), dst, port):
                return True
    return False


def _peers_allow(peers: list[dict[str, Any]] | None, namespace: str, src: Peer) -> bool:
    if not peers:
        return True
    for peer in peers:
        assert "ipBlock" not in peer, "ipBlock peers are not modelled by this test"
        ns_selector, pod_selector = peer.get("namespaceSelector"), peer.get("podSelector")
        if ns_selector is None:
            in_scope = src.namespace == namespace
        else:
            in_scope = _matches(ns_selector, src.namespace_labels)
        if in_scope and (pod_selector is None or _matches(pod_selector, src.labels)):
            return True
    return False


def _ports_allow(ports: list[dict[str, Any]] | None, dst: dict[str, Any], port: int) -> bool:
    if not ports:
        return True
    for item in ports:
        if item.get("protocol", "TCP") != "TCP":
            continue
        if "port" not in item:
            return True
        low = _resolve_port(dst, item["port"])
        if low is not None and low <= port <= item.get("endPort", low):
            return True
    return False


def _peer(workload: dict[str, Any], namespace: str) -> Peer:
    return Peer(workload["metadata"]["name"], namespace, _pod_labels(workload))


def test_default_deny_ingress_exists(rendered: Rendered) -> None:
    deny = [
        policy["metadata"]["name"]
        for policy in rendered.kind("NetworkPolicy")
        if policy["spec"]["podSelector"] == {}
        and "Ingress" in policy["spec"].get("policyTypes", [])
        and not policy["spec"].get("ingress")
    ]
    assert deny, f"{rendered.overlay}: no default-deny ingress NetworkPolicy"


def test_network_policies_allow_exactly_the_intended_callers(rendered: Rendered) -> None:
    r = rendered
    apps = {d["metadata"]["name"]: _peer(d, r.namespace) for d in r.app_deployments()}
    outsider = Peer("ingress-controller", "ingress-nginx", {"app.kubernetes.io/name": "ingress-nginx"})
    stranger = Peer("debug", r.namespace, {"run": "debug"})  # an unrelated pod in the namespace
    # The same app in another namespace (e.g. another environment on the same cluster).
    other_env = [Peer(p.name, "leadflood-other", p.labels) for p in apps.values()]

    # Who reaches the gateway's HTTP port depends on the ingress: test_the_gateway_sees_the_client_address.
    gateway = r.get("Deployment", "gateway")
    assert not _ingress_allowed(r, gateway, GRPC_PORT, INGRESS_CONTROLLER)

    for svc in GRPC_SERVICES:
        target = r.get("Deployment", svc)
        for caller in apps.values():
            assert _ingress_allowed(r, target, GRPC_PORT, caller), f"{caller.name} -> {svc}:{GRPC_PORT} blocked"
        for caller in [outsider, *other_env]:
            assert not _ingress_allowed(r, target, GRPC_PORT, caller), f"{caller.namespace} -> {svc} allowed"
        assert not _ingress_allowed(r, target, GRPC_PORT, stranger), f"unrelated pod -> {svc} allowed"
    for worker in WORKERS:
        assert not _ingress_allowed(r, r.get("Deployment", worker), GRPC_PORT, stranger)

    # Prometheus (the operator's label, its own namespace) scrapes every app pod's metrics port and nothing else.
    prometheus = Peer("prometheus", "monitoring", {"app.kubernetes.io/name": "prometheus"})
    for name in apps:
        target = r.get("Deployment", name)
        assert _ingress_allowed(r, target, METRICS_PORT, prometheus), f"prometheus -> {name}:{METRICS_PORT} blocked"
        for caller in [outsider, stranger, *other_env]:
            assert not _ingress_allowed(r, target, METRICS_PORT, caller), f"{caller.name} -> {name} metrics allowed"
        assert not _ingress_allowed(r, target, GRPC_PORT, prometheus), f"prometheus -> {name}:{GRPC_PORT} allowed"

    backends = {"nats": 4222, PG_CLUSTER: 5432}
    for name, port in backends.items():
        if r.overlay not in IN_CLUSTER:
            assert not r.kind("StatefulSet") and not r.kind("Cluster")
            continue
        backend = r.get("StatefulSet", name) if name == "nats" else PG_PODS
        for caller in [*apps.values(), stranger]:
            assert _ingress_allowed(r, backend, port, caller), f"{caller.name} -> {name}:{port} blocked"
        for caller in [outsider, *other_env]:
            assert not _ingress_allowed(r, backend, port, caller), f"{caller.namespace} -> {name} allowed"
        for svc in GRPC_SERVICES:
            assert not _ingress_allowed(r, r.get("Deployment", svc), GRPC_PORT, _peer(backend, r.namespace))
    if r.overlay in IN_CLUSTER:
        nats = r.get("StatefulSet", "nats")
        # The monitoring port: KEDA's operator only; the cluster port: the other NATS nodes only.
        keda = Peer("keda-operator", "keda", {"app": "keda-operator"})
        assert _ingress_allowed(r, nats, 8222, keda)
        assert not _ingress_allowed(r, nats, 8222, apps["gateway"])
        assert _ingress_allowed(r, nats, 6222, _peer(nats, r.namespace))
        assert not _ingress_allowed(r, nats, 6222, apps["gateway"])
        operator = Peer("cnpg", "cnpg-system", {"app.kubernetes.io/name": "cloudnative-pg"})
        assert _ingress_allowed(r, PG_PODS, 8000, operator) and not _ingress_allowed(r, PG_PODS, 5432, operator)


def test_network_policy_model_is_not_vacuous() -> None:
    """Without the policies every connection would be allowed; the checks above must notice that."""
    r = render("dev")
    without = Rendered(r.overlay, r.text, [d for d in r.docs if d["kind"] != "NetworkPolicy"])
    outsider = Peer("x", "elsewhere", {})
    assert _ingress_allowed(without, without.get("Deployment", "icp"), GRPC_PORT, outsider)
    assert not _ingress_allowed(r, r.get("Deployment", "icp"), GRPC_PORT, outsider)


# --- the client's address behind the ingress ---------------------------------------------------

# The overlays with the ingress component (components/ingress): the others are reached by port-forward.
INGRESS_OVERLAYS = ("staging", "production")
INGRESS_CONTROLLER_CONFIG = K8S / "components" / "ingress" / "ingress-nginx-controller.yaml"
# ingress-nginx's controller pods as its Helm chart and static manifests label them, in its own namespace.
INGRESS_CONTROLLER = Peer(
    "ingress-nginx-controller",
    "ingress-nginx",
    {
        "app.kubernetes.io/name": "ingress-nginx",
        "app.kubernetes.io/instance": "ingress-nginx",
        "app.kubernetes.io/component": "controller",
    },
)


def _client_address_problems(r: Rendered) -> list[str]:
    """Why the gateway would not see the client's own address, or would let a client choose it.

    Behind the ingress, the gateway takes the client from X-Forwarded-For (FORWARDED_ALLOW_IPS "*"), so
    only the controller, which writes that header itself, may reach 8080. Without it, the gateway keeps
    uvicorn's default (loopback only) and the base's allow-anyone policy."""
    problems: list[str] = []
    gateway = r.get("Deployment", "gateway")
    app = _container(gateway, "app")
    assert app is not None
    trusted = (_env(app).get("FORWARDED_ALLOW_IPS") or {}).get("value", "unset")
    in_config = [c["metadata"]["name"] for c in r.kind("ConfigMap") if "FORWARDED_ALLOW_IPS" in (c.get("data") or {})]
    # Pods other than the controller: behind the ingress, any of them reaching 8080 could send the gateway
    # whatever X-Forwarded-For it likes.
    others = [
        Peer(
            "admission-webhook",
            INGRESS_CONTROLLER.namespace,
            {**INGRESS_CONTROLLER.labels, "app.kubernetes.io/component": "admission-webhook"},
        ),
        Peer("look-alike", "elsewhere", INGRESS_CONTROLLER.labels),  # the controller's labels, another namespace
        Peer("debug", r.namespace, {"run": "debug"}),
        Peer("prometheus", "monitoring", {"app.kubernetes.io/name": "prometheus"}),
        *(_peer(d, r.namespace) for d in r.app_deployments()),
    ]
    if r.kind("Ingress"):
        if trusted != "*":
            problems.append(f'gateway: FORWARDED_ALLOW_IPS is {trusted}, not "*" as behind the ingress')
        if not _ingress_allowed(r, gateway, HTTP_PORT, INGRESS_CONTROLLER):
            problems.append(f"the ingress controller cannot reach the gateway's {HTTP_PORT}")
        for peer in others:
            if _ingress_allowed(r, gateway, HTTP_PORT, peer):
                problems.append(
                    f"{peer.name} ({peer.namespace}) reaches the gateway's {HTTP_PORT}: it could forge X-Forwarded-For"
                )
    else:
        if trusted != "unset" or in_config:
            problems.append(f"no ingress, yet FORWARDED_ALLOW_IPS is set (env {trusted}, ConfigMaps {in_config})")
        for peer in [INGRESS_CONTROLLER, *others]:
            if not _ingress_allowed(r, gateway, HTTP_PORT, peer):
                problems.append(f"no ingress, yet {peer.name} ({peer.namespace}) cannot reach the gateway's port")
    return problems


def test_the_gateway_sees_the_client_address(rendered: Rendered) -> None:
    """The sign-in limit per address counts each client, not the controller every client comes through."""
    assert bool(rendered.kind("Ingress")) == (rendered.overlay in INGRESS_OVERLAYS), "which overlays have the ingress"
    assert not _client_address_problems(rendered)


def test_without_the_component_patch_the_client_address_checks_fail(tmp_path: Path) -> None:
    """Production rendered from a copy of deploy/k8s whose ingress component lacks its gateway patch: the base's
    allow-anyone policy and the default FORWARDED_ALLOW_IPS come back, and both are caught."""
    k8s = tmp_path / "k8s"
    shutil.copytree(K8S, k8s, ignore=shutil.ignore_patterns("__pycache__"))
    component = k8s / "components" / "ingress" / "kustomization.yaml"
    kustomization = yaml.safe_load(component.read_text())
    assert [p["path"] for p in kustomization.pop("patches")] == ["gateway-behind-ingress.yaml"]
    component.write_text(yaml.safe_dump(kustomization))
    text = _kustomize(k8s / "overlays" / "production")
    unpatched = Rendered("production", text, [d for d in yaml.safe_load_all(text) if d])
    problems = "\n".join(_client_address_problems(unpatched))
    assert "FORWARDED_ALLOW_IPS is unset" in problems
    for name in ("admission-webhook", "look-alike", "debug", "icp"):
        assert f"{name} (" in problems, problems


def _gateway_app(docs: list[dict[str, Any]]) -> dict[str, Any]:
    (gateway,) = [d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "gateway"]
    app = _container(gateway, "app")
    assert app is not None
    return app


def _gateway_policy(docs: list[dict[str, Any]]) -> dict[str, Any]:
    (policy,) = [d for d in docs if d["kind"] == "NetworkPolicy" and d["metadata"]["name"] == "gateway-allow-http"]
    return policy


def _trust_default(docs: list[dict[str, Any]]) -> None:
    app = _gateway_app(docs)
    app["env"] = [e for e in app["env"] if e["name"] != "FORWARDED_ALLOW_IPS"]


def _trust_anyone(docs: list[dict[str, Any]]) -> None:
    _gateway_app(docs).setdefault("env", []).append({"name": "FORWARDED_ALLOW_IPS", "value": "*"})


def _trust_in_config(docs: list[dict[str, Any]]) -> None:
    (config,) = [d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("leadflood-config")]
    config["data"]["FORWARDED_ALLOW_IPS"] = "*"


def _open_to_anyone(docs: list[dict[str, Any]]) -> None:
    del _gateway_policy(docs)["spec"]["ingress"][0]["from"]


def _controller_elsewhere(docs: list[dict[str, Any]]) -> None:
    (peer,) = _gateway_policy(docs)["spec"]["ingress"][0]["from"]
    peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] = "kube-system"


def _controller_only(docs: list[dict[str, Any]]) -> None:
    _gateway_policy(docs)["spec"] = copy.deepcopy(_gateway_policy(render("production").docs)["spec"])


@pytest.mark.parametrize(
    ("overlay", "breaks", "says"),
    [
        ("production", _trust_default, "FORWARDED_ALLOW_IPS is unset"),
        ("production", _open_to_anyone, "debug (leadflood) reaches the gateway's 8080"),
        ("production", _controller_elsewhere, "the ingress controller cannot reach"),
        ("dev", _trust_anyone, "no ingress, yet FORWARDED_ALLOW_IPS is set"),
        ("dev", _trust_in_config, "no ingress, yet FORWARDED_ALLOW_IPS is set"),
        ("dev", _controller_only, "no ingress, yet debug (leadflood-dev) cannot reach"),
    ],
)
def test_each_client_address_check_catches_a_manifest_that_breaks_it(overlay: str, breaks: Any, says: str) -> None:
    r = render(overlay)
    docs = copy.deepcopy(r.docs)
    breaks(docs)
    problems = _client_address_problems(Rendered(overlay, r.text, docs))
    assert any(says in problem for problem in problems), problems


def test_the_controller_writes_x_forwarded_for_itself() -> None:
    """The gateway believes the controller's X-Forwarded-For: it must be the address the controller saw, not
    a client's header passed on (use-forwarded-headers) or a list the client's header starts (uvicorn's "*"
    takes the list's first entry, compute-full-forwarded-for)."""
    controller = yaml.safe_load(INGRESS_CONTROLLER_CONFIG.read_text())
    assert controller["metadata"]["namespace"] == INGRESS_CONTROLLER.namespace
    data = controller["data"]
    assert data.get("use-forwarded-headers") == "false"
    assert data.get("compute-full-forwarded-for") == "false"


# --- the image ---------------------------------------------------------------------------------


def test_dockerfile_matches_the_manifests() -> None:
    dockerfile = (DEPLOY / "docker" / "Dockerfile").read_text()
    final_stage = dockerfile.rsplit("\nFROM ", 1)[1]
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11-slim", dockerfile, re.M)
    assert re.search(rf"^USER {APP_UID}(:{APP_UID})?$", final_stage, re.M), "image must run as uid 10001"
    assert f"--uid {APP_UID}" in final_stage
    # The source roots go into a .pth file, as `make install` writes them (a glob may cover every service).
    written = re.search(r"printf '%s\\n' (.+?)>[^\n]*/leadflood\.pth", final_stage, re.S)
    assert written, "the image writes no leadflood.pth naming the source roots"
    roots = written.group(1).replace("\\\n", " ").split()
    assert roots[:2] == ["/app/gen/python", "/app/libs/platform/src"]
    copied = re.findall(r"^COPY (\S+) \./\1$", final_stage, re.M)

    def in_image(path: str) -> bool:
        return any(path == folder or path.startswith(folder + "/") for folder in copied)

    modules = {_module(c)[0] for d in render("dev").app_deployments() for c in _all_containers(d)}
    for module in modules:
        home = "gateway" if module == "gateway" else f"services/{module}"
        assert any(fnmatch.fnmatchcase(f"/app/{home}/src", root) for root in roots), f"no source root for {home}"
        for folder in (f"{home}/src", f"{home}/migrations"):
            assert in_image(folder), f"the image does not copy {folder}"
    assert "grpc_tools.protoc" in dockerfile and "npm ci" in dockerfile
