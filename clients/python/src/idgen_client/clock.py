"""Clocks. Every class that reads time takes a ``clock`` so tests can drive it."""

from __future__ import annotations

import threading
import time

__all__ = ["SystemClock", "ManualClock"]


class SystemClock:
    """The system clocks: ``monotonic()`` (s) and ``monotonic_ns()`` for deadlines, ``time_ms()``
    and ``time_ns()`` (unix time) for timestamps."""

    monotonic = staticmethod(time.monotonic)
    monotonic_ns = staticmethod(time.monotonic_ns)
    time_ns = staticmethod(time.time_ns)

    @staticmethod
    def time_ms() -> int:
        return time.time_ns() // 1_000_000

    @staticmethod
    def sleep(seconds: float) -> None:
        time.sleep(seconds)


class ManualClock:
    """A clock that moves only when told (tests). ``sleep`` advances it instead of waiting."""

    def __init__(self, wall_ms: int = 1_800_000_000_000, mono: float = 1000.0):
        self._wall = wall_ms
        self._mono_ns = int(mono * 1e9)
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        return self._mono_ns / 1e9

    def monotonic_ns(self) -> int:
        return self._mono_ns

    def time_ms(self) -> int:
        return self._wall

    def time_ns(self) -> int:
        return self._wall * 1_000_000

    def advance(self, ms: float, wall: bool = True) -> None:
        """Move both clocks on by ``ms`` (only the monotonic one with ``wall=False``)."""
        with self._lock:
            self._mono_ns += int(ms * 1_000_000)
            if wall:
                self._wall += int(ms)

    def set_wall(self, wall_ms: int) -> None:
        """Step the wall clock (forwards or backwards); the monotonic clock is unaffected."""
        self._wall = wall_ms

    def sleep(self, seconds: float) -> None:
        self.advance(max(seconds, 0.001) * 1000.0)
