#!/usr/bin/env bash
# WORKER.* throughput next to INCR (part of `make bench`, after run.sh): requests/s and
# usec_per_call of WORKER.ACQUIRE (a fresh ID each call, and a named holder asking again),
# WORKER.RENEW and WORKER.ROUTE over 1000 live leases, at -P 1 and -P 16, redis-benchmark -c 50,
# ROUNDS rounds (default 3), medians. Starts and stops its own redis-server (127.0.0.1, a free
# port, data under target/bench/servers/worker).
#
# Env: ROUNDS, REQUESTS (per run; default 100000 at -P 1 and 300000 at -P 16).
# Output: markdown on stdout and in target/bench/worker.md; raw numbers in
# target/bench/raw/worker.tsv.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=bench/lib.sh
source "$HERE/lib.sh"

ROUNDS=${ROUNDS:-3}
REQUESTS=${REQUESTS:-}
CLIENTS=50
LIVE=1000
RAW="$BENCH_OUT/raw/worker.tsv"
OUT="$BENCH_OUT/worker.md"

[[ "$ROUNDS" =~ ^[1-9][0-9]?$ ]] || die "ROUNDS must be 1..99"
[ -z "$REQUESTS" ] || [[ "$REQUESTS" =~ ^[1-9][0-9]{0,6}$ ]] || die "REQUESTS must be 1..9999999"
for tool in "$REDIS_SERVER" redis-cli redis-benchmark python3 timeout; do
    command -v "$tool" >/dev/null || die "$tool not found (make deps)"
done
trap bench_cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$(dirname "$RAW")"
prepare_module
start_server worker
P=$PORT

# One lease renewed over and over; a pool with LIVE live leases to route over.
[ "$(rcli "$P" WORKER.ACQUIRE bench:renew 86400000 | head -2 | tr '\n' ' ')" = "0 1 " ] ||
    die "unexpected first grant of bench:renew"
for _ in $(seq 1 "$LIVE"); do echo "WORKER.ACQUIRE bench:route 86400000 SIZE 1048576"; done |
    rcli "$P" >/dev/null
live=$(rcli "$P" WORKER.INFO bench:route | awk 'prev == "live" { print; exit } { prev = $0 }')
[ "$live" = "$LIVE" ] || die "bench:route has $live live leases, not $LIVE"

# label | commandstat | redis-benchmark arguments (@N: a key of its own per run)
CASES=(
    "INCR|incr|INCR bench:incr"
    "WORKER.ACQUIRE, a fresh ID per call|worker.acquire|WORKER.ACQUIRE bench:acq:@N 86400000 SIZE 1048576"
    "WORKER.ACQUIRE HOLDER, asked again (1000 holders)|worker.acquire|-r 1000 WORKER.ACQUIRE bench:kept 86400000 HOLDER h:__rand_int__"
    "WORKER.RENEW|worker.renew|WORKER.RENEW bench:renew 0 1 86400000"
    "WORKER.ROUTE, $LIVE live leases|worker.route|-r 1000000 WORKER.ROUTE bench:route task:__rand_int__"
    "WORKER.ROUTE COUNT 3, $LIVE live leases|worker.route|-r 1000000 WORKER.ROUTE bench:route task:__rand_int__ COUNT 3"
)

printf 'round\tpipeline\tcase\trequests\trps\tusec_per_call\tfailed_calls\n' >"$RAW"
run=0
for r in $(seq 1 "$ROUNDS"); do
    for p in 1 16; do
        n=${REQUESTS:-$([ "$p" = 1 ] && echo 100000 || echo 300000)}
        for spec in "${CASES[@]}"; do
            IFS='|' read -r label stat args <<<"$spec"
            run=$((run + 1))
            args=${args//@N/$run}
            rcli "$P" CONFIG RESETSTAT >/dev/null
            # shellcheck disable=SC2086  # the arguments are split into words on purpose
            out=$(timeout 300 redis-benchmark -h 127.0.0.1 -p "$P" -c "$CLIENTS" -P "$p" -n "$n" \
                --csv $args 2>/dev/null) || die "redis-benchmark failed: $label -P $p"
            rps=$(tail -n 1 <<<"$out" | awk -F'","' 'NF > 1 { print $2 }')
            line=$(rcli "$P" INFO commandstats | tr -d '\r' | grep "^cmdstat_$stat:" || true)
            usec=$(sed -n 's/.*usec_per_call=\([0-9.]*\).*/\1/p' <<<"$line")
            failed=$(sed -n 's/.*failed_calls=\([0-9]*\).*/\1/p' <<<"$line")
            [ "${failed:-0}" = 0 ] || die "$label -P $p: $failed calls failed"
            printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$r" "$p" "$label" "$n" "$rps" "${usec:-nan}" \
                "${failed:-0}" >>"$RAW"
            log "worker r$r -P $p $label: $rps req/s, ${usec:-?} usec/call"
        done
    done
done
live=$(rcli "$P" WORKER.INFO bench:route | awk 'prev == "live" { print; exit } { prev = $0 }')
[ "$live" = "$LIVE" ] || die "bench:route ended with $live live leases"

python3 - "$RAW" "$ROUNDS" >"$OUT" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
cases = list(dict.fromkeys(r["case"] for r in rows))
print(f"### WORKER.* next to INCR (redis-benchmark -c 50, medians of {sys.argv[2]} rounds)\n")
print("| case | -P 1 req/s | / INCR | -P 16 req/s | / INCR | usec_per_call | / INCR |")
print("|---|---:|---:|---:|---:|---:|---:|")
def med(case, pipe, field):
    v = [float(r[field]) for r in rows if r["case"] == case and r["pipeline"] == pipe]
    return statistics.median(v)
base = {p: med("INCR", p, "rps") for p in ("1", "16")}
base_usec = med("INCR", "16", "usec_per_call")
for c in cases:
    r1, r16, u = med(c, "1", "rps"), med(c, "16", "rps"), med(c, "16", "usec_per_call")
    print(f"| {c} | {r1:,.0f} | {r1 / base['1']:.2f} | {r16:,.0f} | {r16 / base['16']:.2f} "
          f"| {u:.2f} | {u / base_usec:.1f} |")
PY
cat "$OUT"
