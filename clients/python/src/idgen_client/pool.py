"""Plain calls of the pool commands, with replies normalised across RESP2/RESP3 and
bytes/str clients."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from . import _wire
from ._wire import Lease

__all__ = ["worker_list", "worker_route", "worker_info"]


def worker_list(redis: Any, pool: _wire.KeyLike) -> List[Lease]:
    """``WORKER.LIST pool``: the live leases, by ID (empty for a missing key)."""
    return _wire.parse_leases(redis.execute_command("WORKER.LIST", pool))


def worker_route(
    redis: Any, pool: _wire.KeyLike, task_key: _wire.KeyLike, count: int = 1
) -> List[Lease]:
    """``WORKER.ROUTE pool task-key COUNT n``: up to ``count`` live leases, best first."""
    return _wire.parse_leases(redis.execute_command("WORKER.ROUTE", pool, task_key, "COUNT", count))


def worker_info(redis: Any, pool: _wire.KeyLike) -> Dict[str, Optional[int]]:
    """``WORKER.INFO pool`` as a dict with str keys (a map under RESP3, a flat array under
    RESP2): size, grace_ms, live, quarantined, free, next_expiry, resume_wait_ms, next_token,
    grants, renewals, releases, expiries, refusals."""
    out: Dict[str, Optional[int]] = {}
    for k, v in _wire.parse_map(redis.execute_command("WORKER.INFO", pool)).items():
        out[k] = None if v is None else _wire.integer(v, f"WORKER.INFO {k}")
    return out
