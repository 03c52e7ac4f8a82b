#!/usr/bin/env bash
# Usage: scripts/test-on.sh SERVER WHAT CARGO-TEST-ARGS...
# Runs `cargo test --release --no-fail-fast CARGO-TEST-ARGS...` with $IDGEN_SERVER set to
# SERVER's binary (redis7, redis8, valkey9 or a path; see scripts/servers.sh), between two lines
# that name the server and give the exit status and the wall time:
#   == integration tests on valkey9: exit 0, 95 s
# (`make test` and `make test-all` run it once per part; see scripts/parts.sh)
# It never runs `cargo build`: a `cargo build` between two `cargo test` runs rebuilds the library
# (dev-dependencies change its dependencies' features) and relinks every test binary.
set -uo pipefail
[ $# -ge 2 ] || { echo "usage: $0 SERVER WHAT CARGO-TEST-ARGS..." >&2; exit 2; }
server="$1"
what="$2"
shift 2
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="$("$root/scripts/servers.sh" path "$server")" || exit 1
# The test-clock build `make build-test-clock` made, when there is one (else the tests build it
# into a target dir of their own).
tc="$root/target/test-clock/libidgen.so"
if [ -z "${IDGEN_TEST_CLOCK_MODULE:-}" ] && [ -f "$tc" ]; then
    export IDGEN_TEST_CLOCK_MODULE="$tc"
fi
echo "== $what on $server: $bin ($("$bin" --version))"
start=$(date +%s)
IDGEN_SERVER="$bin" "${CARGO:-cargo}" test --release --no-fail-fast "$@"
rc=$?
echo "== $what on $server: exit $rc, $(($(date +%s) - start)) s"
exit $rc
