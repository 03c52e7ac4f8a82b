"""LeasedSnowflake against the real module's WORKER.* commands."""

import threading
import time

import pytest
from redis.exceptions import ResponseError

from idgen_client import (
    Layout,
    LeasedSnowflake,
    LeaseLost,
    NoReplicas,
    PoolFull,
    PoolResuming,
    worker_info,
    worker_list,
    worker_route,
)
from servers import run_in_child

pytestmark = [pytest.mark.worker, pytest.mark.usefixtures("need_worker")]


def now_ms():
    return time.time_ns() // 1_000_000


def test_acquire_issue_and_list(r, name):
    with LeasedSnowflake(r, name, 5000, holder="svc-a") as g:
        assert g.worker_id == 0 and g.token >= 1
        assert g.expires_at_ms >= now_ms() + 4000
        ids = [g.next_id() for _ in range(100)] + g.next_ids(5000)
        assert ids == sorted(ids) and len(set(ids)) == len(ids)
        for i in ids[:3] + ids[-3:]:
            ts, worker, _ = g.parse(i)
            assert worker == g.worker_id and ts > g.not_before_ms
        leases = worker_list(r, name)
        assert [(lease.id, lease.holder, lease.token) for lease in leases] == [
            (0, b"svc-a", g.token)
        ]
    assert r.execute_command("WORKER.LIST", name) == []


def test_renew_extends_and_reports_last_ts(r, name):
    g = LeasedSnowflake(r, name, 3000, renew=False)
    exp = g.expires_at_ms
    g.next_ids(10)
    time.sleep(0.05)
    assert g.renew()
    assert g.expires_at_ms > exp
    (lease,) = worker_list(r, name)
    assert lease.expires_at_ms == g.expires_at_ms
    g.close()


def test_background_renewal_keeps_the_lease(server, name):
    c = server.client()
    g = LeasedSnowflake(c, name, 1000, margin_ms=100)
    t_end = time.monotonic() + 2.5  # 2.5 TTLs
    n = 0
    while time.monotonic() < t_end:
        n += len(g.next_ids(1000))
        time.sleep(0.01)
    assert g.renewals >= 5 and g.live()
    g.close()
    c.close()


def test_two_generators_never_share_an_id(server, name):
    gens = [LeasedSnowflake(server.client(protocol=p), name, 5000) for p in (2, 3)]
    assert gens[0].worker_id != gens[1].worker_id
    out = [[], []]

    def work(i):
        for _ in range(300):
            out[i].extend(gens[i].next_ids(200))
            out[i].append(gens[i].next_id())

    ts = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    for g in gens:
        g.close()
    both = out[0] + out[1]
    assert len(both) == len(set(both))


def test_next_holder_starts_above_last_ts(r, name):
    g1 = LeasedSnowflake(r, name, 5000, holder="h")
    ids1 = g1.next_ids(4096 * 40)  # 40 ms worth: runs ahead of the clock
    last = g1.last_ts
    assert last == g1.parse(ids1[-1])[0]
    g1.close()  # RELEASE ... LAST-TS last
    g2 = LeasedSnowflake(r, name, 5000, holder="h")
    assert g2.worker_id == g1.worker_id and g2.token > g1.token
    assert g2.not_before_ms >= last
    first = g2.next_id()
    assert g2.parse(first)[0] > last and first > ids1[-1]
    g2.close()


def test_same_holder_again_keeps_id_and_token(r, name):
    g = LeasedSnowflake(r, name, 5000, holder="same", renew=False)
    grant = r.execute_command("WORKER.ACQUIRE", name, 5000, "HOLDER", "same", "SIZE", 1024)
    assert list(grant[:2]) == [g.worker_id, g.token]
    g.close()


def test_fenced_out_lease_raises_final(r, name):
    g = LeasedSnowflake(r, name, 5000, renew=False)
    g.next_id()
    # Someone releases it behind the generator's back (an operator, a buggy twin).
    r.execute_command("WORKER.RELEASE", name, g.worker_id, g.token)
    with pytest.raises(LeaseLost) as e:
        g.renew()
    assert e.value.final and "LEASELOST" in str(e.value)
    with pytest.raises(LeaseLost):
        g.next_id()
    with pytest.raises(LeaseLost):
        g.next_ids(3)
    g.close()


def test_background_thread_stops_issuing_on_leaselost(server, name):
    c = server.client()
    g = LeasedSnowflake(c, name, 1000, margin_ms=100)
    c.execute_command("WORKER.RELEASE", name, g.worker_id, g.token)
    deadline = time.monotonic() + 2
    with pytest.raises(LeaseLost) as e:
        while time.monotonic() < deadline:
            g.next_id()
            time.sleep(0.005)
    assert e.value.final  # the renew at ttl/3 was refused, before the local deadline
    g.close()
    c.close()


def test_paused_renewals_stop_issuing_then_next_holder_is_above(server, name):
    """A holder whose renewals stop (a long pause, Redis out of reach): it stops issuing at its
    local deadline; after expiry + grace another holder gets the ID and starts above everything
    the first could have used; the first holder's late RENEW is refused."""
    c = server.client()
    one = Layout(53, 0, 10)  # a pool of one worker ID
    a = LeasedSnowflake(c, name, 1000, layout=one, margin_ms=100, grace_ms=200, renew=False)
    a_ids = a.next_ids(1024 * 5)
    while True:
        try:
            a_ids += a.next_ids(100)
        except LeaseLost as e:
            assert not e.final
            break
        time.sleep(0.002)
    # ~900 ms after the grant. The server keeps the ID until expiry + grace.
    with pytest.raises(PoolFull):
        LeasedSnowflake(c, name, 1000, layout=one, grace_ms=200)
    b = LeasedSnowflake(c, name, 1000, layout=one, grace_ms=200, acquire_timeout_ms=2000)
    assert b.worker_id == a.worker_id and b.token > a.token
    assert b.not_before_ms >= max(a.parse(i)[0] for i in a_ids[-10:])
    b_ids = b.next_ids(10_000)
    assert min(b_ids) > max(a_ids) and not set(a_ids) & set(b_ids)
    with pytest.raises(LeaseLost) as e:
        a.renew()
    assert e.value.final
    b.close()
    a.close()
    c.close()


def test_pool_size_is_fixed_by_the_layout(r, name):
    g = LeasedSnowflake(r, name, 5000, layout=(43, 8, 12))
    info = worker_info(r, name)
    assert info["size"] == 256 and info["live"] == 1 and info["free"] == 255
    with pytest.raises(ResponseError) as e:
        LeasedSnowflake(r, name, 5000)  # SIZE 1024 differs
    assert "SIZE" in str(e.value)
    g.close()


def test_pool_full_says_when(r, name):
    lay = Layout(52, 1, 10)
    a = LeasedSnowflake(r, name, 5000, layout=lay)
    b = LeasedSnowflake(r, name, 5000, layout=lay)
    with pytest.raises(PoolFull) as e:
        LeasedSnowflake(r, name, 5000, layout=lay)
    assert e.value.retry_after_ms is not None and e.value.retry_after_ms > 0
    a.close()
    c = LeasedSnowflake(r, name, 5000, layout=lay)  # released: free at once
    assert c.worker_id == a.worker_id
    b.close()
    c.close()


def test_resuming_pool_refuses_then_grants(server, name):
    c = server.client()
    held = LeasedSnowflake(c, name, 1000, grace_ms=100, margin_ms=100)
    held.next_id()
    reloaded = time.time_ns() // 1_000_000
    c.execute_command("DEBUG", "RELOAD")  # a load: the pool resumes
    with pytest.raises(PoolResuming) as e:
        LeasedSnowflake(c, name, 1000, grace_ms=100)
    assert e.value.retry_after_ms is not None
    assert held.renew()  # renewals work meanwhile
    g = LeasedSnowflake(c, name, 1000, grace_ms=100, acquire_timeout_ms=5000)
    # Its not-before is at least the resume floor: the resume plus the longest TTL granted.
    assert g.not_before_ms >= reloaded + 1000
    ids = g.next_ids(100)
    assert g.parse(ids[0])[0] > g.not_before_ms
    assert not set(ids) & set(held.next_ids(100))
    g.close()
    held.close()
    c.close()


def test_fenced_primary_refuses_grants_then_grants(server, name):
    """With the reservation fence on and no replica, WORKER.ACQUIRE is refused (NoReplicas);
    acquire_timeout_ms keeps retrying until the fence opens."""
    c = server.client()
    c.execute_command("CONFIG", "SET", "idgen.reserve-min-replicas", "1")
    try:
        with pytest.raises(NoReplicas) as e:
            LeasedSnowflake(c, name, 1000)
        assert e.value.retry_after_ms is None
        opener = threading.Timer(
            0.3,
            lambda: server.client().execute_command(
                "CONFIG", "SET", "idgen.reserve-min-replicas", "0"
            ),
        )
        opener.start()
        g = LeasedSnowflake(c, name, 1000, acquire_timeout_ms=5000)
        opener.join()
        assert len(set(g.next_ids(10))) == 10
        g.close()
    finally:
        c.execute_command("CONFIG", "SET", "idgen.reserve-min-replicas", "0")
        c.close()


def test_pool_helpers_normalise_replies(r, name):
    assert worker_list(r, name) == [] and worker_route(r, name, "k") == []
    with LeasedSnowflake(r, name, 5000, holder="h1") as g:
        info = worker_info(r, name)
        assert set(info) >= {
            "size",
            "grace_ms",
            "live",
            "quarantined",
            "free",
            "next_expiry",
            "resume_wait_ms",
            "next_token",
            "grants",
            "renewals",
            "releases",
            "expiries",
            "refusals",
        }
        assert info["live"] == 1 and info["grants"] >= 1 and info["next_expiry"] == g.expires_at_ms
        (lease,) = worker_list(r, name)
        assert lease.holder == b"h1" and lease.token == g.token
        assert worker_route(r, name, "k", 3) == [lease]
    info = worker_info(r, name)
    assert info["live"] == 0 and info["next_expiry"] is None


def test_same_holder_twice_in_one_process_is_refused(r, name):
    g = LeasedSnowflake(r, name, 5000, holder="dup")
    with pytest.raises(Exception) as e:
        LeasedSnowflake(r, name, 5000, holder="dup")
    assert "holder names must be unique" in str(e.value)
    g.next_id()  # the first one's lease is untouched
    g.close()


def test_forked_child_does_not_issue_on_the_parents_lease(server, name):
    c = server.client()
    g = LeasedSnowflake(c, name, 5000)
    g.next_id()

    def child():
        try:
            g.next_id()
            return "issued"
        except LeaseLost as e:
            g.close()  # must not release the parent's lease
            return ("lost", e.final)

    assert run_in_child(child) == ("lost", True)
    assert g.renew() and g.next_id()  # the parent's lease is intact
    g.close()
    c.close()


def test_restarted_holder_that_gets_its_live_lease_back_starts_above_it(r, name):
    """A process that dies without releasing and restarts under the same HOLDER name before its
    lease expires gets the same ID and token back (the pool's same-holder rule). The new
    incarnation cannot know what the old one issued after its last renewal, so it starts above
    the old lease's expiry."""
    old = LeasedSnowflake(r, name, 5000, holder="pod-7", renew=False)
    old_ids = old.next_ids(4096 * 300)  # runs ~300 ms ahead of the clock, unreported
    old._forked()  # the process dies: no release, no more renewals
    new = LeasedSnowflake(r, name, 5000, holder="pod-7", max_wait_ms=6000)
    assert (new.worker_id, new.token) == (old.worker_id, old.token)  # kept, as the pool says
    new_ids = new.next_ids(1000)
    assert min(new_ids) > max(old_ids)
    new.close()
