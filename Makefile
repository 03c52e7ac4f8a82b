# idgen: build, run and test the Redis module.
# GNU make. `make help` lists the targets.

SHELL := /bin/bash
.DEFAULT_GOAL := help

CARGO    ?= cargo
PORT     ?= 6379
DATA_DIR ?= data
MODULE   := target/release/libidgen.so
# The server binary `make run`/`make cluster` start (SERVER=... picks one in the server matrix).
SERVER_BIN ?= redis-server
# First port of `make cluster` (6 nodes: CLUSTER_PORT..CLUSTER_PORT+5, bus +10000).
CLUSTER_PORT ?= 22001

# Python client (clients/python): a project-local virtualenv, never the system Python.
PYTHON3  ?= python3
PY_DIR   := clients/python
PY_VENV  := $(PY_DIR)/.venv
# Tests load $(IDGEN_MODULE) when set (then nothing is built), else $(MODULE).
PY_MODULE_DEP := $(if $(IDGEN_MODULE),,build)

# Root runs apt-get directly, everyone else through sudo.
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: help deps build run test test-faults test-cluster cluster cluster-stop examples-test lint fmt bench bench-floor clean \
	python-venv test-python test-python-faults bench-python

help: ## List the targets
	@echo "idgen make targets:"
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*## "} {printf "  %-19s %s\n", $$1, $$2}'
	@echo "Variables: PORT=$(PORT) DATA_DIR=$(DATA_DIR) (make run PORT=6380 DATA_DIR=/tmp/idgen)"

deps: ## Install redis-server, redis-tools, redis-sentinel, libclang-dev and python3-venv (apt) if missing
	@missing=0; \
	for cmd in redis-server redis-cli redis-benchmark redis-sentinel; do \
		command -v $$cmd >/dev/null 2>&1 || { echo "missing: $$cmd"; missing=1; }; \
	done; \
	dpkg -s libclang-dev >/dev/null 2>&1 || { echo "missing: libclang-dev"; missing=1; }; \
	if [ $$missing = 1 ]; then \
		$(SUDO) apt-get update && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y redis-server redis-tools redis-sentinel libclang-dev; \
	else \
		echo "deps: redis-server, redis-cli, redis-benchmark, redis-sentinel and libclang-dev present"; \
	fi
	@# The Python client's tests need `python3 -m venv` (Debian splits ensurepip into python3-venv).
	@if ! command -v $(PYTHON3) >/dev/null 2>&1 || \
		! $(PYTHON3) -c 'import ensurepip, venv; ensurepip.version()' >/dev/null 2>&1; then \
		echo "missing: $(PYTHON3) with venv"; \
		$(SUDO) apt-get update && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y python3 python3-venv python3-pip; \
	fi

build: ## cargo build --release (produces target/release/libidgen.so)
	$(CARGO) build --release

# Redis changes into `dir` before loading modules, so the example's relative module path is
# replaced by the absolute one; the config is passed on stdin ("-"). ./data must exist because
# the example's own `dir ./data` is applied before --dir.
run: deps build ## Run redis-server with the module (redis.conf.example) on PORT, data in DATA_DIR
	mkdir -p data $(DATA_DIR)
	sed -E 's#^loadmodule +[^ ]+#loadmodule $(abspath $(MODULE))#' redis.conf.example | \
		exec redis-server - --port $(PORT) --dir $(abspath $(DATA_DIR))

test: deps build test-python examples-test ## Build, then run all tests (unit, integration, fault injection; Python client; examples)
	$(CARGO) test --release --no-fail-fast

# The client examples (examples/node with ioredis and node-redis, examples/lua) against a
# throwaway redis-server with the module. npm ci installs the locked packages into
# examples/node/node_modules (from the npm registry; nothing else is downloaded).
examples-test: build ## Run the Node.js and Lua examples' tests (needs node and npm)
	cd examples/node && npm ci --no-audit --no-fund --loglevel=error
	examples/with-server.sh bash -c 'cd examples/node && node --test'
	examples/with-server.sh examples/lua/test.sh

test-faults: deps build python-venv ## Build, then run only the fault-injection suites (tests/faults.rs, Python client's)
	$(CARGO) test --release --no-fail-fast --test faults
	cd $(PY_DIR) && .venv/bin/python -m pytest -q -rs -m faults

# A loopback cluster of 3 primaries + 3 replicas with the module, each node with its own
# idgen.worker-id (1..6) in data/cluster/<port>/node.conf. See scripts/cluster.sh.
cluster: build ## Start a 3+3 Redis Cluster with the module on CLUSTER_PORT.. (data/cluster/<port>/)
	IDGEN_SERVER=$(SERVER_BIN) BASE_PORT=$(CLUSTER_PORT) CLUSTER_DIR=$(DATA_DIR)/cluster \
		bash scripts/cluster.sh start

cluster-stop: ## Stop the cluster started by make cluster (its data stays in data/cluster)
	IDGEN_SERVER=$(SERVER_BIN) BASE_PORT=$(CLUSTER_PORT) CLUSTER_DIR=$(DATA_DIR)/cluster \
		bash scripts/cluster.sh stop

test-cluster: deps build ## Build, then run the Redis Cluster tests (tests/cluster.rs) on SERVER_BIN
	IDGEN_SERVER=$(SERVER_BIN) $(CARGO) test --release --test cluster -- --nocapture

$(PY_VENV)/.installed: $(PY_DIR)/pyproject.toml
	$(PYTHON3) -m venv $(PY_VENV) || { rm -rf $(PY_VENV); \
		$(SUDO) apt-get update && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y python3-venv && \
		$(PYTHON3) -m venv $(PY_VENV); }
	$(PY_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -e '$(PY_DIR)[test]'
	touch $@

python-venv: $(PY_VENV)/.installed ## Create clients/python/.venv and install the client (editable) with pytest

test-python: deps $(PY_MODULE_DEP) python-venv ## Python client tests against redis-server + module (IDGEN_MODULE=path to use another build)
	cd $(PY_DIR) && .venv/bin/python -m pytest -q -rs

test-python-faults: deps $(PY_MODULE_DEP) python-venv ## Python client fault scenario only (kill -9, restart, promotion)
	cd $(PY_DIR) && .venv/bin/python -m pytest -q -rs -m faults

bench-python: deps $(PY_MODULE_DEP) python-venv ## In-process LeasedSnowflake / SegmentSequence rates next to SNOWFLAKE.NEXT
	$(PY_VENV)/bin/python $(PY_DIR)/bench.py

lint: ## cargo fmt --check and clippy with warnings as errors
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings

fmt: ## Format the code
	$(CARGO) fmt --all

bench: deps build bench-floor python-venv ## Benchmarks against INCR, the floor module, a Lua snowflake (target/bench/results.md); WORKER.* (target/bench/worker.md); the Python client in-process
	bash bench/run.sh
	bash bench/worker.sh
	$(PY_VENV)/bin/python $(PY_DIR)/bench.py

# The floor module (bench/floor/floor.c, FLOOR.INCR) into target/bench/floor/libfloor.so: only
# for the benchmarks (bench/run.sh and bench/profile.sh load it beside idgen), never built by
# build or test.
bench-floor:
	bash bench/floor/build.sh >/dev/null

clean: ## Remove build output and test servers' directories
	$(CARGO) clean
	rm -rf $(PY_VENV)
