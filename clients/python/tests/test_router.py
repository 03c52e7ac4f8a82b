"""TaskRouter computes WORKER.ROUTE's answer locally."""

import os
import time

import pytest

from idgen_client import LeasedSnowflake, TaskRouter, worker_route

pytestmark = [pytest.mark.worker, pytest.mark.usefixtures("need_worker")]


def keys(n):
    return [f"task:{i}" for i in range(n)] + [os.urandom(8) for _ in range(n // 4)] + ["tâche", b""]


def server_route(c, pool, key, count):
    return [lease.id for lease in worker_route(c, pool, key, count)]


def wait_for(pred, timeout=3.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.01)
    return pred()


def test_router_matches_worker_route(r, name):
    gens = [LeasedSnowflake(r, name, 10_000, holder=f"w{i}", renew=False) for i in range(12)]
    for g in gens[::3]:  # leave holes: live IDs 1, 2, 4, 5, ...
        g.close()
    with TaskRouter(r, name, events=False) as router:
        live = sorted(lease.id for lease in router.leases)
        assert live == sorted(g.worker_id for g in gens if g.live())
        for k in keys(400):
            for count in (1, 3):
                assert [lease.id for lease in router.route(k, count)] == server_route(
                    r, name, k, count
                ), k
        lease = router.owner("task:1")
        assert lease.holder is not None and lease.holder.startswith(b"w")
    for g in gens:
        g.close()


def test_empty_pool(r, name):
    with TaskRouter(r, name, events=False) as router:
        assert router.route("x") == [] and router.owner("x") is None
        assert r.execute_command("WORKER.ROUTE", name, "x") == []


@pytest.mark.parametrize("protocol", [2, 3])
def test_router_follows_keyspace_events(server, name, protocol):
    c = server.client(protocol=protocol)
    with TaskRouter(c, name, refresh_ms=60_000) as router:  # periodic refresh out of the way
        assert router.leases == []
        a = LeasedSnowflake(c, name, 5000)
        assert wait_for(lambda: [lease.id for lease in router.leases] == [a.worker_id])
        b = LeasedSnowflake(c, name, 5000)
        assert wait_for(lambda: len(router.leases) == 2)
        assert router.events_seen >= 2
        for k in keys(100):
            assert [lease.id for lease in router.route(k, 2)] == server_route(c, name, k, 2)
        a.close()
        assert wait_for(lambda: [lease.id for lease in router.leases] == [b.worker_id])
        b.close()
        assert wait_for(lambda: router.leases == [])
    c.close()


def test_router_falls_back_to_polling(server, name):
    c = server.client()
    with TaskRouter(c, name, events=False, refresh_ms=100) as router:
        a = LeasedSnowflake(c, name, 5000)
        assert wait_for(lambda: len(router.leases) == 1)
        a.close()
        assert wait_for(lambda: router.leases == [])
    c.close()


def test_router_drops_expired_leases_on_time(server, name):
    c = server.client()
    a = LeasedSnowflake(c, name, 1000, renew=False)
    with TaskRouter(c, name, refresh_ms=60_000) as router:
        assert len(router.leases) == 1
        time.sleep(1.1)  # expired by the server's clock; nothing touched the pool
        assert router.leases == []
        assert server_route(c, name, "k", 1) == []
    a.close()
    c.close()
