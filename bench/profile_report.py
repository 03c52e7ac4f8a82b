#!/usr/bin/env python3
"""Markdown report of bench/profile.sh's callgrind dumps.

argv: profile dir, description of the profiled .so, repository root, "1" for per-line costs.
"""

import csv
import re
import sys
from collections import defaultdict
from pathlib import Path

OUT = Path(sys.argv[1])
SO_DESC = sys.argv[2] if len(sys.argv) > 2 else "?"
ROOT = Path(sys.argv[3]) if len(sys.argv) > 3 else Path(".")
LINES = len(sys.argv) > 4 and sys.argv[4] == "1"
SRC_COPY = Path(sys.argv[5]) if len(sys.argv) > 5 else None  # src/ as it was built

# "  1,234 (12.3%)  [*|>]  file:function [(N x)] [[object]]". With line tables, a function's
# inlined code shows up as extra "other-file:function" entries, often without the object.
LINE_RE = re.compile(
    r"^\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(?:([*>])\s+)?(.*?)(?: \(([\d,]+)x\))?(?: \[(.*)\])?\s*$")


def n(s):
    return int(s.replace(",", ""))


def split_fn(full):
    # "file:function"; file names hold no ':'.
    return full.split(":", 1)[1] if ":" in full else full


def short_obj(obj):
    return Path(obj).name.replace("redis-check-rdb", "redis-server")


def function_list(path):
    """The lines of callgrind_annotate's function list (not the source annotation after it)."""
    lines = Path(path).read_text().splitlines()
    out, inside = [], False
    for i, line in enumerate(lines):
        if "PROGRAM TOTALS" in line:
            out.append(line)
            continue
        if line.rstrip().endswith("file:function"):
            inside = True
            continue
        if inside:
            if line.startswith("----") and i > 0 and not lines[i - 1].rstrip().endswith("file:function"):
                break
            if line.startswith("-- "):
                break
            out.append(line)
    return out


def parse_tree(path):
    """-> (total, incl{fn: Ir}, callees{fn: [(callee, Ir, count, obj)]}, obj{fn: obj})"""
    total = 0
    incl, callees, objs = defaultdict(int), defaultdict(list), {}
    current = None
    for line in function_list(path):
        if "PROGRAM TOTALS" in line:
            total = n(line.split()[0])
            continue
        m = LINE_RE.match(line)
        if not m or not m.group(2):
            continue
        cost, mark, full, count, obj = m.groups()
        fn = split_fn(full)
        if mark == "*":
            current = fn
            incl[fn] += n(cost)
            if obj:
                objs[fn] = obj
        elif current is not None:
            callees[current].append((fn, n(cost), n(count) if count else 0, obj or ""))
    # Merge the per-file parts of a function's callee lists.
    for fn, lst in callees.items():
        merged = {}
        for callee, v, count, obj in lst:
            m = merged.setdefault(callee, [0, 0, obj])
            m[0] += v
            m[1] += count
            m[2] = m[2] or obj
        callees[fn] = [(c, v, cnt, o) for c, (v, cnt, o) in merged.items()]
    return total, incl, callees, objs


def parse_self(path, objs):
    """-> [(fn, Ir, obj)] descending; the per-file parts of a function summed."""
    acc, obj_of = defaultdict(int), {}
    for line in function_list(path):
        if "PROGRAM TOTALS" in line or not re.match(r"^\s*[\d,]+\s+\(", line):
            continue
        m = LINE_RE.match(line)
        if m and not m.group(2):
            cost, _, full, _, obj = m.groups()
            fn = split_fn(full)
            acc[fn] += n(cost)
            if obj:
                obj_of[fn] = obj
    return sorted(((fn, v, obj_of.get(fn) or objs.get(fn, "")) for fn, v in acc.items()),
                  key=lambda t: -t[1])


def table(header, rows, align=None):
    align = align or ["l"] + ["r"] * (len(header) - 1)
    sep = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(sep) + " |"]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def per(v, calls):
    return f"{v / calls:,.0f}"


def ratio(a, b):
    return f"{a / b:.2f}x" if b else "n/a"


def is_module(obj):
    return obj.endswith("libidgen.so")


def is_floor(obj):
    return obj.endswith("libfloor.so")


cases = []
with (OUT / "cases.tsv").open() as f:
    for r in csv.DictReader(f, delimiter="\t"):
        slug = r["slug"]
        total, incl, callees, objs = parse_tree(OUT / f"{slug}.incl.txt")
        selfs = parse_self(OUT / f"{slug}.self.txt", objs)
        cases.append(dict(r, calls=int(r["calls"]), total=total, incl=incl, callees=callees,
                          objs=objs, selfs=selfs))

out = []
w = out.append
w("# idgen hot-path profile (callgrind)\n")
w(f"- module: {SO_DESC}")
w("- valgrind --tool=callgrind --instr-atstart=no; per command: warm-up of 200 calls "
  "uninstrumented, then `callgrind_control -z`, `-i on`, N calls over one connection "
  "(redis-cli --pipe, i.e. deeply pipelined), `-i off`, dump. Ir = instructions executed "
  "(user space only; syscalls not counted). Per-call numbers divide by N.")
w("- whole server: everything in the window (event loop, read, parse, reply write, serverCron "
  "ticks); processCommand: lookup, checks and call(); call(): the command plus stats, "
  "propagation and slowlog bookkeeping; command: the command's own function "
  "(RedisModuleCommandDispatcher for module commands: context + module code + the RM_* calls).")
w("- the floor: `FLOOR.INCR key` (bench/floor/floor.c, loaded beside idgen) opens the key "
  "read-write, checks it holds the floor's own module type (creates it when empty), adds 1 to "
  "its 8-byte value, replies with an integer and closes the key: what every keyed module command "
  "pays. \"above the floor\" = the command's Ir/call minus FLOOR.INCR's. A floor key whose name "
  "ends in `:big` starts at 2^62 and so replies with 19-digit integers, as a snowflake ID does "
  "(formatting the reply costs per digit): SNOWFLAKE.* rows compare with that one, "
  "`FLOOR.INCR (19-digit value)`. `FLOOR.TEXT key` is the same key step replying with a 36-byte "
  "bulk string (the value as UUID text): UUID.* rows compare with that one.\n")

inc = next((c for c in cases if c["label"] == "INCR"), None)
flo_small = next((c for c in cases if c["label"] == "FLOOR.INCR"), None)
flo_big = next((c for c in cases if c["label"] == "FLOOR.INCR (19-digit value)"), None)
flo_text = next((c for c in cases if c["label"] == "FLOOR.TEXT"), None)


def floor_of(c):
    """Snowflake commands reply with 19-digit integers: they compare with the floor key that does."""
    if c["label"].startswith("SNOWFLAKE.") and flo_big:
        return flo_big
    # UUID.NEXT replies with a 36-byte bulk string: the floor that does too.
    if c["label"].startswith("UUID.") and flo_text:
        return flo_text
    return flo_small


def cmd_ir(c):
    return c["incl"].get(c["proc"], 0)


rows = []
for c in cases:
    calls = c["calls"]
    proc_ir = cmd_ir(c)
    mod_self = sum(v for fn, v, obj in c["selfs"] if is_module(obj))
    above = ""
    flo = floor_of(c)
    if flo and c["proc"] == "RedisModuleCommandDispatcher" and c is not flo and c is not flo_small:
        above = f"{proc_ir / calls - cmd_ir(flo) / flo['calls']:+,.0f}"
    rows.append([
        c["label"], f"{calls:,}", per(c["total"], calls),
        ratio(c["total"], inc["total"]) if inc else "",
        ratio(c["total"] / calls, flo["total"] / flo["calls"]) if flo else "",
        per(c["incl"].get("processCommand", 0), calls),
        per(c["incl"].get("call", 0), calls),
        ratio(c["incl"].get("call", 0), inc["incl"].get("call", 0)) if inc else "",
        per(proc_ir, calls),
        ratio(proc_ir, cmd_ir(inc)) if inc else "",
        ratio(proc_ir / calls, cmd_ir(flo) / flo["calls"]) if flo else "",
        above,
        per(mod_self, calls) if mod_self else "-",
        c["reservations"] if c["proc"] == "RedisModuleCommandDispatcher" else "-",
    ])
w("## Instructions per call\n")
w(table(["command", "N", "whole server", "/ INCR", "/ floor", "processCommand", "call()", "/ INCR",
         "command", "/ INCR", "/ floor", "above the floor", "idgen code (self)",
         "reservations in window"], rows))
w("")


def top_functions(c, k=15):
    calls = c["calls"]
    items = sorted(c["incl"].items(), key=lambda kv: -kv[1])[:k]
    return table(["Ir/call (inclusive)", "% of total", "function", "object"],
                 [[per(v, calls), f"{100 * v / c['total']:.1f}%", f"`{fn}`", short_obj(c['objs'].get(fn, ''))]
                  for fn, v in items], ["r", "r", "l", "l"])


def callee_block(c, fn):
    calls = c["calls"]
    total = c["incl"].get(fn, 0)
    self_ir = next((v for f, v, _ in c["selfs"] if f == fn), 0)
    rows = [[per(total, calls), "(inclusive)", "", ""], [per(self_ir, calls), "(self)", "", ""]]
    for callee, v, count, obj in sorted(c["callees"].get(fn, []), key=lambda t: -t[1]):
        rows.append([per(v, calls), f"`{callee}`", f"{count / calls:.3g}", short_obj(obj)])
    return table(["Ir/call", "callee", "calls per call", "object"], rows, ["r", "l", "r", "l"])


for label in ["SNOWFLAKE.NEXT", "SEQ.NEXT", "UUID.NEXT", "FLOOR.INCR", "FLOOR.TEXT", "INCR"]:
    c = next((x for x in cases if x["label"] == label), None)
    if c:
        w(f"## Top 15 functions (inclusive): {label}\n")
        w(top_functions(c))
        w("")

def self_map(c):
    m = defaultdict(int)
    for fn, v, _ in c["selfs"]:
        m[fn] += v
    return m


def breakdown(c, root, expand):
    """Rows (depth, function, Ir, kind, calls per call, object): the functions in `expand` (and
    the module's) are opened up into their own instructions plus their callees."""
    selfs = self_map(c)
    calls = c["calls"]
    rows = []

    def walk(fn, depth, seen):
        rows.append((depth, fn, selfs.get(fn, 0), "self", "", short_obj(c["objs"].get(fn, ""))))
        for callee, v, count, obj in sorted(c["callees"].get(fn, []), key=lambda t: -t[1]):
            if (is_module(obj) or is_floor(obj) or callee in expand) and callee not in seen:
                walk(callee, depth + 1, seen | {callee})
            else:
                rows.append((depth + 1, callee, v, "inclusive", f"{count / calls:.3g}", short_obj(obj)))

    walk(root, 0, {root})
    total = c["incl"].get(root, 0)
    body = [[per(total, calls), "", f"**`{root}` total**", "", ""]]
    for depth, fn, v, kind, cpc, obj in rows:
        if v / calls < 0.5:
            continue
        body.append([per(v, calls), kind, "&nbsp;&nbsp;" * depth + f"`{fn}`", cpc, obj])
    return table(["Ir/call", "", "function", "calls per call", "object"], body,
                 ["r", "l", "l", "r", "l"])


w("## Where the command's instructions go (Ir per call)\n")
w("Module functions are opened up into their own instructions (self) plus what they call "
  "(inclusive). The command's total is what `usec_per_call` measures.\n")
for label in ["FLOOR.INCR", "SNOWFLAKE.NEXT", "SEQ.NEXT", "SEQ.NEXTBATCH 1000",
              "SNOWFLAKE.NEXT COUNT 100", "FLOOR.TEXT", "UUID.NEXT", "UUID.NEXT COUNT 1000"]:
    c = next((x for x in cases if x["label"] == label), None)
    if c:
        w(f"### {label}\n")
        w(breakdown(c, "RedisModuleCommandDispatcher", {"RM_OpenKey", "RM_CloseKey"}))
        w("")
for label, root in [("INCR", "incrCommand"), ("INCR (18-digit value)", "incrCommand"),
                    ("INCRBY 1000", "incrbyCommand")]:
    c = next((x for x in cases if x["label"] == label), None)
    if c and root in c["incl"]:
        w(f"### {label} (for comparison)\n")
        w(breakdown(c, root, {"incrDecrCommand"}))
        w("")

# The UUID issue's target in instructions: UUID.NEXT at most 1.15x FLOOR.TEXT per call, the
# command and the whole request; COUNT 1000 per UUID (its UUIDs/s of server time comes from
# usec_per_call in bench/run.sh).
uuid = next((c for c in cases if c["label"] == "UUID.NEXT"), None)
if uuid and flo_text:
    w("## Targets (instructions)\n")
    rows = []
    for what, a, b in [("command", cmd_ir(uuid), cmd_ir(flo_text)),
                       ("whole request", uuid["total"], flo_text["total"])]:
        r = (a / uuid["calls"]) / (b / flo_text["calls"])
        rows.append([f"UUID.NEXT <= 1.15x FLOOR.TEXT ({what})",
                     f"{per(a, uuid['calls'])} vs {per(b, flo_text['calls'])} = {r:.2f}x",
                     "PASS" if r <= 1.15 else "FAIL"])
    u1000 = next((c for c in cases if c["label"] == "UUID.NEXT COUNT 1000"), None)
    if u1000:
        rows.append(["(info) UUID.NEXT COUNT 1000, Ir per UUID",
                     f"command {cmd_ir(u1000) / u1000['calls'] / 1000:,.1f}, "
                     f"whole {u1000['total'] / u1000['calls'] / 1000:,.1f}", "info"])
    w(table(["target", "measured", "result"], rows, ["l", "l", "l"]))
    w("")

w("## idgen functions, self Ir per call\n")
rows = []
for c in cases:
    for fn, v, obj in c["selfs"]:
        if is_module(obj) and v / c["calls"] >= 0.5:
            rows.append([c["label"], f"`{fn}`", per(v, c["calls"])])
w(table(["command", "function", "self Ir/call"], rows, ["l", "l", "r"]))
w("")


# ---- per source line (PROFILE_LINES=1) ----
def parse_callgrind_lines(path):
    """Self and call-inclusive Ir per (file, line), from a callgrind file with line positions."""
    names = {"f": {}, "n": {}}

    def name(kind, spec):
        spec = spec.strip()
        m = re.match(r"\((\d+)\)(?: (.*))?$", spec)
        if not m:
            return spec
        if m.group(2) is not None:
            names[kind][m.group(1)] = m.group(2)
        return names[kind].get(m.group(1), "?")

    self_cost, call_cost, targets = defaultdict(int), defaultdict(int), defaultdict(set)
    fn_file = cur_file = None
    cfn = None
    cur_fn = ""
    last = 0
    pending = False
    for line in Path(path).read_text(errors="replace").splitlines():
        if not line:
            continue
        ch = line[0]
        if ch.isdigit() or ch in "+-*":
            parts = line.split()
            pos = parts[0]
            if pos == "*":
                p = last
            elif pos[0] in "+-":
                p = last + int(pos)
            else:
                p = int(pos)
            last = p
            cost = int(parts[1]) if len(parts) > 1 else 0
            key = (cur_file, p, cur_fn.startswith("idgen::"))
            if pending:
                call_cost[key] += cost
                targets[key].add(cfn)
                pending = False
            else:
                self_cost[key] += cost
        elif line.startswith("fl="):
            fn_file = cur_file = name("f", line[3:])
        elif line.startswith(("fi=", "fe=")):
            cur_file = name("f", line[3:])
        elif line.startswith("fn="):
            cur_fn = name("n", line[3:])
            cur_file = fn_file
        elif line.startswith(("cfi=", "cfl=")):
            name("f", line[4:])
        elif line.startswith("cfn="):
            cfn = name("n", line[4:])
        elif line.startswith("calls="):
            pending = True
    return self_cost, call_cost, targets


def source_line(file, line):
    # `file` is "src/..."; read it from the copy taken at build time when there is one.
    p = Path(file)
    if SRC_COPY and SRC_COPY.exists() and str(file).startswith("src/"):
        p = SRC_COPY / str(file)[len("src/"):]
    elif not p.is_absolute():
        p = ROOT / p
    try:
        return p.read_text().splitlines()[line - 1].strip()
    except (OSError, IndexError):
        return ""


def ours(file):
    if not file:
        return None
    f = str(file)
    root = str(ROOT) + "/"
    if f.startswith(root):
        f = f[len(root):]
    return f if f.startswith("src/") else None


if LINES:
    w("## Per source line (src/), Ir per call: self + callees called from that line\n")
    w("Inlined code is attributed to the line it came from; std/redis-module code inlined into "
      "idgen functions is summed per file. Lines under 2 Ir/call are left out of the rows, not "
      "of the sum.\n")
    for label in ["SNOWFLAKE.NEXT", "SEQ.NEXT", "SEQ.NEXTBATCH 1000"]:
        c = next((x for x in cases if x["label"] == label), None)
        if not c:
            continue
        self_cost, call_cost, targets = parse_callgrind_lines(OUT / f"{c['slug']}.callgrind")
        # Lines of src/, and code of other files (std, redis-module) inlined into idgen functions,
        # the latter summed per file.
        agg = defaultdict(lambda: [0, 0, set()])
        for costs, slot in ((self_cost, 0), (call_cost, 1)):
            for (f, ln, in_idgen), v in costs.items():
                of = ours(f)
                if of:
                    k = (of, ln)
                elif in_idgen and f:
                    k = ("(inlined) " + re.sub(r"^/rustc/[0-9a-f]+/library/", "std:", str(f)), 0)
                else:
                    continue
                agg[k][slot] += v
                if slot == 1:
                    agg[k][2] |= {t for t in targets[(f, ln, in_idgen)] if t}
        calls = c["calls"]
        rows = []
        total_self = 0
        for (f, ln), (s, cc, t) in sorted(agg.items(), key=lambda kv: (kv[0][0].startswith("("), kv[0])):
            total_self += s
            if (s + cc) / calls < 2:
                continue
            callee = ", ".join(sorted(x.split("(")[0][-60:] for x in t))[:120]
            code = source_line(f, ln).replace("|", "\\|")[:90] if ln else ""
            rows.append([f"{f}:{ln}" if ln else f, per(s, calls), per(cc, calls) if cc else "",
                         f"`{code}`" if code else "", callee])
        rows.append(["**sum of self**", per(total_self, calls), "", "", ""])
        w(f"### {label}\n")
        w(table(["line", "self", "callees", "code", "calls"], rows, ["l", "r", "r", "l", "l"]))
        w("")

print("\n".join(out))
