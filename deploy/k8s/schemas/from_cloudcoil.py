"""Writes the KEDA and Prometheus-operator JSON schemas in this folder from the `cloudcoil-models-*` packages
(PyPI), which are generated from those projects' released CRDs. Run it in a throwaway venv, not the project's:

    python3 -m venv /tmp/cc && /tmp/cc/bin/pip install cloudcoil-models-keda==2.16.1.0 \
        cloudcoil-models-prometheus-operator==0.80.1.0
    /tmp/cc/bin/python deploy/k8s/schemas/from_cloudcoil.py

The models are pydantic; their JSON schema is made strict like the API server with kubectl's default
`--validate=strict`: an unknown field is an error (additionalProperties: false), null is not a value.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from cloudcoil.models.keda.v1alpha1 import ScaledObject, TriggerAuthentication
from cloudcoil.models.prometheus_operator.v1 import PodMonitor, PrometheusRule, ServiceMonitor

HERE = Path(__file__).resolve().parent
KINDS = {
    "keda.sh_v1alpha1_ScaledObject.json": ScaledObject,
    "keda.sh_v1alpha1_TriggerAuthentication.json": TriggerAuthentication,
    "monitoring.coreos.com_v1_PodMonitor.json": PodMonitor,
    "monitoring.coreos.com_v1_ServiceMonitor.json": ServiceMonitor,
    "monitoring.coreos.com_v1_PrometheusRule.json": PrometheusRule,
}


def strict(node: Any) -> Any:
    if isinstance(node, list):
        return [strict(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {k: strict(v) for k, v in node.items() if k not in {"title", "default"}}
    options = node.get("anyOf")
    if options and any(o == {"type": "null"} for o in options):
        rest = [o for o in options if o != {"type": "null"}]
        node.pop("anyOf")
        node.update(rest[0] if len(rest) == 1 else {"anyOf": rest})
    if node.get("type") == "object" and "properties" in node and "additionalProperties" not in node:
        node["additionalProperties"] = False
    return node


for filename, model in KINDS.items():
    schema = strict(model.model_json_schema(by_alias=True))
    # metadata is checked by the API server for every kind; here any ObjectMeta object is accepted.
    schema["properties"]["metadata"] = {"type": "object"}
    schema["properties"].pop("status", None)
    (HERE / filename).write_text(json.dumps(schema, indent=1, sort_keys=True) + "\n")
    sys.stdout.write(filename + "\n")
