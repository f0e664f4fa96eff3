"""Sliding-window rate limits, enforced live and measured after the fact.

A request is admitted when fewer than ``count`` admitted requests of the same
scope (venue, account, endpoint) fall in the window ``(now - period, now]``.
Rejected requests do not use quota. ``max_in_window`` applies the same window
to a list of times, so a benchmark can prove a client never exceeded a limit.
"""
from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from typing import Hashable, Iterable


@dataclass(frozen=True)
class RateLimit:
    """At most ``count`` requests in any window of ``period_s`` seconds."""

    count: int
    period_s: float = 1.0

    def to_dict(self) -> dict[str, float | int]:
        return {"limit": self.count, "period_s": self.period_s}


class SlidingWindowLimiter:
    """Per-scope windows of admitted request times, on the simulator clock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._windows: dict[Hashable, deque[float]] = {}

    def admit(self, scope: Hashable, limit: RateLimit, now: float) -> bool:
        """Record and admit a request at ``now``, or refuse it without recording."""
        with self._lock:
            window = self._windows.setdefault(scope, deque())
            horizon = now - limit.period_s
            while window and window[0] <= horizon:
                window.popleft()
            if len(window) >= limit.count:
                return False
            window.append(now)
            return True

    def clear(self) -> None:
        with self._lock:
            self._windows.clear()


def max_in_window(times: Iterable[float], period_s: float) -> int:
    """The largest number of the given times inside any window ``(t - period, t]``."""
    ordered = sorted(times)
    best = 0
    start = 0
    for end, moment in enumerate(ordered):
        while ordered[start] <= moment - period_s:
            start += 1
        best = max(best, end - start + 1)
    return best
