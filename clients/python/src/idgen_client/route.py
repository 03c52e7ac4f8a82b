"""The fixed rendezvous hash of ``WORKER.ROUTE`` (it never changes between versions), specified
once for every language in the module's ``docs/worker-pools.md`` ("The route hash"); its
known-answer vectors are in ``fixtures/vectors.json``, which this package's tests read."""

from __future__ import annotations

import heapq
from typing import Iterable, List

from ._wire import KeyLike, to_bytes

__all__ = ["route_weight", "route_ids"]

_M = (1 << 64) - 1
_OFFSET = 0xCBF29CE484222325
_PRIME = 0x100000001B3


def _fnv1a(h: int, data: bytes) -> int:
    for b in data:
        h = ((h ^ b) * _PRIME) & _M
    return h


def _finalize(z: int) -> int:
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M
    return z ^ (z >> 31)


def _prefix(task_key: KeyLike) -> int:
    """FNV-1a state after ``task_key || 0x00``, shared by every worker's weight."""
    return _fnv1a(_fnv1a(_OFFSET, to_bytes(task_key)), b"\x00")


def route_weight(task_key: KeyLike, worker_id: int) -> int:
    """The rendezvous weight of ``worker_id`` for ``task_key`` (str is hashed as UTF-8)."""
    if worker_id < 0:
        raise ValueError("worker IDs are non-negative")
    return _finalize(_fnv1a(_prefix(task_key), str(worker_id).encode("ascii")))


def route_ids(task_key: KeyLike, worker_ids: Iterable[int], count: int = 1) -> List[int]:
    """The first ``count`` of ``worker_ids`` ranked for ``task_key``, best first."""
    if count <= 0:
        return []
    p = _prefix(task_key)
    ranked = heapq.nlargest(
        count, ((_finalize(_fnv1a(p, str(w).encode("ascii"))), w) for w in set(worker_ids))
    )
    return [w for _, w in ranked]
