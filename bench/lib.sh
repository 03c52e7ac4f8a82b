# Shared helpers for bench/run.sh and bench/profile.sh (sourced, not run).
# Every server listens on 127.0.0.1 only, on a free port (never 6379), with its directory under
# target/bench/. Started servers are remembered and killed by bench_cleanup (call it from a trap).

BENCH_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH_OUT="$BENCH_ROOT/target/bench"
BENCH_PIDS=()
SERVER_WRAPPER=()
# The server binary: $IDGEN_SERVER (as the tests take it; `make bench SERVER=redis8` sets it),
# else redis-server from PATH.
REDIS_SERVER=${IDGEN_SERVER:-redis-server}

log() { printf '[bench %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "error: $*"; exit 1; }

# A free TCP port on 127.0.0.1 (not 6379).
free_port() {
    local p
    for _ in 1 2 3 4 5; do
        p=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
        [ "$p" != 6379 ] && { echo "$p"; return 0; }
    done
    return 1
}

# The module to load: a private copy of target/release/libidgen.so (built only when missing),
# so that a concurrent `cargo build` cannot swap the library under a running benchmark.
prepare_module() {
    local so="${BENCH_SO:-$BENCH_ROOT/target/release/libidgen.so}"
    if [ ! -f "$so" ]; then
        log "building $so (cargo build --release)"
        (cd "$BENCH_ROOT" && cargo build --release) >&2
    fi
    mkdir -p "$BENCH_OUT"
    cp "$so" "$BENCH_OUT/libidgen.so.tmp.$$"
    mv -f "$BENCH_OUT/libidgen.so.tmp.$$" "$BENCH_OUT/libidgen.so"
    MODULE="$BENCH_OUT/libidgen.so"
}

# The floor module (bench/floor/floor.c: FLOOR.INCR, the cheapest keyed module command), built by
# bench/floor/build.sh when missing or stale. Sets FLOOR_MODULE; start_server then loads it
# beside idgen.
prepare_floor() {
    local so
    so=$(bash "$BENCH_ROOT/bench/floor/build.sh") || die "could not build the floor module"
    mkdir -p "$BENCH_OUT"
    cp "$so" "$BENCH_OUT/libfloor.so.tmp.$$"
    mv -f "$BENCH_OUT/libfloor.so.tmp.$$" "$BENCH_OUT/libfloor.so"
    FLOOR_MODULE="$BENCH_OUT/libfloor.so"
}

# start_server NAME [redis-server options...]
# Starts redis-server with the module on a free port in $BENCH_OUT/servers/NAME (wiped first).
# Sets PORT and SERVER_PID. Extra options are `--name value` pairs. Also loads the floor module
# when prepare_floor has run.
start_server() {
    local name=$1; shift
    local dir="$BENCH_OUT/servers/$name"
    local floor=()
    [ -z "${FLOOR_MODULE:-}" ] || floor=(--loadmodule "$FLOOR_MODULE")
    rm -rf "$dir"; mkdir -p "$dir"
    local attempt
    for attempt in 1 2 3; do
        PORT=$(free_port) || die "no free port"
        "${SERVER_WRAPPER[@]}" "$REDIS_SERVER" --port "$PORT" --bind 127.0.0.1 --dir "$dir" \
            --daemonize no --save '' --appendonly no --logfile "$dir/redis.log" \
            --loadmodule "$MODULE" idgen.allow-unsafe-persistence yes "${floor[@]}" "$@" >"$dir/stdout.log" 2>&1 &
        SERVER_PID=$!
        BENCH_PIDS+=("$SERVER_PID")
        local i
        for i in $(seq 1 "${START_WAIT_STEPS:-100}"); do
            if ! kill -0 "$SERVER_PID" 2>/dev/null; then break; fi
            if [ "$(redis-cli -h 127.0.0.1 -p "$PORT" PING 2>/dev/null)" = PONG ]; then
                return 0
            fi
            sleep 0.1
        done
        log "server $name did not start on port $PORT (attempt $attempt); log:"
        tail -n 20 "$dir/redis.log" "$dir/stdout.log" >&2 2>/dev/null || true
        stop_server "$SERVER_PID"
    done
    die "could not start redis-server $name"
}

# stop_server PID: TERM, wait up to ~5 s, then KILL. Only PIDs this script started.
stop_server() {
    local pid=$1 i
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

bench_cleanup() {
    local pid
    for pid in "${BENCH_PIDS[@]:-}"; do
        [ -n "$pid" ] && stop_server "$pid"
    done
    BENCH_PIDS=()
}

# rcli PORT args...: redis-cli against 127.0.0.1:PORT.
rcli() { local p=$1; shift; redis-cli -h 127.0.0.1 -p "$p" "$@"; }

# info_field PORT SECTION FIELD
info_field() {
    rcli "$1" INFO "$2" | tr -d '\r' | awk -F: -v f="$3" '$1 == f { print $2 }'
}
