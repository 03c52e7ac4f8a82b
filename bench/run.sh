#!/usr/bin/env bash
# `make bench`: throughput, server-side cost, memory and AOF volume of the idgen commands next to
# INCR / INCRBY, a Lua snowflake script (bench/snowflake.lua) and the floor module's FLOOR.INCR
# (bench/floor/floor.c: the cheapest keyed module command, loaded beside idgen). Starts and stops
# its own redis-server processes (127.0.0.1, free ports, data under target/bench/servers/).
#
# Env: ROUNDS (default 3) rounds per section, cases interleaved, medians reported.
#      REQUESTS: requests per redis-benchmark run for every case (default: sized per case so the
#      whole run takes a few minutes on 2 cores). The batched SNOWFLAKE cases are capped at
#      4,000,000 IDs per run (see "Borrow budget" in bench/README.md).
#      MEM_KEYS (default 1000000) keys per workload in the memory section (named
#      user:<1000000+i>:seq, the same names for every workload),
#      AOF_IDS (default 1000000) IDs per workload in the AOF section.
#      IDGEN_SERVER: the server binary (default redis-server from PATH; `make bench SERVER=redis8`).
#      PAIR_ROUNDS (default 7): rounds of the pairs section (each hot command run at the same
#      time as the floor; see below).
#      BENCH_SO: the module to measure (default target/release/libidgen.so), e.g. an older build
#      for a before/after comparison.
# Output: markdown on stdout and in target/bench/results.md; raw numbers in target/bench/raw/.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=bench/lib.sh
source "$HERE/lib.sh"

ROUNDS=${ROUNDS:-3}
REQUESTS=${REQUESTS:-}
MEM_KEYS=${MEM_KEYS:-1000000}
AOF_IDS=${AOF_IDS:-1000000}
CLIENTS=50
RAW="$BENCH_OUT/raw"
BENCH_TIMEOUT=${BENCH_TIMEOUT:-300}   # seconds, per redis-benchmark / redis-cli --pipe run

[[ "$ROUNDS" =~ ^[1-9][0-9]?$ ]] || die "ROUNDS must be 1..99"
[ -z "$REQUESTS" ] || [[ "$REQUESTS" =~ ^[1-9][0-9]{0,8}$ ]] || die "REQUESTS must be a positive integer"
[[ "$MEM_KEYS" =~ ^[1-9][0-9]{0,7}$ ]] || die "MEM_KEYS must be 1..99999999"
[[ "$AOF_IDS" =~ ^[1-9][0-9]{0,7}$ ]] || die "AOF_IDS must be 1..99999999"
for tool in "$REDIS_SERVER" redis-cli redis-benchmark python3 timeout; do
    command -v "$tool" >/dev/null || die "$tool not found (make deps)"
done

trap bench_cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$RAW"
rm -f "$RAW"/*.tsv "$RAW"/*.txt
prepare_module
prepare_floor
START_TS=$(date +%s)

{
    echo "date	$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "commit	$(git -C "$BENCH_ROOT" rev-parse --short HEAD 2>/dev/null || echo none)$(git -C "$BENCH_ROOT" diff --quiet HEAD -- src 2>/dev/null || echo ' (src modified)')"
    echo "module	target/release/libidgen.so $(stat -c '%y' "$BENCH_ROOT/target/release/libidgen.so" | cut -d. -f1) sha256:$(sha256sum "$MODULE" | cut -c1-12)"
    echo "floor	bench/floor/floor.c sha256:$(sha256sum "$BENCH_ROOT/bench/floor/floor.c" | cut -c1-12)"
    echo "redis	$("$REDIS_SERVER" --version | sed 's/^[A-Za-z]* server //')"
    echo "cpus	$(nproc)"
    echo "model	$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
    echo "load_before	$(cut -d' ' -f1-3 /proc/loadavg)"
    echo "rounds	$ROUNDS"
    echo "clients	$CLIENTS"
    echo "requests	${REQUESTS:-per case}"
} >"$RAW/env.tsv"

# ---------------------------------------------------------------------------------------------
# Cases: label | IDs per call | commandstat name | requests at -P 1 | requests at -P 16 | command.
# Fixed key per case. In the command, @SHA is the Lua script's SHA1, @SFID an ID of bench:sfr,
# @MARK a snowflake mark (ms since the default epoch, at setup), @GEN the serving generation.
# "pipe" as the requests at -P 1 marks a command that cannot repeat on one key (the CREATEs): it
# runs once per round, over redis-cli --pipe, on distinct keys (@I = 0..n-1, @R = round) in
# db 9 (flushed after the run); only its usec_per_call is measured (no requests/s).
MAIN_CASES=(
    "PING|0|ping|100000|500000|PING"
    "INCR|1|incr|100000|500000|INCR bench:incr"
    "INCRBY 1000|1000|incrby|100000|500000|INCRBY bench:incrby 1000"
    "FLOOR.INCR|0|floor.incr|100000|500000|FLOOR.INCR bench:floor"
    "FLOOR.INCR (19-digit value)|0|floor.incr|100000|500000|FLOOR.INCR bench:floor:big"
    "FLOOR.BATCH 1000|1000|floor.batch|100000|500000|FLOOR.BATCH bench:floorb 1000"
    "FLOOR.TEXT|0|floor.text|100000|500000|FLOOR.TEXT bench:floortext"
    "Lua snowflake|1|evalsha|100000|300000|EVALSHA @SHA 1 bench:lua"
    "Lua snowflake x100|100|evalsha|20000|20000|EVALSHA @SHA 1 bench:lua100 100"
    "SNOWFLAKE.NEXT|1|snowflake.next|100000|500000|SNOWFLAKE.NEXT bench:sf"
    "SNOWFLAKE.NEXT COUNT 100|100|snowflake.next|40000|40000|SNOWFLAKE.NEXT bench:sf100 COUNT 100"
    "SNOWFLAKE.NEXT COUNT 1000|1000|snowflake.next|4000|4000|SNOWFLAKE.NEXT bench:sf1000 COUNT 1000"
    "SNOWFLAKE.PARSE|0|snowflake.parse|50000|200000|SNOWFLAKE.PARSE bench:sfr @SFID"
    "SNOWFLAKE.INFO|0|snowflake.info|50000|200000|SNOWFLAKE.INFO bench:sfr"
    "SNOWFLAKE.CREATE|0|snowflake.create|pipe|100000|SNOWFLAKE.CREATE bench:sfc:@R:@I"
    "SEQ.NEXT|1|seq.next|100000|500000|SEQ.NEXT bench:seq"
    "SEQ.NEXTBATCH 1000|1000|seq.nextbatch|100000|500000|SEQ.NEXTBATCH bench:seqb 1000"
    "SEQ.CURRENT|0|seq.current|50000|200000|SEQ.CURRENT bench:seqr"
    "SEQ.SET|0|seq.set|50000|200000|SEQ.SET bench:seqset 1000"
    "SEQ.INFO|0|seq.info|50000|200000|SEQ.INFO bench:seqr"
    "SEQ.CREATE|0|seq.create|pipe|100000|SEQ.CREATE bench:seqc:@R:@I"
    # Issue 10: formatted replies next to the integer forms (bench:seqf is created below).
    "SNOWFLAKE.NEXT FORMAT BASE62|1|snowflake.next|100000|500000|SNOWFLAKE.NEXT bench:sf62 FORMAT BASE62"
    "SNOWFLAKE.NEXT (key created FORMAT BASE62)|1|snowflake.next|100000|500000|SNOWFLAKE.NEXT bench:sfk62"
    "SNOWFLAKE.NEXT COUNT 1000 FORMAT BASE62|1000|snowflake.next|4000|4000|SNOWFLAKE.NEXT bench:sf62k COUNT 1000 FORMAT BASE62"
    "SEQ.NEXT FORMAT template|1|seq.next|100000|500000|SEQ.NEXT bench:seqf"
    # Issue 23: an OPAQUE key (8-digit domain: FF1 with about 1.3 cycle-walking calls a value).
    "SEQ.NEXT OPAQUE|1|seq.next|100000|500000|SEQ.NEXT bench:seqo"
    # The UUID issue: UUID.NEXT (default format, 36-byte text) beside FLOOR.TEXT, and COUNT 1000.
    "UUID.NEXT|1|uuid.next|100000|500000|UUID.NEXT bench:uuid"
    "UUID.NEXT COUNT 1000|1000|uuid.next|4000|4000|UUID.NEXT bench:uuid1000 COUNT 1000"
)
# The pairs section: a command and what it is compared with, run at the same time.
# label | commandstat | requests | command | against | its commandstat | requests | its command
PAIR_ROUNDS=${PAIR_ROUNDS:-7}
PAIR_CASES=(
    "SNOWFLAKE.NEXT|snowflake.next|500000|SNOWFLAKE.NEXT bench:psf|FLOOR.INCR (19-digit value)|floor.incr|500000|FLOOR.INCR bench:pfloor:big"
    "SEQ.NEXT|seq.next|500000|SEQ.NEXT bench:pseq|FLOOR.INCR|floor.incr|500000|FLOOR.INCR bench:pfloor"
    "SEQ.NEXTBATCH 1000|seq.nextbatch|500000|SEQ.NEXTBATCH bench:pseqb 1000|FLOOR.BATCH 1000|floor.batch|500000|FLOOR.BATCH bench:pfloorb 1000"
    "INCRBY 1000|incrby|500000|INCRBY bench:pincrby 1000|FLOOR.BATCH 1000|floor.batch|500000|FLOOR.BATCH bench:pfloorb2 1000"
    "SEQ.CURRENT|seq.current|500000|SEQ.CURRENT bench:pseqr|FLOOR.INCR|floor.incr|500000|FLOOR.INCR bench:pfloor"
    "SNOWFLAKE.NEXT (key created FORMAT BASE62)|snowflake.next|500000|SNOWFLAKE.NEXT bench:psf62|FLOOR.INCR (19-digit value)|floor.incr|500000|FLOOR.INCR bench:pfloor:big"
    "SEQ.NEXT FORMAT template|seq.next|500000|SEQ.NEXT bench:pseqf|FLOOR.INCR|floor.incr|500000|FLOOR.INCR bench:pfloor"
    "SEQ.NEXT OPAQUE|seq.next|500000|SEQ.NEXT bench:pseqo|FLOOR.INCR|floor.incr|500000|FLOOR.INCR bench:pfloor"
    "INCR|incr|500000|INCR bench:pincr|FLOOR.INCR|floor.incr|500000|FLOOR.INCR bench:pfloor"
    "UUID.NEXT|uuid.next|500000|UUID.NEXT bench:puuid|FLOOR.TEXT|floor.text|500000|FLOOR.TEXT bench:pfloortext"
    "Lua snowflake|evalsha|100000|EVALSHA @SHA 1 bench:plua|SNOWFLAKE.NEXT|snowflake.next|500000|SNOWFLAKE.NEXT bench:psf2"
)
# Set by main_setup for the placeholders above.
SFID=0; MARK=0; GEN=0
# The cases repeated with appendonly yes and with a replica attached.
PERSIST_CASES=(
    "INCR|1|incr|100000|500000|INCR bench:incr"
    "INCRBY 1000|1000|incrby|100000|500000|INCRBY bench:incrby 1000"
    "Lua snowflake|1|evalsha|50000|200000|EVALSHA @SHA 1 bench:lua"
    "SNOWFLAKE.NEXT|1|snowflake.next|100000|500000|SNOWFLAKE.NEXT bench:sf"
    "SNOWFLAKE.NEXT COUNT 1000|1000|snowflake.next|4000|4000|SNOWFLAKE.NEXT bench:sf1000 COUNT 1000"
    "SEQ.NEXT|1|seq.next|100000|500000|SEQ.NEXT bench:seq"
    "SEQ.NEXTBATCH 1000|1000|seq.nextbatch|100000|500000|SEQ.NEXTBATCH bench:seqb 1000"
)
# A batched SNOWFLAKE run must stay within the borrow budget: the generator issues at most 4096 IDs
# per millisecond and may run at most idgen.max-borrow-ms (1000) ahead of the clock, so a run of
# up to 4,096,000 IDs never hits the limit, however fast the server is.
SF_MAX_IDS_PER_RUN=4000000

# The server's clock (TIME) in unix ms.
server_ms() {
    local t
    t=$(rcli "$1" TIME | tr '\n' ' ')
    set -- $t
    echo $(($1 * 1000 + 10#$2 / 1000))
}

load_script() { rcli "$1" SCRIPT LOAD "$(cat "$HERE/snowflake.lua")"; }

# cmdstat PORT STAT: "usec calls failed_calls usec_per_call" of one command from INFO
# commandstats (usec_per_call from the totals: Redis rounds its own field to 0.01 us).
cmdstat() {
    local line usec calls failed
    line=$(rcli "$1" INFO commandstats | tr -d '\r' | grep "^cmdstat_$2:" || true)
    usec=$(sed -n 's/.*[:,]usec=\([0-9]*\).*/\1/p' <<<"$line"); usec=${usec:-0}
    calls=$(sed -n 's/.*[:,]calls=\([0-9]*\).*/\1/p' <<<"$line"); calls=${calls:-0}
    failed=$(sed -n 's/.*failed_calls=\([0-9]*\).*/\1/p' <<<"$line"); failed=${failed:-0}
    echo "$usec $calls $failed $(awk -v u="$usec" -v c="$calls" 'BEGIN { if (c > 0) printf "%.5f", u / c; else print "nan" }')"
}

# Checks the Lua baseline's IDs against Python's integer arithmetic (exact 64-bit).
verify_lua() {
    local port=$1 sha=$2 ts seq count got want
    for spec in "2199023255540 4094 5" "91182096517 4095 3" "1234567890123 17 2" "9999999 4000 100" \
                "2199023255551 4094 1" "1000000000000 0 1"; do
        read -r ts seq count <<<"$spec"
        rcli "$port" DEL bench:luacheck >/dev/null
        rcli "$port" HSET bench:luacheck ts "$ts" seq "$seq" >/dev/null
        # A past state is ignored (the clock wins), so only states ahead of the clock are checked
        # against fixed expectations; 9999999 ms after the epoch is in the past: the clock is used.
        got=$(rcli "$port" EVALSHA "$sha" 1 bench:luacheck "$count" | tr '\n' ' ')
        want=$(python3 - "$ts" "$seq" "$count" "$(rcli "$port" HGET bench:luacheck ts)" <<'PY'
import sys
ts, seq, count, final_ts = (int(a) for a in sys.argv[1:])
import time
epoch = 1704067200000
if ts < int(time.time() * 1000) - epoch:      # state in the past: the script used the clock
    ts, seq = final_ts - ((count - 1) // 4096), -1  # start of the run (count <= 4096 here)
out = []
for _ in range(count):
    seq += 1
    if seq >= 4096:
        ts, seq = ts + 1, 0
    out.append(str((ts << 22) | (0 << 12) | seq))
print(" ".join(out) + " ")
PY
)
        [ "$got" = "$want" ] || die "Lua baseline IDs differ for state ts=$ts seq=$seq count=$count: got '$got', expected '$want'"
    done
    # A fresh ID decodes to the server's TIME.
    rcli "$port" DEL bench:luacheck >/dev/null
    local id now_ms
    id=$(rcli "$port" EVALSHA "$sha" 1 bench:luacheck)
    now_ms=$(server_ms "$port")
    python3 -c "import sys; d = $now_ms - ((int('$id') >> 22) + 1704067200000); sys.exit(0 if 0 <= d < 1000 else 1)" \
        || die "Lua baseline ID $id does not decode to the server time $now_ms"
    rcli "$port" DEL bench:luacheck >/dev/null
    log "Lua baseline: IDs exact (checked against Python integer arithmetic)"
}

# Waits (bounded) until a snowflake key no longer runs ahead of the clock, so every batched run
# starts with the whole borrow budget.
wait_snowflake_caught_up() {
    local port=$1 key=$2 i last now
    for i in $(seq 1 60); do
        last=$(rcli "$port" SNOWFLAKE.INFO "$key" 2>/dev/null | awk 'prev == "last_timestamp" { print; exit } { prev = $0 }')
        [ -n "$last" ] || return 0
        now=$(server_ms "$port")
        [ "$last" -lt "$now" ] && return 0
        sleep 0.1
    done
    log "warning: $key still ahead of the clock"
}

# Sets SFID, MARK and GEN on the main server (keys the read-only and internal cases use).
main_setup() {
    local port=$1
    SFID=$(rcli "$port" SNOWFLAKE.NEXT bench:sfr)
    rcli "$port" SEQ.NEXT bench:seqr >/dev/null
    MARK=$(($(server_ms "$port") - 1704067200000))
    GEN=$(info_field "$port" idgen idgen_generation)
    [[ "$SFID" =~ ^[0-9]+$ && "$GEN" =~ ^[0-9]+$ ]] || die "main setup failed (SFID=$SFID GEN=$GEN)"
}

# RESP for N commands, @I in the words replaced by 0..N-1, after a SELECT DB; into a file.
# gen_pipe_resp FILE DB N WORDS...
gen_pipe_resp() {
    python3 - "$@" <<'PY'
import sys
path, db, n, words = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
def resp(args):
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)
with open(path, "wb") as f:
    f.write(resp([b"SELECT", db.encode()]))
    enc = [w.encode() for w in words]
    buf = []
    for i in range(n):
        si = str(i).encode()
        buf.append(resp([w.replace(b"@I", si) for w in enc]))
        if len(buf) == 10000:
            f.write(b"".join(buf)); buf = []
    f.write(b"".join(buf))
PY
}

# run_case SECTION ROUND PIPELINE PORT SHA CASE: one redis-benchmark run (or redis-cli --pipe run
# for a "pipe" case); appends a line to $RAW/runs.tsv: section round pipeline label ids_per_call
# requests rps usec_per_call usec calls failed rc client. usec_per_call is computed from the usec
# and calls totals of INFO commandstats (its own usec_per_call field is rounded to 0.01 us).
run_case() {
    local section=$1 round=$2 pipe=$3 port=$4 sha=$5 spec=$6
    local label ids stat n1 n16 cmd n client=redis-benchmark
    IFS='|' read -r label ids stat n1 n16 cmd <<<"$spec"
    cmd=${cmd//@SHA/$sha}
    cmd=${cmd//@SFID/$SFID}
    cmd=${cmd//@MARK/$MARK}
    cmd=${cmd//@GEN/$GEN}
    cmd=${cmd//@R/$round}
    if [ "$n1" = pipe ]; then
        [ "$pipe" = 16 ] || return 0
        client="redis-cli --pipe"
        n=$n16
    elif [ "$pipe" = 1 ]; then n=$n1; else n=$n16; fi
    [ -n "$REQUESTS" ] && n=$REQUESTS
    if [[ "$cmd" == SNOWFLAKE.NEXT* ]]; then
        if [ "$ids" -gt 1 ] && [ $((n * ids)) -gt "$SF_MAX_IDS_PER_RUN" ]; then
            n=$((SF_MAX_IDS_PER_RUN / ids))
        fi
        wait_snowflake_caught_up "$port" "$(awk '{print $2}' <<<"$cmd")"
    fi
    local out rc=0 rps
    if [ "$n1" = pipe ]; then
        # shellcheck disable=SC2086  # the command is split into words on purpose
        gen_pipe_resp "$RAW/pipe_case.resp" 9 "$n" $cmd
        rcli "$port" CONFIG RESETSTAT >/dev/null
        timeout "$BENCH_TIMEOUT" redis-cli -h 127.0.0.1 -p "$port" --pipe <"$RAW/pipe_case.resp" \
            >"$RAW/last_bench_stderr.txt" 2>&1 || rc=$?
        grep -q 'errors: 0' "$RAW/last_bench_stderr.txt" || { [ "$rc" != 0 ] || rc=1; }
        rps=nan
        if [ "$rc" != 0 ]; then
            log "warning: $section/$label (redis-cli --pipe) failed (rc=$rc): $(tail -c 300 "$RAW/last_bench_stderr.txt")"
        fi
    else
        rcli "$port" CONFIG RESETSTAT >/dev/null
        # shellcheck disable=SC2086  # the command is split into words on purpose
        out=$(timeout "$BENCH_TIMEOUT" redis-benchmark -h 127.0.0.1 -p "$port" -c "$CLIENTS" -P "$pipe" \
            -n "$n" --csv $cmd 2>"$RAW/last_bench_stderr.txt") || rc=$?
        rps=$(tail -n 1 <<<"$out" | awk -F'","' 'NF > 1 { print $2 }')
        if [ "$rc" != 0 ] || [ -z "$rps" ]; then
            log "warning: $section/$label -P $pipe failed (rc=$rc): $(head -c 300 "$RAW/last_bench_stderr.txt")"
            rps=nan; [ "$rc" = 0 ] && rc=1
        fi
    fi
    local usec calls failed upc
    read -r usec calls failed upc <<<"$(cmdstat "$port" "$stat")"
    if [ "$n1" = pipe ]; then
        rcli "$port" -n 9 FLUSHDB >/dev/null
        rm -f "$RAW/pipe_case.resp"
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$section" "$round" "$pipe" "$label" "$ids" \
        "$n" "$rps" "$upc" "$usec" "$calls" "$failed" "$rc" "$client" >>"$RAW/runs.tsv"
    printf '  %-8s r%s -P %-2s %-28s %8s req %12s rps %8s usec/call%s\n' "$section" "$round" "$pipe" \
        "$label" "$n" "$rps" "$upc" "$([ "$failed" != 0 ] && echo " failed=$failed")" >&2
}

# run_section SECTION PORT SHA CASES...: ROUNDS rounds; in each, both pipelines and every case,
# the case order rotated by one per round.
run_section() {
    local section=$1 port=$2 sha=$3; shift 3
    local cases=("$@") r p i k count=${#cases[@]}
    for r in $(seq 1 "$ROUNDS"); do
        for p in 1 16; do
            for ((i = 0; i < count; i++)); do
                k=$(((i + r - 1) % count))
                run_case "$section" "$r" "$p" "$port" "$sha" "${cases[$k]}"
            done
        done
    done
}

printf 'section\tround\tpipeline\tcase\tids_per_call\trequests\trps\tusec_per_call\tusec\tcalls\tfailed_calls\trc\tclient\n' >"$RAW/runs.tsv"

# ---- main -----------------------------------------------------------------------------------
log "main: ROUNDS=$ROUNDS, cases ${#MAIN_CASES[@]} x -P 1/16"
start_server main
MAIN_PORT=$PORT; MAIN_PID=$SERVER_PID
SHA=$(load_script "$MAIN_PORT")
verify_lua "$MAIN_PORT" "$SHA"
main_setup "$MAIN_PORT"
rcli "$MAIN_PORT" SEQ.CREATE bench:seqf PERIOD DAY FORMAT 'ORD{YYYY}{MM}{DD}{seq:19}' >/dev/null
rcli "$MAIN_PORT" SEQ.CREATE bench:seqo MAXVALUE 99999999 OPAQUE >/dev/null
rcli "$MAIN_PORT" SNOWFLAKE.CREATE bench:sfk62 FORMAT BASE62 >/dev/null
run_section main "$MAIN_PORT" "$SHA" "${MAIN_CASES[@]}"

# ---- pairs: each hot command at the same time as its floor ----------------------------------
# Separate runs drift: on the 2-CPU machines the floor alone measured 0.13 to 0.24 usec/call from
# one run to the next, more than the differences measured. Here a command and what it is compared
# with run at the same time on one server (two redis-benchmark processes, -c 25 each, -P 16), so
# both see the same machine state and the ratio of their usec_per_call holds steady. The server
# runs on CPU 0 and the clients on the other CPUs (when there are 2 or more and taskset exists).
log "pairs: PAIR_ROUNDS=$PAIR_ROUNDS, ${#PAIR_CASES[@]} pairs"
PIN_SERVER=(); PIN_CLIENT=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
    PIN_SERVER=(taskset -c 0); PIN_CLIENT=(taskset -c "1-$(($(nproc) - 1))")
fi
SAVED_WRAPPER=("${SERVER_WRAPPER[@]}")
SERVER_WRAPPER=("${PIN_SERVER[@]}" "${SERVER_WRAPPER[@]}")
start_server pairs
SERVER_WRAPPER=("${SAVED_WRAPPER[@]}")
PAIR_PORT=$PORT; PAIR_PID=$SERVER_PID
SHA=$(load_script "$PAIR_PORT")
rcli "$PAIR_PORT" SEQ.CREATE bench:pseqf PERIOD DAY FORMAT 'ORD{YYYY}{MM}{DD}{seq:19}' >/dev/null
rcli "$PAIR_PORT" SEQ.CREATE bench:pseqo MAXVALUE 99999999 OPAQUE >/dev/null
rcli "$PAIR_PORT" SNOWFLAKE.CREATE bench:psf62 FORMAT BASE62 >/dev/null
rcli "$PAIR_PORT" SEQ.NEXT bench:pseqr >/dev/null
printf 'round\tcase\tagainst\tusec_per_call\tagainst_usec_per_call\tratio\n' >"$RAW/pairs.tsv"
for r in $(seq 1 "$PAIR_ROUNDS"); do
    for spec in "${PAIR_CASES[@]}"; do
        IFS='|' read -r label stat n cmd against astat an acmd <<<"$spec"
        cmd=${cmd//@SHA/$SHA}
        [ -n "$REQUESTS" ] && { n=$REQUESTS; an=$REQUESTS; }
        rcli "$PAIR_PORT" CONFIG RESETSTAT >/dev/null
        rc=0
        # shellcheck disable=SC2086  # the commands are split into words on purpose
        {
            timeout "$BENCH_TIMEOUT" "${PIN_CLIENT[@]}" redis-benchmark -h 127.0.0.1 -p "$PAIR_PORT" -c 25 -P 16 \
                -n "$n" --csv $cmd >/dev/null 2>"$RAW/last_bench_stderr.txt" &
            p1=$!
            timeout "$BENCH_TIMEOUT" "${PIN_CLIENT[@]}" redis-benchmark -h 127.0.0.1 -p "$PAIR_PORT" -c 25 -P 16 \
                -n "$an" --csv $acmd >/dev/null 2>>"$RAW/last_bench_stderr.txt" &
            p2=$!
            wait "$p1" || rc=$?
            wait "$p2" || rc=$?
        }
        u=$(cmdstat "$PAIR_PORT" "$stat" | cut -d' ' -f4); au=$(cmdstat "$PAIR_PORT" "$astat" | cut -d' ' -f4)
        ratio=$(awk -v a="$u" -v b="$au" 'BEGIN { if (b > 0 && a != "nan") printf "%.4f", a / b; else print "nan" }')
        [ "$rc" = 0 ] || { log "warning: pair $label / $against failed (rc=$rc)"; ratio=nan; }
        printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$r" "$label" "$against" "$u" "$au" "$ratio" >>"$RAW/pairs.tsv"
        printf '  pairs    r%s %-44s %8s / %-28s %8s = %s\n' "$r" "$label" "$u" "$against" "$au" "$ratio" >&2
    done
done
stop_server "$PAIR_PID"

# The Lua baseline's hash key, under the same name as the memory section's keys (in the main
# server: the script is loaded there).
log "memory: MEMORY USAGE of the Lua baseline's key"
rcli "$MAIN_PORT" FLUSHALL >/dev/null
SHA=$(load_script "$MAIN_PORT")
MEM_KEY=user:1000000:seq
rcli "$MAIN_PORT" EVALSHA "$SHA" 1 "$MEM_KEY" >/dev/null
printf 'lua\t%s\t%s\n' "$(rcli "$MAIN_PORT" MEMORY USAGE "$MEM_KEY" SAMPLES 0)" \
    "$(rcli "$MAIN_PORT" OBJECT ENCODING "$MEM_KEY" 2>/dev/null || echo -)" >"$RAW/memory_usage.tsv"
stop_server "$MAIN_PID"

# ---- appendonly yes ---------------------------------------------------------------------------
log "appendonly yes (appendfsync everysec)"
start_server aof --appendonly yes --appendfsync everysec --aof-use-rdb-preamble yes \
    --auto-aof-rewrite-percentage 0
AOF_PORT=$PORT; AOF_PID=$SERVER_PID
SHA=$(load_script "$AOF_PORT")
run_section aof "$AOF_PORT" "$SHA" "${PERSIST_CASES[@]}"
stop_server "$AOF_PID"

# ---- replica attached -------------------------------------------------------------------------
log "replica attached"
start_server primary
PRI_PORT=$PORT; PRI_PID=$SERVER_PID
start_server replica --replicaof 127.0.0.1 "$PRI_PORT"
REP_PORT=$PORT; REP_PID=$SERVER_PID
for i in $(seq 1 100); do
    [ "$(info_field "$REP_PORT" replication master_link_status)" = up ] && break
    sleep 0.1
done
[ "$(info_field "$REP_PORT" replication master_link_status)" = up ] || die "replica did not sync"
SHA=$(load_script "$PRI_PORT")
run_section replica "$PRI_PORT" "$SHA" "${PERSIST_CASES[@]}"
for i in $(seq 1 100); do
    [ "$(info_field "$PRI_PORT" replication master_repl_offset)" = \
      "$(info_field "$REP_PORT" replication master_repl_offset)" ] && break
    sleep 0.1
done
{
    echo "primary_offset	$(info_field "$PRI_PORT" replication master_repl_offset)"
    echo "replica_offset	$(info_field "$REP_PORT" replication master_repl_offset)"
    echo "primary_reservations	$(info_field "$PRI_PORT" idgen idgen_reservations)"
    # The replica's mark must cover every ID the primary issued.
    for k in bench:sf bench:sf1000; do
        echo "$k	primary_last=$(rcli "$PRI_PORT" SNOWFLAKE.INFO "$k" | awk 'p == "last_timestamp" { print; exit } { p = $0 }')	replica_reserved_until=$(rcli "$REP_PORT" SNOWFLAKE.INFO "$k" | awk 'p == "reserved_until" { print; exit } { p = $0 }')"
    done
    echo "bench:seq	primary_last=$(rcli "$PRI_PORT" SEQ.CURRENT bench:seq)	replica_reserved_until=$(rcli "$REP_PORT" SEQ.INFO bench:seq | awk 'p == "reserved_until" { print; exit } { p = $0 }')"
} >"$RAW/replica_check.tsv"
stop_server "$REP_PID"
stop_server "$PRI_PID"

# ---- memory: MEM_KEYS keys per workload ----------------------------------------------------
# The keys are user:<1000000+i>:seq for i in 0..MEM_KEYS-1: the same names for every workload
# (16 bytes each up to MEM_KEYS = 9,000,000).
# gen_mem_resp N PASSES CMD [ARG...]: RESP for PASSES passes over the N keys, `CMD key [ARG...]`.
gen_mem_resp() {
    python3 - "$@" <<'PY'
import sys
n, passes, cmd = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
extra = sys.argv[4:]
out = sys.stdout.buffer
head = b"*%d\r\n$%d\r\n%s\r\n" % (2 + len(extra), len(cmd), cmd.encode())
tail = b"".join(b"$%d\r\n%s\r\n" % (len(a), a.encode()) for a in extra)
for _ in range(passes):
    chunk = []
    for i in range(n):
        k = b"user:%d:seq" % (1000000 + i)
        chunk.append(head + b"$%d\r\n%s\r\n" % (len(k), k) + tail)
        if len(chunk) == 10000:
            out.write(b"".join(chunk)); chunk = []
    out.write(b"".join(chunk))
PY
}

log "memory: $MEM_KEYS keys per workload, each in a fresh server"
printf 'type\tkeys\tcalls\tdbsize\tused_memory_delta\tused_memory_rss_delta\tseconds\n' >"$RAW/memory_bulk.tsv"
# kind | command | passes over the keys | extra argument. One fresh server per kind. INCRBY 100000
# is above Redis's shared integers (0..9999), so every key gets its own value object.
for spec in "incr|INCR|1|" "incrby|INCRBY|1|100000" "seq|SEQ.NEXT|1|" "seq3|SEQ.NEXT|3|" \
            "sf|SNOWFLAKE.NEXT|1|" "floor|FLOOR.INCR|1|"; do
    IFS='|' read -r kind cmd passes extra <<<"$spec"
    start_server "mem-$kind"
    sleep 0.3
    um0=$(info_field "$PORT" memory used_memory); rss0=$(info_field "$PORT" memory used_memory_rss)
    t0=$(date +%s.%N)
    # shellcheck disable=SC2086
    gen_mem_resp "$MEM_KEYS" "$passes" "$cmd" $extra | timeout "$BENCH_TIMEOUT" redis-cli -h 127.0.0.1 -p "$PORT" --pipe \
        >"$RAW/pipe_$kind.txt" 2>&1 || die "redis-cli --pipe failed for $kind: $(tail -n 3 "$RAW/pipe_$kind.txt")"
    t1=$(date +%s.%N)
    grep -q 'errors: 0' "$RAW/pipe_$kind.txt" || die "errors while creating $kind keys: $(tail -n 2 "$RAW/pipe_$kind.txt")"
    dbsize=$(rcli "$PORT" DBSIZE)
    [ "$dbsize" = "$MEM_KEYS" ] || die "$kind: DBSIZE $dbsize, expected $MEM_KEYS"
    sleep 1   # used_memory_rss is sampled by serverCron
    um1=$(info_field "$PORT" memory used_memory); rss1=$(info_field "$PORT" memory used_memory_rss)
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$kind" "$MEM_KEYS" $((MEM_KEYS * passes)) "$dbsize" $((um1 - um0)) \
        $((rss1 - rss0)) "$(python3 -c "print(f'{$t1 - $t0:.1f}')")" >>"$RAW/memory_bulk.tsv"
    # MEMORY USAGE of one of these keys: the same name in every server.
    printf '%s\t%s\t%s\n' "$kind" "$(rcli "$PORT" MEMORY USAGE user:1000000:seq SAMPLES 0)" \
        "$(rcli "$PORT" OBJECT ENCODING user:1000000:seq 2>/dev/null || echo -)" >>"$RAW/memory_usage.tsv"
    log "  $kind: $(( (um1 - um0) / MEM_KEYS )) B used_memory, $(( (rss1 - rss0) / MEM_KEYS )) B RSS per key"
    stop_server "$SERVER_PID"
done

# ---- AOF bytes per AOF_IDS IDs ----------------------------------------------------------------
log "AOF bytes per $AOF_IDS IDs"
start_server aofbytes --appendonly yes --appendfsync everysec --aof-use-rdb-preamble yes \
    --auto-aof-rewrite-percentage 0
AB_PORT=$PORT; AB_PID=$SERVER_PID
SHA=$(load_script "$AB_PORT")
printf 'workload\tids\tcalls\taof_bytes\treservations\tseconds\trc\n' >"$RAW/aof_bytes.tsv"
# label | IDs per call | command
for spec in "INCR|1|INCR aof:incr" "INCRBY 1000|1000|INCRBY aof:incrby 1000" \
            "Lua snowflake|1|EVALSHA @SHA 1 aof:lua" "Lua snowflake x100|100|EVALSHA @SHA 1 aof:lua100 100" \
            "SNOWFLAKE.NEXT|1|SNOWFLAKE.NEXT aof:sf" "SNOWFLAKE.NEXT COUNT 1000|1000|SNOWFLAKE.NEXT aof:sf1000 COUNT 1000" \
            "SEQ.NEXT|1|SEQ.NEXT aof:seq" "SEQ.NEXTBATCH 1000|1000|SEQ.NEXTBATCH aof:seqb 1000"; do
    IFS='|' read -r label ids cmd <<<"$spec"
    cmd=${cmd//@SHA/$SHA}
    calls=$((AOF_IDS / ids))
    sleep 1.1   # let the previous writes reach the file
    s0=$(info_field "$AB_PORT" persistence aof_current_size)
    r0=$(info_field "$AB_PORT" idgen idgen_reservations)
    t0=$(date +%s.%N)
    rc=0
    # Batched snowflake calls go in chunks within the borrow budget.
    left=$calls
    while [ "$left" -gt 0 ] && [ "$rc" = 0 ]; do
        chunk=$left
        if [[ "$cmd" == SNOWFLAKE.NEXT* ]] && [ "$ids" -gt 1 ]; then
            [ $((chunk * ids)) -gt "$SF_MAX_IDS_PER_RUN" ] && chunk=$((SF_MAX_IDS_PER_RUN / ids))
            wait_snowflake_caught_up "$AB_PORT" "$(awk '{print $2}' <<<"$cmd")"
        fi
        # shellcheck disable=SC2086
        timeout "$BENCH_TIMEOUT" redis-benchmark -h 127.0.0.1 -p "$AB_PORT" -c "$CLIENTS" -P 16 -n "$chunk" \
            --csv $cmd >/dev/null 2>"$RAW/last_bench_stderr.txt" || rc=$?
        left=$((left - chunk))
    done
    t1=$(date +%s.%N)
    sleep 1.1
    s1=$(info_field "$AB_PORT" persistence aof_current_size)
    r1=$(info_field "$AB_PORT" idgen idgen_reservations)
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$label" $((calls * ids)) "$calls" $((s1 - s0)) $((r1 - r0)) \
        "$(python3 -c "print(f'{$t1 - $t0:.1f}')")" "$rc" >>"$RAW/aof_bytes.tsv"
    log "  $label: $((s1 - s0)) bytes for $((calls * ids)) IDs"
done
ls -l "$BENCH_OUT/servers/aofbytes/appendonlydir" >"$RAW/aof_files.txt" 2>&1 || true
stop_server "$AB_PID"

{
    echo "load_after	$(cut -d' ' -f1-3 /proc/loadavg)"
    echo "elapsed_s	$(($(date +%s) - START_TS))"
} >>"$RAW/env.tsv"

python3 "$HERE/report.py" "$RAW" | tee "$BENCH_OUT/results.md"
log "written $BENCH_OUT/results.md"
