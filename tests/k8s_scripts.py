"""deploy/k8s's scripts (check.py, generate.py, render.py) as modules for the tests: that folder is not a package,
so each is loaded from its file once, under a name of its own."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

K8S = Path(__file__).resolve().parents[1] / "deploy" / "k8s"


def _load(name: str, path: Path) -> ModuleType:
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # its dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


check = _load("leadflood_k8s_check", K8S / "check.py")
generate = _load("leadflood_k8s_generate", K8S / "generate.py")
render = _load("leadflood_k8s_render", K8S / "render.py")
