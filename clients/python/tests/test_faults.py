"""Fault scenario: LeasedSnowflake holders generating IDs in-process while the server is
kill -9'ed and restarted (appendonly yes, appendfsync always), while a holder is cut off from
Redis past its TTL, and while a replica is promoted and the clients switch over. Every ID any
holder issued is recorded; the check is that no ID appears twice.

A control runs the same checker over two generators forced onto one worker ID without leases,
and must find repeats: the checker can fail.
"""

import os
import random
import threading
import time
from array import array

import pytest
import redis
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.retry import Retry

from idgen_client import ClockAhead, Layout, LeasedSnowflake, LeaseLost
from servers import RedisServer

pytestmark = [pytest.mark.faults]

LAYOUT = Layout(51, 2, 10)  # 4 worker IDs, 1024 IDs per ms
TTL_MS = 1500
MARGIN_MS = 150
GRACE_MS = 300
HOLDERS = 5  # one more than the pool has IDs: someone always waits for a free ID
SEED = int(os.environ.get("FAULTS_SEED", random.randrange(1 << 30)))


def count_repeats(recorded):
    """(IDs checked, IDs that appear more than once counted once per extra copy)."""
    total = sum(len(a) for a in recorded)
    seen = set()
    for a in recorded:
        seen.update(a)
    return total, total - len(seen)


class Switch:
    """The client every holder uses: the current primary (switched over at the failover)."""

    def __init__(self, port):
        self.client = self.make(port)

    @staticmethod
    def make(port):
        return redis.Redis(
            host="127.0.0.1",
            port=port,
            socket_timeout=0.5,
            socket_connect_timeout=0.5,
            retry=Retry(NoBackoff(), 0),
        )


class CutOff:
    """A holder's view of Redis that can be cut off (a network partition, a long pause)."""

    def __init__(self, switch):
        self.switch = switch
        self.cut = False

    def execute_command(self, *args, **kw):
        if self.cut:
            raise RedisConnectionError("cut off by the fault scenario")
        return self.switch.client.execute_command(*args, **kw)


class Holder(threading.Thread):
    def __init__(self, n, pool, switch, stop, rng, hold_s=(0.5, 3.0)):
        super().__init__(name=f"holder-{n}", daemon=True)
        self.hold_s = hold_s
        self.holding = False
        self.n = n
        self.pool = pool
        self.view = CutOff(switch)
        self.stop = stop
        self.rng = rng
        self.ids = array("q")
        self.leases = 0
        self.lost_final = 0
        self.lost_deadline = 0
        self.errors = []
        self.refusals = {}  # acquire refusals by kind
        self.tenures = []  # (worker ID, token) of every lease held

    def acquire(self):
        while not self.stop.is_set():
            try:
                return LeasedSnowflake(
                    self.view,
                    self.pool,
                    TTL_MS,
                    layout=LAYOUT,
                    margin_ms=MARGIN_MS,
                    grace_ms=GRACE_MS,
                    max_wait_ms=200,
                )
            except Exception as e:  # POOLFULL, POOLRESUMING, LOADING, connection refused ...
                kind = type(e).__name__
                self.refusals[kind] = self.refusals.get(kind, 0) + 1
                time.sleep(0.03)
        return None

    def run(self):
        try:
            while not self.stop.is_set():
                g = self.acquire()
                if g is None:
                    return
                self.leases += 1
                self.tenures.append((g.worker_id, g.token))
                self.holding = True
                hold_until = time.monotonic() + self.rng.uniform(*self.hold_s)
                while not self.stop.is_set() and time.monotonic() < hold_until:
                    try:
                        self.ids.extend(g.next_ids(self.rng.choice((1, 64, 256))))
                    except LeaseLost as e:
                        if e.final:
                            self.lost_final += 1
                            break
                        self.lost_deadline += 1  # not provable now: the renew thread retries
                        time.sleep(0.02)
                        continue
                    except ClockAhead:
                        continue
                    time.sleep(0.002)
                else:
                    if g.lost is not None:  # lost while waiting, not yet seen by next_ids
                        self.lost_final += 1
                self.holding = False
                g.close()  # releases with LAST-TS when still held
        except Exception as e:  # recorded, fails the test
            self.errors.append(repr(e))


def wait_synced(primary, replica, timeout=10):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            info = replica.info("replication")
            if info.get("master_link_status") == "up":
                off = primary.info("replication")["master_repl_offset"]
                if info.get("slave_repl_offset", -1) >= off:
                    return
        except redis.RedisError:
            pass
        time.sleep(0.05)
    raise AssertionError("replica did not sync")


@pytest.mark.worker
def test_lease_holders_under_kill9_partition_and_failover(tmp_path, need_worker):
    rng = random.Random(SEED)
    started = time.monotonic()
    aof = ["--appendonly", "yes", "--appendfsync", "always"]
    primary = RedisServer(tmp_path / "primary", extra=aof).start()
    replica = RedisServer(
        tmp_path / "replica", extra=aof + ["--replicaof", "127.0.0.1", str(primary.port)]
    ).start()
    switch = Switch(primary.port)
    pool = "faults:pool"
    stop = threading.Event()
    holders = [Holder(i, pool, switch, stop, random.Random(rng.random())) for i in range(HOLDERS)]
    victim = holders[0]
    victim.hold_s = (3600, 3600)  # keeps its lease until it loses it
    log = []
    try:
        for h in holders:
            h.start()
        time.sleep(2.5)

        # 1. One holder cut off from Redis past its TTL: it must stop by its local deadline;
        #    the waiting holder takes its ID after expiry + grace and starts above it.
        while not victim.holding:
            time.sleep(0.01)
        victim.view.cut = True
        log.append("cut off holder 0")
        time.sleep(TTL_MS / 1000 + GRACE_MS / 1000 + 0.7)
        victim.view.cut = False
        time.sleep(1.0)

        # 2. kill -9 the primary under load, restart it from its AOF on the same port: once
        #    briefly (leases survive and are renewed), once for longer than the TTL (they
        #    expire; the restarted pool refuses grants while it resumes).
        for down_s in (0.3, TTL_MS / 1000 + 0.5):
            primary.kill9()
            log.append(f"kill -9 primary, down {down_s:.1f} s")
            time.sleep(down_s)
            primary.start()
            time.sleep(3.0)

        # 3. Failover: promote the replica, switch the clients over, kill the old primary.
        c_primary, c_replica = primary.client(), replica.client()
        wait_synced(c_primary, c_replica)
        time.sleep(0.5)
        c_replica.execute_command("REPLICAOF", "NO", "ONE")
        log.append("replica promoted")
        time.sleep(0.1)  # the old primary still serves for a moment (kept below MARGIN_MS)
        switch.client = Switch.make(replica.port)
        primary.kill9()
        log.append("clients switched, old primary killed")
        c_primary.close()
        c_replica.close()
        time.sleep(4.0)
    finally:
        stop.set()
        for h in holders:
            h.join(timeout=10)
        primary.stop()
        replica.stop()

    errors = [e for h in holders for e in h.errors]
    assert not errors, errors
    total, repeats = count_repeats([h.ids for h in holders])
    leases = sum(h.leases for h in holders)
    lost_final = sum(h.lost_final for h in holders)
    lost_deadline = sum(h.lost_deadline for h in holders)
    summary = (
        f"faults: scenario=python-leases seed={SEED} holders={HOLDERS} ids={total} "
        f"repeats={repeats} leases={leases} leaselost={lost_final} "
        f"deadline_refusals={lost_deadline} seconds={time.monotonic() - started:.1f}"
    )
    refusals = {}
    for h in holders:
        for k, v in h.refusals.items():
            refusals[k] = refusals.get(k, 0) + v
    per = ", ".join(
        f"h{h.n}: leases={h.leases} lost={h.lost_final} refused={h.lost_deadline}" for h in holders
    )
    print("\n" + summary + "\n  " + "; ".join(log) + f"\n  acquire refusals: {refusals}\n  {per}")
    assert victim.lost_deadline > 0 and victim.lost_final > 0, "the cut-off holder never stopped"
    wid, token = victim.tenures[0]
    assert any(w == wid and t > token for h in holders[1:] for w, t in h.tenures), (
        "the cut-off holder's ID never went to another holder"
    )
    assert leases > HOLDERS, "no lease changed hands"
    assert total > 100_000
    assert repeats == 0, summary


def test_control_checker_finds_repeats_without_leases():
    """Two generators that both believe they hold worker 0 (a broken pool): the same checker
    must report repeats."""

    class BrokenPool:  # grants worker 0 to everyone
        def execute_command(self, cmd, *args):
            if cmd == "WORKER.ACQUIRE":
                return [0, 1, 2**62, 0]
            if cmd == "WORKER.RENEW":
                return [2**62, 0]
            return b"OK"

    gens = [LeasedSnowflake(BrokenPool(), "p", 10_000, layout=LAYOUT) for _ in range(2)]
    recorded = [array("q"), array("q")]

    def work(i):
        end = time.monotonic() + 0.3
        while time.monotonic() < end:
            recorded[i].extend(gens[i].next_ids(64))
            time.sleep(0.001)

    ts = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    for g in gens:
        g.close()
    total, repeats = count_repeats(recorded)
    print(f"\nfaults: scenario=python-control ids={total} repeats={repeats}")
    assert repeats > 0
