#!/usr/bin/env bash
# Runs the Lua examples against a redis-server with idgen on $IDGEN_PORT (examples/with-server.sh
# starts one) and compares with redis-cli. Bash arithmetic is 64-bit, so it compares 63-bit IDs
# exactly.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
: "${IDGEN_PORT:?run through examples/with-server.sh}"
cli() { redis-cli -p "$IDGEN_PORT" --raw "$@"; }
passed=0 failed=0
check() { # check NAME CONDITION-RESULT(0/1)
    if [ "$2" = 0 ]; then passed=$((passed + 1)); echo "ok - $1"; else failed=$((failed + 1)); echo "not ok - $1"; fi
}

# FORMAT STRING: 100 exact IDs, strictly increasing, the same in the list the script filled.
mapfile -t ids < <(cli --eval "$here/next_ids.lua" lua:id lua:outbox , 100)
ok=0; [ "${#ids[@]}" = 100 ] || ok=1
for ((i = 1; i < ${#ids[@]}; i++)); do [ "${ids[i]}" -gt "${ids[i-1]}" ] || ok=1; done
check "next_ids.lua returns 100 strictly increasing IDs" $ok
mapfile -t listed < <(cli LRANGE lua:outbox 0 -1)
[ "${listed[*]}" = "${ids[*]}" ]; check "the outbox holds the same IDs" $?
# redis-cli: SNOWFLAKE.PARSE of the last ID agrees with 64-bit arithmetic, and the next ID
# redis-cli gets is above it.
last=${ids[99]}
mapfile -t parsed < <(cli SNOWFLAKE.PARSE lua:id "$last")
[ "${parsed[1]}" = $(((last >> 22) + 1704067200000)) ] && [ "${parsed[3]}" = $(((last >> 12) & 1023)) ] \
    && [ "${parsed[5]}" = $((last & 4095)) ]
check "SNOWFLAKE.PARSE of a Lua-returned ID matches its bits" $?
after=$(cli SNOWFLAKE.NEXT lua:id FORMAT STRING)
[ "$after" -gt "$last" ]; check "redis-cli's next ID is above the script's last" $?

# The integer reply through Lua: rounded, so 100 IDs come back as fewer distinct values.
distinct=$(cli --eval "$here/rounded.lua" lua:id2 , 100 | sort -u | wc -l)
echo "# rounded.lua: 100 IDs came back as $distinct distinct values"
[ "$distinct" -lt 100 ]; check "integer replies through Lua lose IDs (the reason for FORMAT STRING)" $?

echo "lua examples: $passed passed, $failed failed"
[ "$failed" = 0 ]
