#!/usr/bin/env bash
# Manual check (not part of `make test`): PostgreSQL sorts idgen's UUIDv7s in issue order.
#
# Takes N (default 100,000) UUIDs from `UUID.NEXT key COUNT 1000` on a running idgen server,
# inserts them in a shuffled order into a `uuid` column of a table in a throwaway PostgreSQL
# cluster, and checks that `SELECT id FROM t ORDER BY id` returns them exactly in issue order
# (PostgreSQL compares uuid values bytewise, as unsigned 128-bit numbers).
#
# Usage: scripts/uuid-pg-order.sh PORT [HOST]    (the idgen server; HOST default 127.0.0.1)
# Env:   N (100000, a multiple of 1000 is simplest), KEY (default uuid-pg-order:<pid>; a new
#        key unless set), PG_BIN (the directory of initdb/pg_ctl; default: PATH, then the newest
#        /usr/lib/postgresql/*/bin). On Debian: apt-get install -y postgresql.
#
# The cluster: initdb into a temporary directory, started with pg_ctl on a free 127.0.0.1 port
# (trust authentication, loopback only), stopped and removed on exit. PostgreSQL refuses to run
# as root: as root, initdb and pg_ctl run as the user `postgres` (su postgres -c).
set -euo pipefail

log() { printf '[uuid-pg %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "error: $*"; exit 1; }

[ $# -ge 1 ] || die "usage: $0 PORT [HOST]"
PORT=$1
HOST=${2:-127.0.0.1}
N=${N:-100000}
KEY=${KEY:-uuid-pg-order:$$}
[[ "$PORT" =~ ^[0-9]+$ ]] || die "PORT must be a number"
[[ "$N" =~ ^[1-9][0-9]{0,7}$ ]] || die "N must be 1..99999999"

for tool in redis-cli python3 psql; do
    command -v "$tool" >/dev/null || die "$tool not found (apt-get install -y redis-tools python3 postgresql)"
done
if [ -z "${PG_BIN:-}" ]; then
    if command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
        PG_BIN=$(dirname "$(command -v initdb)")
    else
        PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    fi
fi
[ -n "$PG_BIN" ] && [ -x "$PG_BIN/initdb" ] && [ -x "$PG_BIN/pg_ctl" ] ||
    die "initdb/pg_ctl not found (apt-get install -y postgresql, or set PG_BIN)"

[ "$(redis-cli -h "$HOST" -p "$PORT" PING 2>/dev/null)" = PONG ] || die "no server at $HOST:$PORT"

WORK=$(mktemp -d /tmp/uuid-pg-order.XXXXXX)
PGDATA="$WORK/data"
PG_STARTED=0
# as_pg CMD...: runs a command as the cluster's owner (postgres when we are root).
if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || die "running as root and there is no user postgres"
    chown postgres "$WORK"
    as_pg() { su postgres -s /bin/sh -c "$(printf '%q ' "$@")"; }
else
    as_pg() { "$@"; }
fi
cleanup() {
    if [ "$PG_STARTED" = 1 ]; then
        as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- the UUIDs, in issue order -----------------------------------------------------------------
log "taking $N UUIDs from UUID.NEXT $KEY COUNT 1000 at $HOST:$PORT"
left=$N
: >"$WORK/issued.txt"
while [ "$left" -gt 0 ]; do
    c=$((left < 1000 ? left : 1000))
    redis-cli -h "$HOST" -p "$PORT" UUID.NEXT "$KEY" COUNT "$c" >>"$WORK/issued.txt"
    left=$((left - c))
done
got=$(wc -l <"$WORK/issued.txt")
[ "$got" = "$N" ] || die "expected $N UUIDs, got $got lines (first: $(head -n 1 "$WORK/issued.txt"))"
grep -qvE '^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$' "$WORK/issued.txt" &&
    die "a reply is not a version-7 UUID: $(grep -vE '^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$' "$WORK/issued.txt" | head -n 1)"
# The shuffled insert order (fixed seed, so a run can be repeated), with each row's issue index.
python3 - "$WORK/issued.txt" "$WORK/shuffled.tsv" <<'PY'
import random, sys
ids = open(sys.argv[1]).read().split()
rows = list(enumerate(ids))
random.Random(7).shuffle(rows)
moved = sum(1 for pos, (i, _) in enumerate(rows) if pos != i)
with open(sys.argv[2], "w") as f:
    f.writelines(f"{i}\t{u}\n" for i, u in rows)
print(f"shuffled: {moved} of {len(rows)} rows away from their issue position", file=sys.stderr)
PY

# ---- the throwaway cluster ---------------------------------------------------------------------
PGPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
log "initdb + pg_ctl start ($PG_BIN, $("$PG_BIN/postgres" --version), 127.0.0.1:$PGPORT, $WORK)"
as_pg "$PG_BIN/initdb" -D "$PGDATA" -A trust -U postgres --no-sync >"$WORK/initdb.log" 2>&1 ||
    die "initdb failed: $(tail -n 5 "$WORK/initdb.log")"
PG_STARTED=1
as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -l "$PGDATA/server.log" -w -t 60 \
    -o "-p $PGPORT -c listen_addresses=127.0.0.1 -k $WORK -c fsync=off" start >/dev/null ||
    die "pg_ctl start failed: $(tail -n 5 "$PGDATA/server.log" 2>/dev/null)"
PSQL=(psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PGPORT" -U postgres -d postgres)

# ---- insert shuffled, read back ordered -------------------------------------------------------
"${PSQL[@]}" -c "CREATE TABLE t (issue_index integer NOT NULL, id uuid NOT NULL)"
"${PSQL[@]}" -c "\\copy t (issue_index, id) FROM '$WORK/shuffled.tsv'"
"${PSQL[@]}" -At -c "SELECT count(*), count(DISTINCT id) FROM t" >"$WORK/counts.txt"
"${PSQL[@]}" -At -c "SELECT id FROM t ORDER BY id" >"$WORK/ordered.txt"
"${PSQL[@]}" -At -c "SELECT issue_index FROM t ORDER BY id" >"$WORK/ordered_index.txt"
# Also with an index: a btree on the column returns the same order.
"${PSQL[@]}" -c "CREATE INDEX ON t (id)" -c "ANALYZE t"
"${PSQL[@]}" -At -c "SET enable_seqscan = off" -c "SELECT id FROM t ORDER BY id" >"$WORK/ordered_btree.txt"
pg_version=$("${PSQL[@]}" -At -c "SHOW server_version")

log "rows, distinct ids: $(tr '|' ' ' <"$WORK/counts.txt")"
fail=0
if cmp -s "$WORK/issued.txt" "$WORK/ordered.txt"; then
    log "ORDER BY id == issue order for all $N UUIDs"
else
    fail=1
    log "FAIL: ORDER BY id differs from issue order; first difference:"
    diff "$WORK/issued.txt" "$WORK/ordered.txt" | head -n 6 >&2 || true
fi
seq 0 $((N - 1)) | cmp -s - "$WORK/ordered_index.txt" || { fail=1; log "FAIL: issue indexes out of order"; }
cmp -s "$WORK/issued.txt" "$WORK/ordered_btree.txt" || { fail=1; log "FAIL: the btree order differs"; }
[ "$(cat "$WORK/counts.txt")" = "$N|$N" ] || { fail=1; log "FAIL: counts $(cat "$WORK/counts.txt")"; }
if [ "$fail" = 0 ]; then
    echo "PASS: PostgreSQL $pg_version sorts $N UUID.NEXT UUIDs (inserted shuffled) in issue order (seq scan + sort and btree index); first $(head -n 1 "$WORK/issued.txt"), last $(tail -n 1 "$WORK/issued.txt")"
else
    echo "FAIL: see above"
    exit 1
fi
