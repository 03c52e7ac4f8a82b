#!/usr/bin/env bash
# Instruction counts per call of every idgen command, INCR and the floor module's FLOOR.INCR
# (bench/floor/floor.c, loaded beside idgen), measured with callgrind (stable on a noisy
# machine, unlike wall time). One redis-server runs under `valgrind --tool=callgrind
# --instr-atstart=no`; for each command: warm up uninstrumented, `callgrind_control -z` and
# `-i on`, send N calls over one pipelined connection (redis-cli --pipe), `-i off`, dump.
# Report: Ir per call (whole server, processCommand, call(), the command's function), the module's
# own instructions, top 15 functions (inclusive) and what the module's functions call.
#
# Env: N (default 20000) calls per command.
#      PROFILE_LINES=1: profile a build with line tables (built once into target/bench/cargo-lines
#        with the release profile plus CARGO_PROFILE_RELEASE_DEBUG=line-tables-only; src/ is not
#        touched) and add per-source-line costs of src/. Default 0: the release .so as built.
#      PROFILE_SO=path: profile this .so instead.
# Output: stdout and target/bench/profile.md (profile-lines.md with PROFILE_LINES=1); callgrind
# files in target/bench/profile/ (profile-lines/).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=bench/lib.sh
source "$HERE/lib.sh"

N=${N:-20000}
PROFILE_LINES=${PROFILE_LINES:-0}
[[ "$N" =~ ^[1-9][0-9]{0,6}$ ]] || die "N must be 1..9999999"
for tool in valgrind callgrind_control callgrind_annotate "$REDIS_SERVER" redis-cli python3; do
    command -v "$tool" >/dev/null || die "$tool not found (apt-get install -y valgrind redis-tools)"
done

trap bench_cleanup EXIT
trap 'exit 130' INT TERM

if [ "$PROFILE_LINES" = 1 ]; then NAME=profile-lines; else NAME=profile; fi
OUT="$BENCH_OUT/$NAME"
rm -rf "$OUT"; mkdir -p "$OUT"

if [ -n "${PROFILE_SO:-}" ]; then
    [ -f "$PROFILE_SO" ] || die "PROFILE_SO=$PROFILE_SO not found"
    MODULE="$OUT/libidgen.so"; cp "$PROFILE_SO" "$MODULE"
    SO_DESC="$PROFILE_SO"
elif [ "$PROFILE_LINES" = 1 ]; then
    log "building with line tables into target/bench/cargo-lines"
    # The source as built, for the per-line report (others may edit src/ meanwhile).
    cp -r "$BENCH_ROOT/src" "$OUT/src"
    (cd "$BENCH_ROOT" && CARGO_TARGET_DIR="$BENCH_OUT/cargo-lines" \
        CARGO_PROFILE_RELEASE_DEBUG=line-tables-only CARGO_PROFILE_RELEASE_STRIP=none \
        cargo build --release --lib) >&2
    MODULE="$OUT/libidgen.so"; cp "$BENCH_OUT/cargo-lines/release/libidgen.so" "$MODULE"
    SO_DESC="release profile + line tables (target/bench/cargo-lines)"
else
    prepare_module
    SO_DESC="target/release/libidgen.so ($(stat -c '%y' "$BENCH_ROOT/target/release/libidgen.so" | cut -d. -f1))"
fi

prepare_floor

SERVER_WRAPPER=(valgrind --tool=callgrind --instr-atstart=no --dump-instr=no
    "--callgrind-out-file=$OUT/callgrind.out.%p")
START_WAIT_STEPS=600
# One database per case: each case's keys are alone in their dict, so a key's lookup cost does not
# depend on where the random hash seed puts it among other cases' keys.
start_server profile --databases 64
PID=$SERVER_PID

SHA=$(rcli "$PORT" SCRIPT LOAD "$(cat "$HERE/snowflake.lua")")
# For the read-only and internal cases: an ID of a default snowflake key (db 0), a snowflake mark
# (ms since the default epoch) and the serving generation.
SFID=$(rcli "$PORT" SNOWFLAKE.NEXT prof:sfr)
MARK=$(($(rcli "$PORT" TIME | head -n 1) * 1000 - 1704067200000))
GEN=$(info_field "$PORT" idgen idgen_generation)

# RESP for SELECT DB and N copies of one command, into a file; @I in a word becomes PREFIX<i>
# (i = 0..N-1), for the commands that need a new key per call.
# gen_resp N PATH DB PREFIX WORDS...
gen_resp() {
    python3 - "$@" <<'PY'
import sys
n, path, db, prefix, args = int(sys.argv[1]), sys.argv[2], sys.argv[3].encode(), sys.argv[4].encode(), sys.argv[5:]
def resp(words):
    return b"*%d\r\n" % len(words) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in words)
enc = [a.encode() for a in args]
with open(path, "wb") as f:
    f.write(resp([b"SELECT", db]))
    if not any(b"@I" in a for a in enc):
        f.write(resp(enc) * n)
    else:
        for i in range(n):
            tag = prefix + str(i).encode()
            f.write(resp([a.replace(b"@I", tag) for a in enc]))
PY
}

# label | command's own function in redis | command [| setup command [| divisor]]
# A divisor d runs the case with N/d calls (at least 1): for the COUNT 1000 cases, whose calls
# cost hundreds of thousands of instructions each (and whose replies would fill gigabytes).
# INCR and INCRBY start at 10000, above Redis's shared integers, so every call takes the in-place
# path that a counter in the benchmark takes; "INCR (18-digit value)" counts from a snowflake-sized
# value, so its reply costs what an ID's does.
# FLOOR.INCR is the floor: the cheapest keyed module command (bench/floor/floor.c); FLOOR.BATCH
# the same with SEQ.NEXTBATCH's argument and [first, last] reply; FLOOR.TEXT the same key step
# with UUID.NEXT's reply, a 36-byte bulk string (UUID.* compare with it).
# @SFID, @MARK, @GEN: see above; @I: a new key per call (the CREATEs).
CASES=(
    "PING|pingCommand|PING"
    "INCR|incrCommand|INCR prof:incr|SET prof:incr 10000"
    "INCR (18-digit value)|incrCommand|INCR prof:incrbig|SET prof:incrbig 382446516947648512"
    "INCRBY 1000|incrbyCommand|INCRBY prof:incrby 1000|SET prof:incrby 10000"
    "FLOOR.INCR|RedisModuleCommandDispatcher|FLOOR.INCR prof:floor"
    "FLOOR.INCR (19-digit value)|RedisModuleCommandDispatcher|FLOOR.INCR prof:floor:big"
    "FLOOR.BATCH 1000|RedisModuleCommandDispatcher|FLOOR.BATCH prof:floorb 1000"
    "FLOOR.TEXT|RedisModuleCommandDispatcher|FLOOR.TEXT prof:floortext"
    "SNOWFLAKE.NEXT|RedisModuleCommandDispatcher|SNOWFLAKE.NEXT prof:sf"
    "SNOWFLAKE.NEXT COUNT 100|RedisModuleCommandDispatcher|SNOWFLAKE.NEXT prof:sf100 COUNT 100"
    "SNOWFLAKE.NEXT FORMAT BASE62|RedisModuleCommandDispatcher|SNOWFLAKE.NEXT prof:sf62 FORMAT BASE62"
    "SNOWFLAKE.NEXT (key created FORMAT BASE62)|RedisModuleCommandDispatcher|SNOWFLAKE.NEXT prof:sfk62|SNOWFLAKE.CREATE prof:sfk62 FORMAT BASE62"
    "SNOWFLAKE.PARSE|RedisModuleCommandDispatcher|SNOWFLAKE.PARSE prof:sfr @SFID|SNOWFLAKE.NEXT prof:sfr"
    "SNOWFLAKE.INFO|RedisModuleCommandDispatcher|SNOWFLAKE.INFO prof:sfr|SNOWFLAKE.NEXT prof:sfr"
    "SNOWFLAKE.CREATE|RedisModuleCommandDispatcher|SNOWFLAKE.CREATE prof:sfc:@I"
    "SEQ.NEXT|RedisModuleCommandDispatcher|SEQ.NEXT prof:seq"
    "SEQ.NEXTBATCH 1000|RedisModuleCommandDispatcher|SEQ.NEXTBATCH prof:seqb 1000"
    "SEQ.NEXT, PERIOD DAY FORMAT ORD{YYYY}{MM}{DD}{seq:19}|RedisModuleCommandDispatcher|SEQ.NEXT prof:seqf|SEQ.CREATE prof:seqf PERIOD DAY FORMAT ORD{YYYY}{MM}{DD}{seq:19}"
    "SEQ.CURRENT|RedisModuleCommandDispatcher|SEQ.CURRENT prof:seq|SEQ.NEXT prof:seq"
    "SEQ.SET|RedisModuleCommandDispatcher|SEQ.SET prof:seqset 1000"
    "SEQ.INFO|RedisModuleCommandDispatcher|SEQ.INFO prof:seq|SEQ.NEXT prof:seq"
    "SEQ.CREATE|RedisModuleCommandDispatcher|SEQ.CREATE prof:seqc:@I"
    "UUID.NEXT|RedisModuleCommandDispatcher|UUID.NEXT prof:uuid"
    "UUID.NEXT COUNT 1000|RedisModuleCommandDispatcher|UUID.NEXT prof:uuid1000 COUNT 1000||20"
    "Lua snowflake|evalShaCommand|EVALSHA @SHA 1 prof:lua"
)

printf 'label\tslug\tcalls\tproc\treservations\tseconds\tcommand\n' >"$OUT/cases.tsv"
i=0
for spec in "${CASES[@]}"; do
    IFS='|' read -r label proc cmd setup div <<<"$spec"
    calls=$((N / ${div:-1})); [ "$calls" -ge 1 ] || calls=1
    cmd=${cmd//@SHA/$SHA}
    cmd=${cmd//@SFID/$SFID}
    cmd=${cmd//@MARK/$MARK}
    cmd=${cmd//@GEN/$GEN}
    i=$((i + 1)); slug=$(printf '%02d' "$i")
    db=$i   # the case's own database (1..63)
    # shellcheck disable=SC2086
    [ -z "$setup" ] || rcli "$PORT" -n "$db" $setup >/dev/null
    # shellcheck disable=SC2086
    gen_resp 200 "$OUT/warm.resp" "$db" w $cmd
    # shellcheck disable=SC2086
    gen_resp 200 "$OUT/warm2.resp" "$db" v $cmd
    # shellcheck disable=SC2086
    gen_resp "$calls" "$OUT/case.resp" "$db" "" $cmd
    rcli "$PORT" --pipe <"$OUT/warm.resp" >/dev/null
    # Warm up twice, 100 ms apart: a generator key's first block is small (the key is not busy
    # yet) and it only takes the large blocks (and, for snowflake keys, the full form) of a
    # busy key at the next reservation, as it does within its first 50 ms under load.
    sleep 0.1
    rcli "$PORT" --pipe <"$OUT/warm2.resp" >/dev/null
    r0=$(info_field "$PORT" idgen idgen_reservations)
    callgrind_control -z "$PID" >/dev/null
    callgrind_control -i on "$PID" >/dev/null
    t0=$(date +%s.%N)
    rcli "$PORT" --pipe <"$OUT/case.resp" >"$OUT/pipe.txt" 2>&1 || die "redis-cli --pipe failed: $(tail -n 2 "$OUT/pipe.txt")"
    t1=$(date +%s.%N)
    callgrind_control -i off "$PID" >/dev/null
    grep -q 'errors: 0' "$OUT/pipe.txt" || die "$label: error replies: $(tail -n 1 "$OUT/pipe.txt")"
    r1=$(info_field "$PORT" idgen idgen_reservations)
    callgrind_control --dump="$slug" "$PID" >/dev/null
    f=""
    for _ in $(seq 1 100); do
        f=$(grep -l "^desc: Trigger: dump $slug\$" "$OUT"/callgrind.out.*.* 2>/dev/null | head -n 1 || true)
        [ -n "$f" ] && break
        sleep 0.1
    done
    [ -n "$f" ] || die "no callgrind dump for $label"
    mv "$f" "$OUT/$slug.callgrind"
    callgrind_annotate --auto=no --inclusive=yes --tree=calling --threshold=100 "$OUT/$slug.callgrind" >"$OUT/$slug.incl.txt"
    callgrind_annotate --auto=no --inclusive=no --threshold=100 "$OUT/$slug.callgrind" >"$OUT/$slug.self.txt"
    # N calls plus the ECHO redis-cli --pipe sends at the end.
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$slug" "$calls" "$proc" "$((r1 - r0))" \
        "$(python3 -c "print(f'{$t1 - $t0:.1f}')")" "$cmd" >>"$OUT/cases.tsv"
    log "  $label: dumped"
done
rm -f "$OUT/case.resp" "$OUT/warm.resp" "$OUT/warm2.resp"
stop_server "$PID"

python3 "$HERE/profile_report.py" "$OUT" "$SO_DESC" "$BENCH_ROOT" "$PROFILE_LINES" "$OUT/src" | tee "$BENCH_OUT/$NAME.md"
log "written $BENCH_OUT/$NAME.md"
