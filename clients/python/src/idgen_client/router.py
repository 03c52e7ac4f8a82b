"""Task routing over the live leases of a ``WORKER`` pool, computed locally."""

from __future__ import annotations

import heapq
import logging
import os
import threading
import weakref
from typing import Any, Dict, List, Optional

from . import _wire
from ._wire import Lease
from .clock import SystemClock
from .route import _finalize, _fnv1a, _prefix

__all__ = ["TaskRouter"]

log = logging.getLogger("idgen_client")

# Threads do not survive a fork: a child's routers restart theirs at their next use.
_live: "weakref.WeakSet[TaskRouter]" = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for r in list(_live):
        r._forked()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class TaskRouter:
    """The owner(s) of a task key among the live leases of ``pool``, as ``WORKER.ROUTE`` says,
    computed in this process from a cached ``WORKER.LIST``.

    The cache is refreshed:

    - on keyspace events of the pool key (``idgen.worker.acquire``, ``.renew``, ``.release``,
      ``.expire``), when ``events`` is on. The server must publish them:
      ``CONFIG SET notify-keyspace-events Kd`` (``K``: keyspace channel, ``d``: module events;
      add them to what is already set). Bursts are coalesced: at most one refresh per
      ``min_refresh_ms``;
    - every ``refresh_ms`` whatever happens (the fallback when events are off or missed);
    - when the earliest known lease expires (judged by the server's clock, from the offset
      measured with ``TIME`` at each refresh), since an expiry is only announced once something
      touches the pool.

    Leases whose expiry has passed by that estimate are left out, as the server leaves them out.
    ``route()`` never touches the network. ``db`` is the database of the pool key (read from the
    client's connection settings by default). ``redis`` is a redis-py client or a callable
    returning the client to use now.
    """

    def __init__(
        self,
        redis: Any,
        pool: _wire.KeyLike,
        *,
        db: Optional[int] = None,
        events: bool = True,
        refresh_ms: int = 1000,
        min_refresh_ms: int = 20,
        clock: Any = None,
    ):
        self.pool = pool
        self._pool_b = _wire.to_bytes(pool)
        self._client = _wire.client_getter(redis)
        self._clock = clock or SystemClock()
        if db is None:
            try:
                db = int(self._client().connection_pool.connection_kwargs.get("db", 0))
            except Exception:
                db = 0
        self.db = db
        self.channel = b"__keyspace@%d__:" % db + self._pool_b
        self.refresh_ms = refresh_ms
        self.min_refresh_ms = min_refresh_ms
        self.events = events
        self.refreshes = 0
        self.events_seen = 0

        self._lock = threading.Lock()
        self._leases: List[Lease] = []
        self._digits: Dict[int, bytes] = {}
        self._offset_ms = 0  # server clock minus local clock
        self._dirty = threading.Event()
        self._stop = threading.Event()
        self._last_refresh = float("-inf")
        self._restart = False
        self._pubsub: Any = None
        self._threads: List[threading.Thread] = []
        self.refresh()
        self._start_background()
        _live.add(self)

    def _start_background(self) -> None:
        if self.events:
            self._pubsub = self._client().pubsub(ignore_subscribe_messages=True)
            self._pubsub.subscribe(self.channel)
            # Anything that changed between the first LIST and the subscription.
            self.refresh()
        self._threads = [
            threading.Thread(target=self._timer_loop, name="idgen-router", daemon=True)
        ]
        if self._pubsub is not None:
            self._threads.append(
                threading.Thread(target=self._event_loop, name="idgen-router-events", daemon=True)
            )
        for t in self._threads:
            t.start()

    def _forked(self) -> None:
        self._lock = threading.Lock()
        self._dirty = threading.Event()
        self._stop = threading.Event()
        self._pubsub = None  # the parent's subscription: not ours to use
        self._threads = []
        self._restart = True

    # ---- cache -----------------------------------------------------------------------------

    def refresh(self) -> List[Lease]:
        """Read ``WORKER.LIST`` (and ``TIME``) now; returns the live leases."""
        client = self._client()
        pipe = client.pipeline(transaction=False)
        pipe.execute_command("WORKER.LIST", self.pool)
        pipe.execute_command("TIME")
        before = self._clock.time_ms()
        listed, server_time = pipe.execute()
        after = self._clock.time_ms()
        leases = _wire.parse_leases(listed)
        secs, usecs = (int(x) for x in server_time)
        offset = secs * 1000 + usecs // 1000 - (before + after) // 2
        with self._lock:
            self._leases = leases
            self._digits = {lease.id: str(lease.id).encode("ascii") for lease in leases}
            self._offset_ms = offset
            self._last_refresh = self._clock.monotonic()
            self.refreshes += 1
        return leases

    def _live(self) -> List[Lease]:
        now = self._clock.time_ms() + self._offset_ms
        return [lease for lease in self._leases if lease.expires_at_ms > now]

    @property
    def leases(self) -> List[Lease]:
        """The live leases as last read (expired ones left out)."""
        with self._lock:
            return self._live()

    def route(self, task_key: _wire.KeyLike, count: int = 1) -> List[Lease]:
        """Up to ``count`` live leases for ``task_key``, best first (as ``WORKER.ROUTE``)."""
        if count <= 0:
            return []
        if self._restart:  # first use in a forked child
            self._restart = False
            self.refresh()
            self._start_background()
        p = _prefix(task_key)
        with self._lock:
            live = self._live()
            digits = self._digits
        # (weight, id) is unique per lease: ties on weight go to the higher ID.
        ranked = heapq.nlargest(
            count, ((_finalize(_fnv1a(p, digits[lease.id])), lease.id, lease) for lease in live)
        )
        return [lease for _, _, lease in ranked]

    def owner(self, task_key: _wire.KeyLike) -> Optional[Lease]:
        """The lease responsible for ``task_key``, or None when no lease is live."""
        r = self.route(task_key, 1)
        return r[0] if r else None

    # ---- background ------------------------------------------------------------------------

    def _event_loop(self) -> None:
        while not self._stop.is_set():
            try:
                msg = self._pubsub.get_message(timeout=0.2)  # type: ignore[union-attr]
            except Exception as e:
                if self._stop.is_set():
                    return
                log.warning("idgen: router subscription error: %s", e)
                self._dirty.set()  # events may have been missed
                self._stop.wait(0.2)
                continue
            if msg and msg.get("type") in ("message", "pmessage"):
                self.events_seen += 1
                self._dirty.set()

    def _timer_loop(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                since = (self._clock.monotonic() - self._last_refresh) * 1000.0
                due = self.refresh_ms - since
                now = self._clock.time_ms() + self._offset_ms
                for lease in self._leases:
                    if now < lease.expires_at_ms and lease.expires_at_ms - now + 1 < due:
                        due = lease.expires_at_ms - now + 1
            dirty = self._dirty.is_set()
            if dirty:
                due = min(due, self.min_refresh_ms - since)
            if due > 0:
                if dirty:  # coalesce a burst of events
                    self._stop.wait(due / 1000.0)
                else:
                    self._dirty.wait(due / 1000.0)
                continue
            self._dirty.clear()
            try:
                self.refresh()
            except Exception as e:
                log.warning("idgen: router refresh failed: %s", e)
                self._stop.wait(min(self.refresh_ms, 200) / 1000.0)

    def close(self) -> None:
        self._stop.set()
        self._dirty.set()
        for t in self._threads:
            t.join(timeout=5)
        if self._pubsub is not None:
            try:
                self._pubsub.close()
            except Exception:
                pass

    def __enter__(self) -> "TaskRouter":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
