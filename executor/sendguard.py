"""The last check before a request leaves for a venue: a rate-limit slot, then the funding window.

The order matters: taking a slot may wait up to ``rate_limit_max_wait``, and
that wait can carry a trading request into a funding window, so the window is
checked after the slot is taken, immediately before sending. A request that
acts takes its slot only while this worker still holds its job (the fence in
``executor.ownership``), and the write that must precede it (the job's
in-flight record) is made in that same step.
"""
from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Callable, Mapping

from config.funding import FundingSchedule
from config.ratelimits import RateLimit, limits_for
from executor import ownership
from executor.errors import FundingRejected
from executor.funding import next_window
from executor.ratelimit import RateLimiter
from executor.venues.transport import Request


class SendGuard:
    """The transport's ``before_send`` hook in a worker."""

    def __init__(self, limiter: RateLimiter, funding: Mapping[str, FundingSchedule], *, max_wait: float,
                 clock: Callable[[], datetime], env: Mapping[str, str] | None = None,
                 on_wait: Callable[[float], None] | None = None) -> None:
        self.limiter = limiter
        #: Told the seconds each request waited for its slot (``executor_rate_limit_wait_seconds``).
        self.on_wait = on_wait
        self.funding = funding
        self.max_wait = max_wait
        self.clock = clock
        self._limits = lru_cache(maxsize=None)(lambda venue, endpoint: limits_for(venue, endpoint, env))
        #: Per venue: (schedule, from, until): trading is allowed from ``from`` up to ``until`` (the next
        #: window's start), so a check inside that stretch needs no calendar (about 0.1 ms each).
        self._clear: dict[str, tuple[FundingSchedule, datetime, datetime]] = {}

    def limits(self, venue: str, endpoint: str) -> tuple[RateLimit, ...]:
        return self._limits(venue, endpoint)

    def __call__(self, venue: str, credential: str, request: Request) -> None:
        fence = ownership.current() if request.mutating else None
        write = ownership.pending_write(fence)
        try:
            waited = self.limiter.acquire(venue, credential, self.limits(venue, request.endpoint),
                                          max_wait=self.max_wait, fence=fence, write=write)
        finally:  # made with the slot, or (on any error) no request leaves
            ownership.forget_write(write)
        if self.on_wait is not None:
            self.on_wait(waited)
        if request.mutating:
            self.refuse_inside_funding(venue)

    def refuse_inside_funding(self, venue: str) -> None:
        """Raise ``FundingRejected`` (until the window's end) when ``now`` is inside a funding window."""
        schedule = self.funding.get(venue)
        if schedule is None or schedule.empty:
            return
        now = self.clock()
        clear = self._clear.get(venue)
        if clear is not None and clear[0] is schedule and clear[1] <= now < clear[2]:
            return
        window = next_window(venue, schedule, now)
        if window is None:  # only for a schedule without funding times, returned above
            return
        if window.contains(now):
            raise FundingRejected(venue, None, window.describe(), reason="funding", until=window.end)
        self._clear[venue] = (schedule, now, window.start)
