"""Values of a ``SEQ`` key served in-process from ``SEQ.NEXTBATCH`` segments."""

from __future__ import annotations

import logging
import os
import threading
import weakref
from typing import Any, List, Optional, Tuple

from . import _wire
from .clock import SystemClock
from .errors import IdgenError

__all__ = ["SegmentSequence"]

log = logging.getLogger("idgen_client")

# A forked child must not hand out the values of the parent's segments: its copies drop them.
_live: "weakref.WeakSet[SegmentSequence]" = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for s in list(_live):
        s._forked()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class SegmentSequence:
    """Values of the sequence at ``key``, handed out from memory.

    ``SEQ.NEXTBATCH key count`` reserves ``count`` consecutive values (``[first, last]``); they
    are served locally under one lock. When ``prefetch_at`` (80%) of the current segment is
    used, a daemon thread fetches the next one, so a busy caller rarely waits on the network
    (a double buffer, as in Meituan Leaf's segment mode). The segment size follows the rate:
    a segment that lasted less than ``target_ms`` doubles the next request, one that lasted more
    than 4 x ``target_ms`` halves it, always within ``min_segment..max_segment``.

    Values of one instance increase in the order handed out (for a sequence without CYCLE) and
    never repeat; instances sharing a key get disjoint segments. Values of a segment that is not
    used up (the process stops) are skipped for good, as with any ``SEQ.NEXTBATCH``. The
    sequence's INCREMENT is honoured (derived from each segment's first and last value).

    ``redis`` is a redis-py client or a callable returning the client to use now.
    """

    def __init__(
        self,
        redis: Any,
        key: _wire.KeyLike,
        segment: int = 1000,
        *,
        min_segment: int = 100,
        max_segment: int = 1 << 22,
        target_ms: int = 1000,
        prefetch_at: float = 0.8,
        clock: Any = None,
        wait_timeout_s: float = 10.0,
    ):
        if not 1 <= min_segment <= segment <= max_segment:
            raise ValueError("need 1 <= min_segment <= segment <= max_segment")
        if not 0.0 < prefetch_at <= 1.0:
            raise ValueError("prefetch_at must be in (0, 1]")
        self.key = key
        self.segment = segment  # size of the next request
        self.min_segment = min_segment
        self.max_segment = max_segment
        self.target_ms = target_ms
        self.prefetch_at = prefetch_at
        self.wait_timeout_s = wait_timeout_s
        self._client = _wire.client_getter(redis)
        self._clock = clock or SystemClock()

        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        # Current segment: values _pos, _pos + _step, ... below _stop. _trigger: the value at
        # which the next segment is asked for (at most _stop).
        self._pos = 0
        self._stop = 0
        self._step = 1
        self._trigger = 0
        self._started = 0.0  # monotonic time the current segment was installed
        self._size = 0  # values in the current segment
        self._next: Optional[Tuple[int, int, int]] = None  # (first, step, count)
        self._fetching = False
        self._error: Optional[BaseException] = None
        self._closed = False
        self._want = threading.Event()
        self.fetches = 0
        self.waits = 0  # times a caller found both buffers empty and waited
        self._thread: Optional[threading.Thread] = None
        self._start_fetcher()
        _live.add(self)

    def _start_fetcher(self) -> None:
        self._thread = threading.Thread(target=self._run, name="idgen-segment", daemon=True)
        self._thread.start()

    def _forked(self) -> None:
        """In a forked child: drop the parent's segments; fetch our own (thread restarted)."""
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._want = threading.Event()
        self._pos = self._stop = self._trigger = 0
        self._size = 0
        self._next = None
        self._fetching = False
        self._error = None
        self._thread = None

    # ---- fetching ---------------------------------------------------------------------------

    def _request(self) -> None:
        """Ask the fetcher for the next segment (lock held)."""
        self._fetching = True
        self._trigger = self._stop
        if self._thread is None:
            self._start_fetcher()
        self._want.set()

    def _prefetch(self) -> None:
        """The current segment passed its trigger (lock held)."""
        self._trigger = self._stop
        if not self._fetching and self._next is None:
            self._request()

    def _plan(self) -> int:
        """Size of the next request, from how long the current segment lasts (lock held)."""
        if self._size:
            used = 1.0 - (self._stop - self._pos) / (self._step * self._size)
            elapsed_ms = (self._clock.monotonic() - self._started) * 1000.0
            if used > 0:
                lasts_ms = elapsed_ms / used
                if lasts_ms < self.target_ms:
                    self.segment = min(self.segment * 2, self.max_segment)
                elif lasts_ms > 4 * self.target_ms:
                    self.segment = max(self.segment // 2, self.min_segment)
        return self.segment

    def _fetch(self, count: int) -> Tuple[int, int, int]:
        reply = self._client().execute_command("SEQ.NEXTBATCH", self.key, count)
        first, last = (
            _wire.integer(x, "SEQ.NEXTBATCH") for x in _wire.array(reply, 2, "SEQ.NEXTBATCH")
        )
        if count == 1:
            if first != last:
                raise IdgenError(f"SEQ.NEXTBATCH 1 returned {first}..{last}")
            return first, 1, 1
        span = last - first
        if span <= 0 or span % (count - 1):
            raise IdgenError(f"SEQ.NEXTBATCH {count} returned an unexpected range {first}..{last}")
        return first, span // (count - 1), count

    def _run(self) -> None:
        while True:
            self._want.wait()
            self._want.clear()
            with self._lock:
                if self._closed:
                    return
                count = self._plan()
            try:
                seg = self._fetch(count)
            except Exception as e:  # handed to the caller that waits for this segment
                log.warning("idgen: SEQ.NEXTBATCH %r %d failed: %s", self.key, count, e)
                with self._lock:
                    self._error = e
                    self._fetching = False
                    self._cond.notify_all()
                continue
            with self._lock:
                self.fetches += 1
                self._next = seg
                self._fetching = False
                self._cond.notify_all()

    def _install(self) -> None:
        """Make the prefetched segment current (lock held)."""
        first, step, count = self._next  # type: ignore[misc]
        self._next = None
        self._pos = first
        self._step = step
        self._stop = first + step * count
        self._size = count
        # Taking the value at index `used - 1` (the one that makes prefetch_at of the segment
        # used) goes through the slow path, which asks for the next segment.
        used = int(count * self.prefetch_at)
        self._trigger = first + step * min(max(used - 1, 0), count - 1)
        self._started = self._clock.monotonic()

    def _refill(self) -> None:
        """Current segment used up: install the next one, waiting for it if needed (lock held)."""
        while self._pos >= self._stop:
            if self._closed:
                raise IdgenError("SegmentSequence closed")
            if self._next is not None:
                self._install()
                return
            if self._error is not None:
                e, self._error = self._error, None
                raise e
            if not self._fetching:
                self._request()
            self.waits += 1
            if not self._cond.wait(self.wait_timeout_s) and self._next is None:
                raise IdgenError(f"no segment of {self.key!r} after {self.wait_timeout_s} s")

    # ---- issuing ---------------------------------------------------------------------------

    def next_value(self) -> int:
        """The next value."""
        with self._lock:
            v = self._pos
            if v < self._trigger:
                self._pos = v + self._step
                return v
            if v >= self._stop:
                self._refill()
                v = self._pos
            self._pos = v + self._step
            if self._pos >= self._trigger:
                self._prefetch()
            return v

    def next_values(self, n: int) -> List[int]:
        """``n`` values, in the order handed out, under one lock acquisition."""
        out: List[int] = []
        with self._lock:
            while n > 0:
                if self._pos >= self._stop:
                    self._refill()
                pos, step = self._pos, self._step
                k = (self._stop - pos) // step
                if k > n:
                    k = n
                end = pos + k * step
                out.extend(range(pos, end, step))
                self._pos = end
                n -= k
                if end >= self._trigger:
                    self._prefetch()
        return out

    def close(self) -> None:
        """Stop the fetcher thread. Values not handed out are skipped (never reissued)."""
        with self._lock:
            self._closed = True
            self._cond.notify_all()
        self._want.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> "SegmentSequence":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
