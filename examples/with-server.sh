#!/usr/bin/env bash
# Usage: examples/with-server.sh COMMAND...
# Starts a throwaway server ($IDGEN_SERVER, else redis-server from PATH) with the idgen module
# (target/release/libidgen.so, or $IDGEN_MODULE) on a free loopback port, runs COMMAND with
# IDGEN_PORT set to that port, stops the server and exits with COMMAND's status. Needs
# redis-cli and node (for the free port).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
module="${IDGEN_MODULE:-$root/target/release/libidgen.so}"
[ -f "$module" ] || { echo "module $module not found: run cargo build --release" >&2; exit 1; }
dir="$(mktemp -d "${TMPDIR:-/tmp}/idgen-example.XXXXXX")"
port="$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')"
"${IDGEN_SERVER:-redis-server}" --port "$port" --bind 127.0.0.1 --dir "$dir" --save "" --appendonly yes \
    --logfile "$dir/redis.log" --daemonize no --loadmodule "$module" >/dev/null 2>&1 &
pid=$!
cleanup() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
for _ in $(seq 1 100); do
    [ "$(redis-cli -p "$port" PING 2>/dev/null)" = PONG ] && break
    sleep 0.05
done
[ "$(redis-cli -p "$port" PING 2>/dev/null)" = PONG ] || { echo "redis-server did not start:" >&2; cat "$dir/redis.log" >&2; exit 1; }
IDGEN_PORT="$port" "$@"
