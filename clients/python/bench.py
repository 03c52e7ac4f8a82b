#!/usr/bin/env python3
"""In-process rates of the Python client next to SNOWFLAKE.NEXT over the network.

    python bench.py                 # starts its own redis-server with the module
    python bench.py --port 6379     # uses a running server (it must have the module loaded)

Measures, in this one Python process: LeasedSnowflake.next_id() and next_ids(1000) (IDs/s),
SegmentSequence.next_value() and next_values(1000) (values/s), and SNOWFLAKE.NEXT from the
same process over one connection without pipelining and pipelined. The module comes from
$IDGEN_MODULE or target/release/libidgen.so; redis-server from $REDIS_SERVER or PATH.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "src"))

import redis  # noqa: E402

from idgen_client import LeasedSnowflake, SegmentSequence  # noqa: E402


def start_server(module: Path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    d = tempfile.mkdtemp(prefix="idgen-pybench-")
    exe = os.environ.get("REDIS_SERVER") or shutil.which("redis-server") or "redis-server"
    proc = subprocess.Popen(
        [
            exe,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            d,
            "--logfile",
            os.path.join(d, "redis.log"),
            "--loadmodule",
            str(module),
        ],
        stdout=subprocess.DEVNULL,
    )
    for _ in range(500):
        try:
            if redis.Redis(port=port).ping():
                return proc, port
        except redis.ConnectionError:
            time.sleep(0.01)
    proc.kill()
    raise SystemExit(f"redis-server did not start (log in {d})")


def rate(fn, per_call, seconds):
    """Calls per second x per_call, over `seconds` (after a short warm-up)."""
    end = time.perf_counter() + min(0.2, seconds / 5)
    while time.perf_counter() < end:
        fn()
    n = 0
    t0 = time.perf_counter()
    end = t0 + seconds
    while True:
        for _ in range(50):
            fn()
        n += 50
        t = time.perf_counter()
        if t >= end:
            return n * per_call / (t - t0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, help="use a running server on 127.0.0.1:PORT")
    ap.add_argument("--seconds", type=float, default=2.0, help="per measurement (default 2)")
    ap.add_argument("--protocol", type=int, default=3, choices=(2, 3))
    args = ap.parse_args()

    proc = None
    port = args.port
    if port is None:
        module = Path(
            os.environ.get("IDGEN_MODULE") or HERE.parents[1] / "target/release/libidgen.so"
        )
        if not module.exists():
            raise SystemExit(f"module not found: {module} (make build, or set IDGEN_MODULE)")
        proc, port = start_server(module)
    r = redis.Redis(port=port, protocol=args.protocol)
    sec = args.seconds
    rows = []
    tag = f"bench:{os.getpid()}"
    try:
        info = r.execute_command("COMMAND INFO", "WORKER.ACQUIRE")
        has_worker = bool(info) and info[0] is not None

        # Over the network: one SNOWFLAKE.NEXT per round trip, then pipelined.
        def one():
            r.execute_command("SNOWFLAKE.NEXT", tag + ":sf")

        net1 = rate(one, 1, sec)
        rows.append(("SNOWFLAKE.NEXT, one connection, no pipeline", net1))
        pipe = r.pipeline(transaction=False)

        def piped():
            for _ in range(100):
                pipe.execute_command("SNOWFLAKE.NEXT", tag + ":sf")
            pipe.execute()

        rows.append(("SNOWFLAKE.NEXT, pipelined 100", rate(piped, 100, sec)))

        def counted():
            r.execute_command("SNOWFLAKE.NEXT", tag + ":sf", "COUNT", 1000)

        rows.append(("SNOWFLAKE.NEXT COUNT 1000, no pipeline", rate(counted, 1000, sec)))

        # In-process.
        if has_worker:
            g = LeasedSnowflake(r, tag + ":pool", 10_000)
            rows.append(("LeasedSnowflake.next_id()", rate(g.next_id, 1, sec)))
            # next_ids runs ahead of the clock up to max_borrow_ms, then at the layout's
            # ceiling (4096 IDs/ms with 12 sequence bits): fill the borrow window first so
            # the figure is the sustained one.
            while g.last_ts - time.time_ns() // 1_000_000 < g.max_borrow_ms - 5:
                g.next_ids(4096)
            rows.append(
                (
                    "LeasedSnowflake.next_ids(1000), sustained",
                    rate(lambda: g.next_ids(1000), 1000, sec),
                )
            )
            g.close()
        else:
            rows.append(("LeasedSnowflake (module lacks WORKER.*)", None))
        s = SegmentSequence(r, tag + ":seq")
        s.next_values(2_000_000)  # let the segment size adapt to the rate
        rows.append(("SegmentSequence.next_value()", rate(s.next_value, 1, sec)))
        rows.append(
            ("SegmentSequence.next_values(1000)", rate(lambda: s.next_values(1000), 1000, sec))
        )
        s.close()
    finally:
        r.close()
        if proc is not None:
            proc.terminate()
            proc.wait()

    print(
        f"Python {platform.python_version()}, redis-py {redis.__version__}, RESP{args.protocol}, "
        f"{os.cpu_count()} CPUs (load {os.getloadavg()[0]:.1f}), {sec:g} s per row"
    )
    print()
    print(f"| {'case':<44} | {'IDs or values/s':>15} | {'x SNOWFLAKE.NEXT':>16} |")
    print(f"|{'-' * 46}|{'-' * 16}:|{'-' * 17}:|")
    for name, v in rows:
        if v is None:
            print(f"| {name:<44} | {'n/a':>15} | {'':>16} |")
        else:
            print(f"| {name:<44} | {v:>15,.0f} | {v / net1:>16.1f} |")


if __name__ == "__main__":
    main()
