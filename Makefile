# Lead Flood: `make run` starts everything locally; `make test` runs every test on throwaway servers.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-builtin-rules

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PROTOS := $(shell find protos -name '*.proto')
# Source roots every process imports from; written into the venv as a .pth file.
SOURCE_ROOTS := gen/python libs/platform/src $(wildcard services/*/src) gateway/src cli .

.PHONY: help install source-roots run test bench lint clean distclean k8s-check

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

install: $(VENV)/.installed source-roots gen/python/.generated gateway/web/node_modules/.installed ## install what is missing
	@# The `leadflood` command line, run by the venv's python wherever it is called from.
	@printf '#!/bin/sh\n# The Lead Flood command line; written by `make install`.\nexec "%s" -m leadflood_cli "$$@"\n' \
	  "$(abspath $(PY))" > $(VENV)/bin/.leadflood.new
	@chmod 755 $(VENV)/bin/.leadflood.new && mv -f $(VENV)/bin/.leadflood.new $(VENV)/bin/leadflood

$(VENV)/.installed: requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11+ is required (set PYTHON=...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	touch $@

# Written on every install, so a service folder added since (python -m devstack.scaffold) is importable.
source-roots: $(VENV)/.installed
	@$(PY) -c 'import sys, sysconfig, pathlib; pathlib.Path(sysconfig.get_path("purelib"), "leadflood.pth").write_text("\n".join(str(pathlib.Path(p).resolve()) for p in sys.argv[1:]) + "\n")' $(SOURCE_ROOTS)

# Generated into a fresh folder that then replaces the old one, so a process running meanwhile
# (a test, a helper's session, `make run`) never imports a half-written package.
gen/python/.generated: $(PROTOS) $(VENV)/.installed
	rm -rf gen/.python.new && mkdir -p gen/.python.new
	$(PY) -m grpc_tools.protoc -I protos --python_out=gen/.python.new --grpc_python_out=gen/.python.new --pyi_out=gen/.python.new $(PROTOS)
	touch gen/.python.new/.generated
	rm -rf gen/.python.old; if [ -d gen/python ]; then mv gen/python gen/.python.old; fi
	mv gen/.python.new gen/python && rm -rf gen/.python.old

gateway/web/node_modules/.installed: gateway/web/package-lock.json
	@command -v npm >/dev/null || { echo "npm is required to install the web client's pinned modules (apt-get install npm)"; exit 1; }
	npm ci --prefix gateway/web --no-audit --no-fund --loglevel=error
	touch $@

# Debian's chromium for the browser tests (Playwright drives it; it cannot download its own here).
.chromium:
	@if ! command -v chromium >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "the browser tests need Debian's chromium: sudo apt-get install chromium"; exit 1; fi; fi

run: install ## start PostgreSQL, NATS, the services and the gateway; Ctrl-C stops them all
	$(PY) -m devstack run

test: install .chromium ## unit, integration and end-to-end tests on throwaway servers
	$(PY) -m pytest

.PHONY: drill-restore
drill-restore: install ## back up the local stack's database, wipe it, restore it, verify every schema (docs/runbooks)
	$(PY) -m devstack.drill_restore drill

bench: install ## performance figures beside the raw limits of the parts, measured in the same run
	$(PY) -m bench

k8s-check: install ## render every Kubernetes overlay; validate it offline (schemas, CRDs) and its policies
	$(PY) deploy/k8s/check.py

lint: install ## ruff
	$(PY) -m ruff check .

clean: ## wipe the local data (PostgreSQL cluster, JetStream store, logs)
	rm -rf .local

distclean: clean ## also the venv, generated code and web modules
	rm -rf $(VENV) gen/python gateway/web/node_modules
