#!/usr/bin/env bash
# Usage: scripts/memcheck.sh [CARGO-TEST-ARGS...]   (`make memcheck`)
# Runs the integration tests (tests/it) against SERVER (default redis7: Debian's redis-server)
# under `valgrind --tool=memcheck`, then checks every valgrind log (scripts/valgrind/check.py):
# it fails on an invalid read or write, another memory error, or a definitely-lost block whose
# stack has a frame of the module. The module is built with the cargo feature `system-alloc`
# (the system allocator, which valgrind tracks, instead of the server's jemalloc) into
# target/memcheck: the release build as target/memcheck/libidgen.so and the test-clock build as
# target/memcheck/test-clock/libidgen.so. The server's own reports are suppressed by
# scripts/valgrind/redis.supp (never a module frame there).
# Output: target/memcheck/logs/vg.<pid>.log (one per server process), test.log, skips.txt
# (tests that skip themselves under the wrapper, with the reason), check.txt, and a last line
#   == memcheck on redis7: tests=<n> passed=<n> failed=<n> skipped=<n> ..., <s> s
# MEMCHECK_TIMEOUT_SCALE (default 10) multiplies the harness's waits; MEMCHECK_THREADS (default
# 2) is cargo test's --test-threads; MEMCHECK_VALGRIND_ARGS adds valgrind options (for example
# --track-origins=yes to see where an uninitialised value comes from).
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
server="${SERVER:-redis7}"
cargo="${CARGO:-cargo}"
out=target/memcheck
command -v valgrind >/dev/null || { echo "memcheck: valgrind not found (make deps)" >&2; exit 1; }
bin="$(scripts/servers.sh path "$server")" || exit 1
start=$(date +%s)

# The two module builds (only the idgen crate compiles again between them).
"$cargo" build --release --features system-alloc --target-dir "$out" || exit 1
cp "$out/release/libidgen.so" "$out/libidgen.so"
"$cargo" build --release --features system-alloc,test-clock --target-dir "$out" || exit 1
mkdir -p "$out/test-clock"
cp "$out/release/libidgen.so" "$out/test-clock/libidgen.so"
# The test binary itself is the ordinary one (target/release): it loads the builds above.
"$cargo" test --release --no-run --test it || exit 1

rm -rf "$out/logs" "$out/skips.txt"
mkdir -p "$out/logs"
vg=(valgrind --tool=memcheck --trace-children=no --leak-check=full
    --show-leak-kinds=definite --errors-for-leak-kinds=definite --num-callers=40
    --error-limit=no --suppressions="$root/scripts/valgrind/redis.supp"
    --log-file="$root/$out/logs/vg.%p.log" ${MEMCHECK_VALGRIND_ARGS:-})
tests_start=$(date +%s)
# cluster:: is `make test-cluster` (six servers at once, not part of tests/it's default run).
IDGEN_SERVER="$bin" \
IDGEN_MODULE="$root/$out/libidgen.so" \
IDGEN_TEST_CLOCK_MODULE="$root/$out/test-clock/libidgen.so" \
IDGEN_SERVER_WRAPPER="${vg[*]}" \
IDGEN_TIMEOUT_SCALE="${MEMCHECK_TIMEOUT_SCALE:-10}" \
IDGEN_SKIP_LOG="$root/$out/skips.txt" \
    "$cargo" test --release --no-fail-fast --test it -- \
    --test-threads "${MEMCHECK_THREADS:-2}" --skip cluster:: "$@" 2>&1 | tee "$out/test.log"
test_rc=${PIPESTATUS[0]}
tests_s=$(($(date +%s) - tests_start))

python3 scripts/valgrind/check.py "$out/logs" | tee "$out/check.txt"
check_rc=${PIPESTATUS[0]}

result=$(grep -E '^test result:' "$out/test.log" | tail -1)
passed=$(sed -nE 's/.* ([0-9]+) passed.*/\1/p' <<<"$result")
failed=$(sed -nE 's/.* ([0-9]+) failed.*/\1/p' <<<"$result")
skipped=$(test -f "$out/skips.txt" && wc -l <"$out/skips.txt" || echo 0)
echo "== memcheck: tests skipped under valgrind ($skipped):"
test -f "$out/skips.txt" && sed 's/^/  /' "$out/skips.txt"
echo "== memcheck on $server: tests passed=${passed:-?} failed=${failed:-?} skipped=$skipped" \
    "(tests exit $test_rc, $tests_s s); $(tail -1 "$out/check.txt"); $(($(date +%s) - start)) s"
[ "$test_rc" = 0 ] && [ "$check_rc" = 0 ]
