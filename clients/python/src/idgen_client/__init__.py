"""Python client for the idgen Redis module.

- :class:`LeasedSnowflake`: snowflake IDs made in-process under a worker-ID lease (WORKER.*).
- :class:`SegmentSequence`: values of a SEQ key served in-process from SEQ.NEXTBATCH segments.
- :class:`TaskRouter`: the owner of a task key among live workers, computed locally.
- :func:`route_weight`, :func:`route_ids`: the fixed rendezvous hash of WORKER.ROUTE.
- :func:`worker_list`, :func:`worker_route`, :func:`worker_info`: the pool commands, normalised.
"""

from ._wire import Grant, Lease
from .clock import ManualClock, SystemClock
from .errors import (
    ClockAhead,
    IdgenError,
    LeaseLost,
    NoReplicas,
    PoolFull,
    PoolResuming,
    ProtocolError,
)
from .pool import worker_info, worker_list, worker_route
from .route import route_ids, route_weight
from .router import TaskRouter
from .segment import SegmentSequence
from .snowflake import DEFAULT_EPOCH_MS, Layout, LeasedSnowflake

__all__ = [
    "LeasedSnowflake",
    "SegmentSequence",
    "TaskRouter",
    "Layout",
    "DEFAULT_EPOCH_MS",
    "Grant",
    "Lease",
    "worker_list",
    "worker_route",
    "worker_info",
    "route_weight",
    "route_ids",
    "SystemClock",
    "ManualClock",
    "IdgenError",
    "LeaseLost",
    "PoolFull",
    "PoolResuming",
    "NoReplicas",
    "ClockAhead",
    "ProtocolError",
]

# The only place the version is written; pyproject.toml reads it (setuptools dynamic version).
__version__ = "0.1.0"
