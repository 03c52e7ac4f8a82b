#!/usr/bin/env python3
"""Usage: scripts/valgrind/check.py LOG_DIR

Reads every valgrind memcheck log in LOG_DIR (`make memcheck` writes one per server process,
vg.<pid>.log) and fails (exit 1) when a record of the module is found: an `Invalid read`,
`Invalid write`, `Invalid free`, `Mismatched free`, `Conditional jump`, `Use of uninitialised
value` or `Syscall param` error, or a `definitely lost` leak record, whose stack has a frame of
the module (libidgen.so, or the crates built into it: idgen, idgen_core, redis_module). Records
without a module frame are the server's own: they are counted, printed once per kind, and do not
fail the run (the server's known reports are in scripts/valgrind/redis.supp; valgrind counts
what they suppressed under `suppressed:`).

Prints one line per log (errors, definitely lost bytes, module records, whether the leak summary
was written: a SIGKILLed server writes none) and a total line:
  memcheck: logs=<n> with_leak_summary=<n> module_invalid_read=<n> module_invalid_write=<n>
  module_other_errors=<n> module_definitely_lost=<n> server_errors=<n> suppressed=<n>
"""

import os
import re
import sys
from collections import Counter

MODULE_FRAME = re.compile(
    r"libidgen\.so|\bidgen::|\bidgen_core::|\bredis_module::|_ZN5idgen|_ZN10idgen_core|_ZN12redis_module"
)
ERROR_KINDS = (
    "Invalid read",
    "Invalid write",
    "Invalid free",
    "Mismatched free",
    "Conditional jump",
    "Use of uninitialised value",
    "Syscall param",
    "Source and destination overlap",
    "Argument 'size' of function",
)
PREFIX = re.compile(r"^==(\d+)== ?(.*)$")


def records(lines):
    """Yields (header, [stack lines]) for each blank-line separated record of a log."""
    cur = []
    for line in lines:
        m = PREFIX.match(line)
        if not m:
            continue
        body = m.group(2)
        if body.strip() == "":
            if cur:
                yield cur[0], cur[1:]
            cur = []
        else:
            cur.append(body)
    if cur:
        yield cur[0], cur[1:]


def kind_of(header):
    if "definitely lost in loss record" in header:
        return "definitely lost"
    for k in ERROR_KINDS:
        if header.startswith(k):
            return k
    return None


def check(path):
    with open(path, errors="replace") as f:
        lines = f.read().splitlines()
    res = {
        "module": Counter(),
        "server": Counter(),
        "module_records": [],
        "server_examples": {},
        "definitely_lost_bytes": 0,
        "errors": 0,
        "suppressed": 0,
        "leak_summary": False,
        "command": "",
    }
    for line in lines:
        m = PREFIX.match(line)
        body = m.group(2) if m else ""
        if body.startswith("Command: "):
            res["command"] = body[len("Command: "):]
        if "LEAK SUMMARY:" in body or "All heap blocks were freed" in body:
            res["leak_summary"] = True
        dm = re.search(r"definitely lost: ([\d,]+) bytes", body)
        if dm:
            res["definitely_lost_bytes"] = int(dm.group(1).replace(",", ""))
        em = re.search(r"ERROR SUMMARY: ([\d,]+) errors from .*suppressed: ([\d,]+) from", body)
        if em:
            res["errors"] = int(em.group(1).replace(",", ""))
            res["suppressed"] = int(em.group(2).replace(",", ""))
    for header, stack in records(lines):
        kind = kind_of(header)
        if kind is None:
            continue
        if any(MODULE_FRAME.search(s) for s in stack) or MODULE_FRAME.search(header):
            res["module"][kind] += 1
            res["module_records"].append("\n".join([header] + stack))
        else:
            res["server"][kind] += 1
            res["server_examples"].setdefault(kind, "\n".join([header] + stack[:12]))
    return res


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    d = sys.argv[1]
    logs = sorted(
        os.path.join(d, n) for n in os.listdir(d) if n.endswith(".log")
    ) if os.path.isdir(d) else []
    if not logs:
        print(f"memcheck: no valgrind logs in {d}", file=sys.stderr)
        return 1
    total_mod = Counter()
    total_srv = Counter()
    suppressed = 0
    with_summary = 0
    server_examples = {}
    failing = []
    for p in logs:
        r = check(p)
        total_mod.update(r["module"])
        total_srv.update(r["server"])
        suppressed += r["suppressed"]
        with_summary += r["leak_summary"]
        for k, v in r["server_examples"].items():
            server_examples.setdefault(k, (p, v))
        mod = sum(r["module"].values())
        print(
            f"{os.path.basename(p)}: errors={r['errors']} suppressed={r['suppressed']} "
            f"definitely_lost_bytes={r['definitely_lost_bytes']} module_records={mod} "
            f"leak_summary={'yes' if r['leak_summary'] else 'no (killed)'}"
        )
        if mod:
            failing.append((p, r))
    for kind, (p, text) in sorted(server_examples.items()):
        print(f"--- server's own {kind} ({total_srv[kind]} records; first in {p}):\n{text}")
    for p, r in failing:
        print(f"=== module records in {p} ({r['command']}):")
        for rec in r["module_records"][:20]:
            print(rec)
            print()
    other = sum(
        v for k, v in total_mod.items()
        if k not in ("Invalid read", "Invalid write", "definitely lost")
    )
    print(
        f"memcheck: logs={len(logs)} with_leak_summary={with_summary} "
        f"module_invalid_read={total_mod['Invalid read']} "
        f"module_invalid_write={total_mod['Invalid write']} "
        f"module_other_errors={other} "
        f"module_definitely_lost={total_mod['definitely lost']} "
        f"server_errors={sum(total_srv.values())} suppressed={suppressed}"
    )
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
