#!/usr/bin/env bash
# Usage: scripts/parts.sh TIER PART...
# Runs every PART, one after the other, whatever the earlier ones did, and reports each:
#   == make part-it SERVER=valkey9: exit 0, 95 s
# then a summary of the TIER with every failing part; exits 1 if any part failed.
# A PART is a make target, optionally with the server to run it on: `part-it@valkey9` runs
# `make part-it SERVER=valkey9`. MAKE (default make) is the make to call.
set -uo pipefail
[ $# -ge 2 ] || { echo "usage: $0 TIER PART..." >&2; exit 2; }
tier="$1"
shift
make="${MAKE:-make}"
failed=()
report=()
tier_start=$(date +%s)
for part in "$@"; do
    target="${part%@*}"
    cmd=("$make" --no-print-directory "$target")
    label="make $target"
    if [ "$part" != "$target" ]; then
        cmd+=("SERVER=${part#*@}")
        label+=" SERVER=${part#*@}"
    fi
    echo "== $label"
    start=$(date +%s)
    "${cmd[@]}"
    rc=$?
    line="== $label: exit $rc, $(($(date +%s) - start)) s"
    echo "$line"
    report+=("$line")
    [ $rc = 0 ] || failed+=("$label")
done
echo
echo "== $tier: ${#report[@]} parts, $(($(date +%s) - tier_start)) s"
printf '%s\n' "${report[@]}"
if [ ${#failed[@]} -gt 0 ]; then
    echo "== $tier: FAILED: ${#failed[@]} of ${#report[@]} parts:"
    printf '  %s\n' "${failed[@]}"
    exit 1
fi
echo "== $tier: every part passed"
