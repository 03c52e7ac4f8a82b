"""An in-memory stand-in for the WORKER.* commands, for clock-driven unit tests only.

It follows the wire contract's replies and error codes, judged with an injected clock, so the
client's deadline and LeaseLost logic can be tested step by step. Everything that matters is also
tested against the real module (tests marked ``worker``).
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from redis.exceptions import ConnectionError, ResponseError

from idgen_client.route import route_ids


def _b(x: Any) -> bytes:
    if isinstance(x, bytes):
        return x
    return str(x).encode()


class _Pool:
    def __init__(self, size: int, grace: int):
        self.size = size
        self.grace = grace
        self.leases: Dict[int, List[Any]] = {}  # id -> [holder, token, expires, nb]
        self.nb: Dict[int, int] = {}
        self.quarantine: Dict[int, int] = {}
        self.token = 0


class FakePoolServer:
    def __init__(self, clock):
        self.clock = clock
        self.pools: Dict[bytes, _Pool] = {}
        self.down = False  # raise ConnectionError for every command
        self.calls: List[tuple] = []

    def _touch(self, p: _Pool, now: int) -> None:
        for i, lease in list(p.leases.items()):
            if lease[2] <= now:
                del p.leases[i]
                p.nb[i] = max(p.nb.get(i, 0), lease[2])
                p.quarantine[i] = lease[2] + p.grace

    def execute_command(self, *args: Any) -> Any:
        self.calls.append(args)
        if self.down:
            raise ConnectionError("fake server down")
        cmd = str(args[0]).upper()
        key = _b(args[1])
        now = self.clock.time_ms()
        opts: Dict[str, Any] = {}
        if cmd == "WORKER.ACQUIRE":
            ttl = int(args[2])
            rest = args[3:]
            for i in range(0, len(rest), 2):
                opts[str(rest[i]).upper()] = rest[i + 1]
            size = int(opts.get("SIZE", 1024))
            grace = int(opts.get("GRACE", 5000))
            p = self.pools.get(key)
            if p is None:
                p = self.pools[key] = _Pool(size, grace)
            elif ("SIZE" in opts and size != p.size) or ("GRACE" in opts and grace != p.grace):
                raise ResponseError("SIZE/GRACE differs from the pool's")
            self._touch(p, now)
            holder = _b(opts["HOLDER"]) if "HOLDER" in opts else None
            if holder is not None:
                for i, lease in p.leases.items():
                    if lease[0] == holder:
                        lease[2] = max(lease[2], now + ttl)
                        return [i, lease[1], lease[2], max(p.nb.get(i, 0), lease[3])]
            for i in range(p.size):
                if i in p.leases or p.quarantine.get(i, 0) > now:
                    continue
                p.token += 1
                nb = p.nb.get(i, 0)
                p.leases[i] = [holder, p.token, now + ttl, nb]
                return [i, p.token, now + ttl, nb]
            raise ResponseError("POOLFULL no worker ID is free: the next one frees up in 1234 ms")
        p = self.pools.get(key)
        if cmd == "WORKER.RENEW":
            wid, token, ttl = int(args[2]), int(args[3]), int(args[4])
            last = int(args[6]) if len(args) > 6 else None
            if p is not None:
                self._touch(p, now)
            lease = p.leases.get(wid) if p else None
            if lease is None or lease[1] != token:
                raise ResponseError("LEASELOST the lease on this worker ID is gone: stop issuing")
            lease[2] = max(lease[2], now + ttl)
            if last is not None:
                p.nb[wid] = max(p.nb.get(wid, 0), last)
            return [lease[2], max(p.nb.get(wid, 0), lease[3])]
        if cmd == "WORKER.RELEASE":
            wid, token = int(args[2]), int(args[3])
            last = int(args[5]) if len(args) > 5 else None
            if p is not None:
                self._touch(p, now)
            lease = p.leases.get(wid) if p else None
            if lease is None or lease[1] != token:
                raise ResponseError("LEASELOST the lease on this worker ID is gone: stop issuing")
            del p.leases[wid]
            p.nb[wid] = max(p.nb.get(wid, 0), min(lease[2], now), last or 0)
            return b"OK"
        if cmd == "WORKER.LIST":
            if p is None:
                return []
            return [
                [i, lease[0], lease[1], lease[2], max(lease[3], p.nb.get(i, 0))]
                for i, lease in sorted(p.leases.items())
                if lease[2] > now
            ]
        if cmd == "WORKER.ROUTE":
            count = int(args[4]) if len(args) > 4 else 1
            live = self.execute_command("WORKER.LIST", key)
            by_id = {e[0]: e for e in live}
            return [by_id[i] for i in route_ids(_b(args[2]), by_id, count)]
        raise ResponseError(f"unknown command '{cmd}'")

    def lease(self, pool: Any, wid: int) -> Optional[List[Any]]:
        p = self.pools.get(_b(pool))
        return p.leases.get(wid) if p else None
