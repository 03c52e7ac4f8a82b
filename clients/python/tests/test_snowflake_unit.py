"""LeasedSnowflake's clock and lease rules, driven step by step with a manual clock against an
in-memory stand-in for WORKER.* (fakepool.py). The same behaviour against the real module is in
test_snowflake.py."""

import threading

import pytest

from fakepool import FakePoolServer
from idgen_client import ClockAhead, Layout, LeasedSnowflake, LeaseLost, ManualClock, SystemClock

T0 = 1_800_000_000_000


@pytest.fixture
def clock():
    return ManualClock(wall_ms=T0)


@pytest.fixture
def srv(clock):
    return FakePoolServer(clock)


def gen(srv, clock, **kw):
    kw.setdefault("renew", False)
    kw.setdefault("ttl_ms", 3000)
    return LeasedSnowflake(srv, "pool", clock=clock, **kw)


def test_layout_compose_parse():
    lay = Layout()
    assert lay.compose(1704067200000 + 5, 3, 7) == (5 << 22) | (3 << 12) | 7
    assert lay.parse((5 << 22) | (3 << 12) | 7) == (1704067200005, 3, 7)
    small = Layout(51, 2, 10, epoch_ms=0).check()
    assert small.parse(small.compose(123456, 3, 1023)) == (123456, 3, 1023)
    for bad in [(41, 10, 11), (40, 21, 2), (63, 0, 0)]:
        with pytest.raises(ValueError):
            Layout(*bad).check()
    with pytest.raises(ValueError):
        lay.compose(1704067200000, 1024, 0)


def test_id_composition_and_first_id_above_not_before(srv, clock):
    g = gen(srv, clock)
    ts, w, s = g.parse(g.next_id())
    assert (ts, w, s) == (T0, g.worker_id, 0)
    assert g.next_id() == Layout().compose(T0, g.worker_id, 1)
    g.close()
    # The next holder of ID 0 gets a not-before at our LAST-TS, and starts above it.
    g2 = gen(srv, clock)
    assert g2.worker_id == 0 and g2.not_before_ms == T0
    assert g2.parse(g2.next_id()) == (T0 + 1, 0, 0)  # borrowed the next millisecond


def test_monotonic_clock_back_and_borrow(srv, clock):
    g = gen(srv, clock, layout=(51, 2, 10))  # 1024 per ms
    ids = [g.next_id() for _ in range(1500)]  # fills T0, borrows T0 + 1
    assert g.parse(ids[-1])[0] == T0 + 1
    clock.set_wall(T0 - 10_000)  # clock steps back 10 s: keep counting on T0 + 1
    ids += [g.next_id() for _ in range(100)]
    ids += g.next_ids(3000)
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert g.parse(ids[-1])[0] <= T0 + 1 + 1000  # never beyond max_borrow_ms


def test_borrow_limit_waits_then_raises(srv, clock):
    # A manual clock's sleep moves it, so waiting lets the clock catch up here.
    g = gen(srv, clock, layout=(51, 2, 10), max_borrow_ms=5, ttl_ms=60_000)
    ids = g.next_ids(1024 * 20)  # 20 ms worth: waits for the clock along the way
    assert len(set(ids)) == len(ids) == 1024 * 20
    assert g.parse(ids[-1])[0] - clock.time_ms() <= 5
    # A clock that does not move: the wait ends in ClockAhead, nothing issued twice.
    frozen = ManualClock(wall_ms=T0)
    frozen.sleep = lambda s: frozen.advance(s * 1000, wall=False)
    g2 = LeasedSnowflake(
        FakePoolServer(frozen),
        "p",
        60_000,
        clock=frozen,
        renew=False,
        layout=(51, 2, 10),
        max_borrow_ms=2,
        max_wait_ms=50,
    )
    got = g2.next_ids(1024 * 3)
    with pytest.raises(ClockAhead):
        g2.next_id()
    with pytest.raises(ClockAhead):
        g2.next_ids(5)
    assert len(set(got)) == 1024 * 3


def test_local_deadline_stops_issuing(srv, clock):
    g = gen(srv, clock, ttl_ms=3000, margin_ms=300)
    g.next_id()
    clock.advance(2698)
    g.next_id()  # 2 ms before the deadline: still issuing
    clock.advance(2)
    with pytest.raises(LeaseLost) as e:
        g.next_id()
    assert e.value.final is False
    with pytest.raises(LeaseLost):
        g.next_ids(10)
    # The server still holds the lease (expiry at T0 + 3000): a renewal proves it again.
    assert g.renew() is True
    g.next_id()
    # Renewal reported the newest timestamp used.
    assert srv.calls[-1][-2:] == ("LAST-TS", T0 + 2698)


def test_deadline_counts_from_when_renew_was_sent(srv, clock):
    g = gen(srv, clock, ttl_ms=3000, margin_ms=300)
    clock.advance(1000)
    slow = srv.execute_command

    def slow_reply(*args):
        clock.advance(500)  # the reply takes 500 ms
        return slow(*args)

    srv.execute_command = slow_reply
    assert g.renew()
    srv.execute_command = slow
    # sent at +1000: deadline at +1000 + 2700 = +3700; it is now +1500.
    clock.advance(2198)
    g.next_id()
    clock.advance(2)
    with pytest.raises(LeaseLost):
        g.next_id()


def test_leaselost_from_server_is_final(srv, clock):
    g = gen(srv, clock, ttl_ms=3000)
    g.next_id()
    clock.advance(3000)  # the server lets the lease expire (it judges by its clock)
    with pytest.raises(LeaseLost) as e:
        g.renew()
    assert e.value.final is True
    with pytest.raises(LeaseLost) as e:
        g.next_id()
    assert e.value.final is True
    g.close()  # no release for a lost lease
    assert srv.calls[-1][0] == "WORKER.RENEW"


def test_unreachable_server_renew_fails_then_deadline(srv, clock):
    g = gen(srv, clock, ttl_ms=3000, margin_ms=300)
    srv.down = True
    clock.advance(1000)
    assert g.renew() is False
    assert g.renew_failures == 1
    clock.advance(1698)
    g.next_id()
    clock.advance(2)
    with pytest.raises(LeaseLost):
        g.next_id()


def test_not_before_ahead_of_lease_waits_for_renewal(srv, clock):
    # A not-before beyond what the lease covers (as after a pool resume): no ID until a renewal
    # moves the lease's wall-clock deadline past it.
    srv.execute_command("WORKER.ACQUIRE", "pool", 1000, "SIZE", 1024)  # id 0 busy
    srv.pools[b"pool"].nb[1] = T0 + 2000
    g = gen(srv, clock, ttl_ms=3000, margin_ms=300, max_wait_ms=100)
    assert g.worker_id == 1 and g.not_before_ms == T0 + 2000
    # Covered until T0 + 2700: fine.
    assert g.parse(g.next_id())[0] == T0 + 2001
    srv.pools[b"pool"].nb[2] = T0 + 5000
    g2 = gen(srv, clock, ttl_ms=3000, margin_ms=300, max_wait_ms=100)
    with pytest.raises(ClockAhead):
        g2.next_id()


def test_renew_and_release_report_last_ts(srv, clock):
    g = gen(srv, clock)
    assert g.renew()
    assert "LAST-TS" not in srv.calls[-1]  # nothing issued yet
    g.next_ids(10)
    clock.advance(7)
    g.next_id()
    assert g.last_ts == T0 + 7
    g.renew()
    assert srv.calls[-1][-2:] == ("LAST-TS", T0 + 7)
    with g:
        pass
    assert srv.calls[-1] == ("WORKER.RELEASE", "pool", 0, g.token, "LAST-TS", T0 + 7)
    with pytest.raises(LeaseLost) as e:
        g.next_id()
    assert e.value.final


def test_acquire_arguments(srv, clock):
    g = gen(srv, clock, holder="svc-a", layout=(43, 8, 12), grace_ms=700)
    assert srv.calls[0] == ("WORKER.LIST", "pool")  # a named holder looks for its live lease
    assert srv.calls[1] == (
        "WORKER.ACQUIRE",
        "pool",
        3000,
        "HOLDER",
        "svc-a",
        "SIZE",
        256,
        "GRACE",
        700,
    )
    with pytest.raises(ValueError):
        gen(srv, clock, size=300, layout=(43, 8, 12))
    with pytest.raises(ValueError):
        gen(srv, clock, ttl_ms=999)
    with pytest.raises(ValueError):
        gen(srv, clock, ttl_ms=3000, margin_ms=2000)
    g.close()


def test_threads_get_unique_increasing_ids():
    srv = FakePoolServer(SystemClock())
    g = LeasedSnowflake(srv, "pool", 10_000)
    out = [[] for _ in range(8)]

    def work(i):
        for k in range(300):
            out[i].append(g.next_id())
            out[i].extend(g.next_ids(k % 50 + 1))

    ts = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    g.close()
    all_ids = [x for o in out for x in o]
    assert len(all_ids) == len(set(all_ids))
    for o in out:
        assert o == sorted(o)
