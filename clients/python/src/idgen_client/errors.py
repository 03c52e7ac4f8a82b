"""Exceptions raised by idgen_client."""

from __future__ import annotations

import re
from typing import Optional

__all__ = [
    "IdgenError",
    "LeaseLost",
    "PoolFull",
    "PoolResuming",
    "NoReplicas",
    "ClockAhead",
    "ProtocolError",
]


class IdgenError(Exception):
    """Base class of every error this package raises (server errors pass through as redis-py's)."""


class LeaseLost(IdgenError):
    """The generator can no longer prove that it holds its worker ID: it issues nothing.

    ``final`` is True when the lease is gone for good (the server answered ``LEASELOST``, or the
    generator was closed): make a new ``LeasedSnowflake``. It is False when the local deadline
    passed without a successful renewal (Redis unreachable): the renew thread keeps trying, and
    issuing resumes if a renewal succeeds while the server still holds the lease.
    """

    def __init__(self, message: str, final: bool):
        super().__init__(message)
        self.final = final


class _RetryAfter(IdgenError):
    """A refusal that names how long to wait (``retry_after_ms``, None if the text had none)."""

    def __init__(self, message: str, retry_after_ms: Optional[int] = None):
        super().__init__(message)
        self.retry_after_ms = retry_after_ms


class PoolFull(_RetryAfter):
    """``WORKER.ACQUIRE`` found no free worker ID (``POOLFULL``)."""


class PoolResuming(_RetryAfter):
    """``WORKER.ACQUIRE`` refused while the pool resumes after a load or a promotion."""


class NoReplicas(_RetryAfter):
    """``WORKER.ACQUIRE`` refused by the server's reservation fence (``NOREPLICAS``): too few
    replicas acknowledged the primary lately (``idgen.reserve-min-replicas``). Retry once they
    are back; ``retry_after_ms`` is None (the server cannot know when)."""


class ClockAhead(_RetryAfter):
    """Issuing would run further ahead of the clock (or of the lease) than allowed; retry later.

    Raised only after waiting ``max_wait_ms`` for the clock or a renewal to make room.
    """


class ProtocolError(IdgenError):
    """A reply that does not have the shape the wire contract gives it."""


_MS = re.compile(r"(\d+)\s*ms")


def retry_after_ms(message: str) -> Optional[int]:
    """The first ``N ms`` in an error text, or None."""
    m = _MS.search(message)
    return int(m.group(1)) if m else None
