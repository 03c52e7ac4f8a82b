"""Snowflake IDs generated in-process under a worker-ID lease (``WORKER.*``)."""

from __future__ import annotations

import logging
import os
import threading
import weakref
from typing import Any, List, NamedTuple, Optional, Tuple, Union

from redis.exceptions import ResponseError

from . import _wire
from .clock import SystemClock
from .errors import ClockAhead, IdgenError, LeaseLost, NoReplicas, PoolFull, PoolResuming

__all__ = ["Layout", "LeasedSnowflake", "DEFAULT_EPOCH_MS"]

log = logging.getLogger("idgen_client")

DEFAULT_EPOCH_MS = 1704067200000  # 2024-01-01T00:00:00Z, the module's default


class Layout(NamedTuple):
    """Bit layout of a snowflake ID: ``0 | time | worker | sequence``, 63 bits in all.

    ``id = (unix_ms - epoch_ms) << (worker_bits + sequence_bits) | worker << sequence_bits | seq``
    """

    time_bits: int = 41
    worker_bits: int = 10
    sequence_bits: int = 12
    epoch_ms: int = DEFAULT_EPOCH_MS

    def check(self) -> "Layout":
        t, w, s = self.time_bits, self.worker_bits, self.sequence_bits
        if t + w + s != 63:
            raise ValueError(f"layout bits must sum to 63, got {t}+{w}+{s}")
        if not (1 <= t and 0 <= w <= 20 and 1 <= s):
            raise ValueError("layout: time_bits >= 1, worker_bits 0..20, sequence_bits >= 1")
        if self.epoch_ms < 0:
            raise ValueError("epoch_ms must not be negative")
        return self

    def compose(self, unix_ms: int, worker: int, sequence: int) -> int:
        t = unix_ms - self.epoch_ms
        if not 0 <= t < (1 << self.time_bits):
            raise ValueError(f"timestamp {unix_ms} does not fit the layout's time bits")
        if not 0 <= worker < (1 << self.worker_bits):
            raise ValueError(f"worker {worker} does not fit {self.worker_bits} worker bits")
        if not 0 <= sequence < (1 << self.sequence_bits):
            raise ValueError(f"sequence {sequence} does not fit {self.sequence_bits} bits")
        return (
            (t << (self.worker_bits + self.sequence_bits))
            | (worker << self.sequence_bits)
            | sequence
        )

    def parse(self, id_: int) -> Tuple[int, int, int]:
        """``(unix_ms, worker, sequence)`` of an ID."""
        s, w = self.sequence_bits, self.worker_bits
        return (
            (id_ >> (s + w)) + self.epoch_ms,
            (id_ >> s) & ((1 << w) - 1),
            id_ & ((1 << s) - 1),
        )


_NEVER = -(1 << 100)  # a deadline that has always passed (ns)

# Live generators of this process. A forked child inherits their state but not their lease
# (the parent keeps issuing with the same worker ID): the child's copies stop at once.
_live: "weakref.WeakSet[LeasedSnowflake]" = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for g in list(_live):
        g._forked()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class LeasedSnowflake:
    """Snowflake IDs made in this process, with a worker ID leased from a ``WORKER`` pool.

    The constructor acquires a worker ID (``WORKER.ACQUIRE pool ttl_ms [HOLDER h] SIZE n``); a
    daemon thread renews the lease every ``ttl_ms / 3`` and reports the newest timestamp used
    (``LAST-TS``). IDs are made locally, under one lock, with timestamps strictly above the
    grant's not-before. The generator raises :class:`LeaseLost` instead of issuing once it cannot
    prove its lease is live: after ``LEASELOST`` from the server, or once the monotonic clock
    passes the local deadline, ``(when the last successful RENEW/ACQUIRE was sent) + ttl_ms -
    margin_ms``. ``close()`` (or leaving a ``with`` block) releases the lease.

    Clock rules, as the module's: if the clock goes back, keep counting on the last timestamp; if
    a millisecond's sequence numbers are used up, move to the next millisecond (borrow ahead). A
    timestamp is used only if it is at most ``max_borrow_ms`` ahead of the newest time known (the
    clock, or the not-before) and no later than what the lease covers (the wall-clock time of
    the local deadline, or the newest ``LAST-TS`` the server accepted). When it would be, the
    call waits up to ``max_wait_ms`` (for the clock to move, or for a renewal, which it requests
    at once) and then raises :class:`ClockAhead`.

    ``redis`` is a redis-py client, or a callable returning the client to use now (to follow a
    failover). ``size`` (default ``2**worker_bits``) is the pool's SIZE, passed on every
    acquire: the server refuses it if the pool was created with another size. ``grace_ms`` is
    passed as GRACE when given. ``acquire_timeout_ms`` keeps retrying a ``POOLFULL``,
    ``POOLRESUMING`` or ``NOREPLICAS`` refusal for that long.
    """

    def __init__(
        self,
        redis: Any,
        pool: _wire.KeyLike,
        ttl_ms: int,
        holder: Optional[_wire.KeyLike] = None,
        layout: Union[Layout, Tuple[int, int, int]] = (41, 10, 12),
        epoch_ms: int = DEFAULT_EPOCH_MS,
        margin_ms: Optional[int] = None,
        *,
        size: Optional[int] = None,
        grace_ms: Optional[int] = None,
        max_borrow_ms: int = 1000,
        max_wait_ms: int = 1000,
        acquire_timeout_ms: int = 0,
        clock: Any = None,
        renew: bool = True,
    ):
        if isinstance(layout, Layout):
            self.layout = layout.check()
        else:
            self.layout = Layout(*layout, epoch_ms=epoch_ms).check()
        if not 1000 <= ttl_ms <= 86_400_000:
            raise ValueError("ttl_ms must be in 1000..86400000 (the server's bounds)")
        if margin_ms is None:
            margin_ms = max(50, ttl_ms // 10)
        if not 0 <= margin_ms < ttl_ms * 2 // 3:
            raise ValueError("margin_ms must be in 0..2/3 of ttl_ms (renewals come every ttl/3)")
        cap = 1 << self.layout.worker_bits
        if size is None:
            size = min(cap, 1 << 20)
        if not 1 <= size <= cap:
            raise ValueError(f"size {size} does not fit {self.layout.worker_bits} worker bits")
        self.pool = pool
        self.ttl_ms = ttl_ms
        self.holder = holder
        self.margin_ms = margin_ms
        self.size = size
        self.grace_ms = grace_ms
        self.max_borrow_ms = max_borrow_ms
        self.max_wait_ms = max_wait_ms
        self._client = _wire.client_getter(redis)
        self._clock = clock or SystemClock()
        self._mono = self._clock.monotonic_ns  # deadlines in integer ns
        self._wall = self._clock.time_ms
        self._wall_ns = self._clock.time_ns

        lay = self.layout
        self._seq_bits = lay.sequence_bits
        self._seq_max = (1 << lay.sequence_bits) - 1
        self._ts_shift = lay.worker_bits + lay.sequence_bits
        self._ts_limit = lay.epoch_ms + (1 << lay.time_bits)  # first unix ms that does not fit
        self._epoch = lay.epoch_ms

        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._renew_now = threading.Event()
        self._lost: Optional[LeaseLost] = None
        self._closed = False
        self.renewals = 0
        self.renew_failures = 0

        grant, sent_mono, sent_wall = self._acquire(acquire_timeout_ms)
        self.worker_id = grant.id
        self.token = grant.token
        self.not_before_ms = grant.not_before_ms
        self.expires_at_ms = grant.expires_at_ms
        if not 0 <= grant.id < cap:
            # A pool created by someone else with a larger SIZE would have refused ours; this
            # only guards against a server that does not follow the contract.
            raise IdgenError(f"granted worker ID {grant.id} does not fit the layout")
        if holder is not None:
            # The same HOLDER asking again while its lease lives gets the same ID and token:
            # two generators on one lease would issue the same IDs. Caught within a process;
            # across processes, holder names must be unique.
            for other in list(_live):
                if (
                    other.worker_id == grant.id
                    and other.token == grant.token
                    and other.holder == holder
                    and _wire.to_bytes(other.pool) == _wire.to_bytes(pool)
                    and other._lost is None
                ):
                    raise IdgenError(
                        f"holder {holder!r} already has a live LeasedSnowflake on worker ID "
                        f"{grant.id} of {pool!r} in this process: holder names must be unique"
                    )

        # Kept: the grant is the live lease this holder already had (same ID and token). Its
        # not-before does not cover what an earlier incarnation issued since its last LAST-TS,
        # which can be anything up to that lease's expiry: start above the expiry. (The first
        # IDs then wait, up to about margin_ms, until the new lease covers them.)
        prev = self._previous
        self.kept = prev is not None and (prev.id, prev.token) == (grant.id, grant.token)
        floor = grant.not_before_ms
        if self.kept and prev.expires_at_ms > floor:  # type: ignore[union-attr]
            floor = prev.expires_at_ms  # type: ignore[union-attr]

        # Generator state, guarded by _lock. _ts is the millisecond in use (unix ms); _seq the
        # next sequence number in it. It starts at the floor with no sequence left, so the
        # first ID is strictly above it.
        self._floor = floor
        self._ts = floor
        self._seq = self._seq_max + 1
        self._ts_end_ns = (self._ts + 1) * 1_000_000  # wall time_ns below it: still in _ts
        self._base = 0
        self._last_ts: Optional[int] = None  # newest timestamp used
        self._newest_wall = sent_wall
        self._reported = grant.not_before_ms  # newest timestamp the server knows we may use
        self._deadline = sent_mono + (ttl_ms - margin_ms) * 1_000_000
        self._deadline_wall = sent_wall + ttl_ms - margin_ms
        self._next_renew = sent_mono + ttl_ms * 1_000_000 // 3

        self._thread: Optional[threading.Thread] = None
        _live.add(self)
        if renew:
            self._thread = threading.Thread(
                target=self._renew_loop, name=f"idgen-renew-{grant.id}", daemon=True
            )
            self._thread.start()

    # ---- acquire / renew / release ------------------------------------------------------------

    def _acquire(self, timeout_ms: int):
        args: List[Any] = ["WORKER.ACQUIRE", self.pool, self.ttl_ms]
        if self.holder is not None:
            args += ["HOLDER", self.holder]
        args += ["SIZE", self.size]
        if self.grace_ms is not None:
            args += ["GRACE", self.grace_ms]
        give_up = self._mono() + timeout_ms * 1_000_000
        while True:
            # A named holder whose lease is still live gets it back as it is: same ID, same
            # token. That may be a restarted process whose previous incarnation issued IDs after
            # its last report, up to that lease's expiry: look at the lease first.
            self._previous: Optional[_wire.Lease] = None
            if self.holder is not None:
                me = _wire.to_bytes(self.holder)
                for lease in _wire.parse_leases(
                    self._client().execute_command("WORKER.LIST", self.pool)
                ):
                    if lease.holder == me:
                        self._previous = lease
            sent_mono, sent_wall = self._mono(), self._wall()
            try:
                reply = self._client().execute_command(*args)
            except ResponseError as e:
                err = _wire.translate_acquire_error(e)
                if isinstance(err, (PoolFull, PoolResuming, NoReplicas)):
                    left = (give_up - self._mono()) / 1e9
                    if left > 0:
                        # A release frees an ID at once, unannounced: look again within 1 s.
                        wait = min((err.retry_after_ms or 100) / 1000.0, 1.0)
                        self._clock.sleep(min(max(wait, 0.01), left))
                        continue
                raise err from e
            return _wire.parse_grant(reply), sent_mono, sent_wall

    def renew(self) -> bool:
        """Renew the lease now (the background thread calls this). Returns True on success,
        False when Redis could not be reached or refused for another reason (the deadline is
        unchanged); raises :class:`LeaseLost` when the lease is gone."""
        with self._lock:
            if self._lost is not None:
                raise self._lost
            last = self._last_ts
        args: List[Any] = ["WORKER.RENEW", self.pool, self.worker_id, self.token, self.ttl_ms]
        if last is not None:
            args += ["LAST-TS", last]
        sent_mono, sent_wall = self._mono(), self._wall()
        try:
            reply = self._client().execute_command(*args)
            expires, nb = _wire.parse_renew(reply)
        except ResponseError as e:
            if _wire.is_lease_lost(e):
                lost = _wire.lease_lost_from(e)
                with self._lock:
                    if self._lost is None:
                        self._lost = lost
                        self._deadline = _NEVER
                raise lost from e
            self.renew_failures += 1
            log.warning("idgen: WORKER.RENEW %r id %s failed: %s", self.pool, self.worker_id, e)
            return False
        except Exception as e:  # connection errors, timeouts, a failover in progress
            self.renew_failures += 1
            log.warning("idgen: WORKER.RENEW %r id %s failed: %s", self.pool, self.worker_id, e)
            return False
        with self._lock:
            if self._lost is not None:
                raise self._lost
            self.renewals += 1
            self.expires_at_ms = expires
            self._deadline = max(
                self._deadline, sent_mono + (self.ttl_ms - self.margin_ms) * 1_000_000
            )
            self._deadline_wall = max(self._deadline_wall, sent_wall + self.ttl_ms - self.margin_ms)
            if last is not None and last > self._reported:
                self._reported = last
            if nb > self._floor and (last is None or nb > last):
                # The server knows of a timestamp above ours that an earlier holder may have
                # used: move above it.
                self._floor = nb
                if self._ts <= nb:
                    self._ts = nb
                    self._ts_end_ns = (nb + 1) * 1_000_000
                    self._seq = self._seq_max + 1
            self._next_renew = sent_mono + self.ttl_ms * 1_000_000 // 3
        return True

    def _renew_loop(self) -> None:
        # After a failure, and between renewals that a waiting next_id() asks for, wait `gap`.
        gap = max(20, min(self.ttl_ms // 10, 500)) * 1_000_000
        next_at = self._next_renew
        last_sent = _NEVER
        while not self._stop.is_set():
            wait = next_at - self._mono()
            if wait > 0 and self._renew_now.wait(wait / 1e9):
                early = last_sent + gap - self._mono()
                if early > 0 and self._stop.wait(early / 1e9):
                    return
            if self._stop.is_set():
                return
            self._renew_now.clear()
            last_sent = self._mono()
            try:
                ok = self.renew()
            except LeaseLost as e:
                if not self._closed:
                    log.error("idgen: worker ID %s of %r lost: %s", self.worker_id, self.pool, e)
                return
            next_at = self._next_renew if ok else self._mono() + gap

    def close(self) -> None:
        """Stop issuing, stop renewing and release the worker ID (reporting ``LAST-TS``).
        Safe to call twice. Errors from the release are logged, not raised: the lease then
        simply expires."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            was_lost = self._lost is not None
            if not was_lost:
                self._lost = LeaseLost("generator closed", final=True)
            self._deadline = _NEVER
            last = self._last_ts
        self._stop.set()
        self._renew_now.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        if was_lost:
            return
        args: List[Any] = ["WORKER.RELEASE", self.pool, self.worker_id, self.token]
        if last is not None:
            args += ["LAST-TS", last]
        try:
            self._client().execute_command(*args)
        except Exception as e:
            log.warning("idgen: WORKER.RELEASE %r id %s failed: %s", self.pool, self.worker_id, e)

    def _forked(self) -> None:
        """In a forked child: this copy holds no lease (the parent does). Never issue."""
        self._lock = threading.Lock()  # another thread may have held it at the fork
        if self._lost is None:
            self._lost = LeaseLost(
                "this process was forked: the lease belongs to the parent process; "
                "create a new LeasedSnowflake in the child",
                final=True,
            )
        self._deadline = _NEVER
        self._closed = True  # close() here must not release the parent's lease
        self._thread = None

    def __enter__(self) -> "LeasedSnowflake":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ---- state -----------------------------------------------------------------------------

    @property
    def last_ts(self) -> Optional[int]:
        """The newest timestamp (unix ms) used in an ID, or None."""
        return self._last_ts

    @property
    def deadline_ns(self) -> int:
        """Local deadline on the clock's ``monotonic_ns`` scale (in the past once lost/closed)."""
        return self._deadline

    @property
    def lost(self) -> Optional[LeaseLost]:
        """Why the generator stopped for good (LEASELOST, closed, forked), or None."""
        return self._lost

    def live(self) -> bool:
        """True while the generator can prove its lease (it would issue now)."""
        return self._mono() < self._deadline

    def parse(self, id_: int) -> Tuple[int, int, int]:
        """``(unix_ms, worker, sequence)`` of an ID."""
        return self.layout.parse(id_)

    def _raise_lost(self) -> None:
        if self._lost is not None:
            raise self._lost
        self._renew_now.set()
        raise LeaseLost(
            "local lease deadline passed without a successful WORKER.RENEW; not issuing",
            final=False,
        )

    # ---- issuing ---------------------------------------------------------------------------

    def _ceiling(self) -> int:
        """Newest timestamp this generator may use now (lock held)."""
        known = self._newest_wall if self._newest_wall > self._floor else self._floor + 1
        lease = self._deadline_wall if self._deadline_wall > self._reported else self._reported
        by_clock = known + self.max_borrow_ms
        return by_clock if by_clock < lease else lease

    def _move(self, now: int) -> bool:
        """Move to the next usable millisecond (lock held). False if none is allowed yet."""
        if now > self._newest_wall:
            self._newest_wall = now
        ts = now if now > self._ts else self._ts + 1
        if ts > self._ceiling():
            if ts > self._deadline_wall:
                self._renew_now.set()
            return False
        if ts >= self._ts_limit:
            raise IdgenError("time bits exhausted: the layout cannot hold the current timestamp")
        if ts < self._epoch:
            raise IdgenError("clock before the layout's epoch")
        self._ts = ts
        self._ts_end_ns = (ts + 1) * 1_000_000
        self._seq = 0
        self._base = ((ts - self._epoch) << self._ts_shift) | (self.worker_id << self._seq_bits)
        self._last_ts = ts
        return True

    def _wait(self, started: Optional[int]) -> int:
        """Wait (lock not held) for the clock or a renewal; raise ClockAhead after max_wait_ms."""
        now = self._mono()
        if started is None:
            started = now
        elif now - started >= self.max_wait_ms * 1_000_000:
            raise ClockAhead(
                f"cannot issue within max_borrow_ms ({self.max_borrow_ms}) of the clock and the "
                f"lease's deadline; waited {self.max_wait_ms} ms",
                None,
            )
        self._clock.sleep(0.0005)
        return started

    def next_id(self) -> int:
        """One ID. Raises :class:`LeaseLost` or :class:`ClockAhead` instead of risking a repeat."""
        with self._lock:
            # Fast path: the lease is provably live, the clock is still in (or behind) the
            # millisecond in use, and it has sequence numbers left.
            if self._mono() < self._deadline and self._wall_ns() < self._ts_end_ns:
                s = self._seq
                if s <= self._seq_max:
                    self._seq = s + 1
                    return self._base + s
        return self._next_id_slow()

    def _next_id_slow(self) -> int:
        started = None
        while True:
            with self._lock:
                if self._mono() >= self._deadline:
                    self._raise_lost()
                now = self._wall()
                s = self._seq
                if now <= self._ts and s <= self._seq_max:
                    self._seq = s + 1
                    return self._base + s
                if self._move(now):
                    self._seq = 1
                    return self._base
            started = self._wait(started)

    def next_ids(self, n: int) -> List[int]:
        """``n`` IDs in increasing order, made under one lock acquisition (unless the
        generator has to wait for the clock). Much faster per ID than :meth:`next_id`."""
        out: List[int] = []
        if n <= 0:
            return out
        started = None
        seq_end = self._seq_max + 1
        while True:
            with self._lock:
                if self._mono() >= self._deadline:
                    self._raise_lost()
                now = self._wall()
                if now > self._ts:
                    if not self._move(now):
                        now = -1  # wait
                while now >= 0:
                    s = self._seq
                    if s < seq_end:
                        k = n - len(out)
                        if k > seq_end - s:
                            k = seq_end - s
                        b = self._base + s
                        out.extend(range(b, b + k))
                        self._seq = s + k
                        if len(out) == n:
                            return out
                    if not self._move(now):
                        break
            started = self._wait(started)
