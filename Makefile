# idgen: build, run and test the Redis module.
# GNU make. `make help` lists the targets.

SHELL := /bin/bash
.DEFAULT_GOAL := help

CARGO    ?= cargo
PORT     ?= 6379
DATA_DIR ?= data
MODULE   := target/release/libidgen.so

# Root runs apt-get directly, everyone else through sudo.
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: help deps build run test examples-test lint fmt bench clean

help: ## List the targets
	@echo "idgen make targets:"
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*## "} {printf "  %-8s %s\n", $$1, $$2}'
	@echo "Variables: PORT=$(PORT) DATA_DIR=$(DATA_DIR) (make run PORT=6380 DATA_DIR=/tmp/idgen)"

deps: ## Install redis-server, redis-tools and libclang-dev (apt) if missing
	@missing=0; \
	for cmd in redis-server redis-cli redis-benchmark; do \
		command -v $$cmd >/dev/null 2>&1 || { echo "missing: $$cmd"; missing=1; }; \
	done; \
	dpkg -s libclang-dev >/dev/null 2>&1 || { echo "missing: libclang-dev"; missing=1; }; \
	if [ $$missing = 1 ]; then \
		$(SUDO) apt-get update && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y redis-server redis-tools libclang-dev; \
	else \
		echo "deps: redis-server, redis-cli, redis-benchmark and libclang-dev present"; \
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

test: deps build examples-test ## Build, then run all tests (examples, unit and integration) in release mode
	$(CARGO) test --release --no-fail-fast

# The client examples (examples/node with ioredis and node-redis, examples/lua) against a
# throwaway redis-server with the module. npm ci installs the locked packages into
# examples/node/node_modules (from the npm registry; nothing else is downloaded).
examples-test: build ## Run the Node.js and Lua examples' tests (needs node and npm)
	cd examples/node && npm ci --no-audit --no-fund --loglevel=error
	examples/with-server.sh bash -c 'cd examples/node && node --test'
	examples/with-server.sh examples/lua/test.sh

lint: ## cargo fmt --check and clippy with warnings as errors
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings

fmt: ## Format the code
	$(CARGO) fmt --all

bench: deps build ## Benchmarks against INCR, INCRBY and a Lua snowflake (results in target/bench/results.md)
	bash bench/run.sh

clean: ## Remove build output and test servers' directories
	$(CARGO) clean
