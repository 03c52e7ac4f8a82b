#!/usr/bin/env bash
# Builds the floor module (bench/floor/floor.c) into target/bench/floor/libfloor.so when it is
# missing or older than its source, and prints the path. Used by bench/run.sh and
# bench/profile.sh (so by `make bench`); never by `make build` or `make test`.
# Env: CC (default cc).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
SRC="$HERE/floor.c"
OUT_DIR="$ROOT/target/bench/floor"
SO="$OUT_DIR/libfloor.so"
CC=${CC:-cc}

if [ ! -f "$SO" ] || [ "$SRC" -nt "$SO" ] || [ "${BASH_SOURCE[0]}" -nt "$SO" ]; then
    command -v "$CC" >/dev/null || { echo "floor: C compiler '$CC' not found" >&2; exit 1; }
    mkdir -p "$OUT_DIR"
    # It builds without warnings (also with -Wpedantic); any that show up are worth a look.
    "$CC" -std=c11 -O2 -fPIC -shared -Wall -Wextra -o "$SO.tmp.$$" "$SRC" >&2
    mv -f "$SO.tmp.$$" "$SO"
fi
echo "$SO"
