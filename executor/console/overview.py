"""``GET /status``: what the console's health panel shows, in one read.

Live workers, queue depth and the oldest waiting job come from ``executor.health`` (what ``/healthz`` says);
deferred jobs are counted by the reason their view gives (funding, rate limit, backoff, their turn in a
lane); the next funding window of each venue that has a schedule comes from ``executor.funding``; the
rate-limit windows of each venue credential from ``executor.ratelimituse``.
"""
from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any, Mapping

from rq import Queue

from config.funding import FundingSchedule
from executor.funding import VENUE_LABELS, next_window
from executor.health import health
from executor.jobview import describe
from executor.ratelimituse import usage
from executor.replay import list_jobs


def overview(queue: Queue, funding: Mapping[str, FundingSchedule], now: datetime) -> dict[str, Any]:
    seen = health(queue, now)
    return {
        "at": now.isoformat(),
        "workers": seen.workers,
        "queue": {"queued": queue.count, "waiting": seen.waiting,
                  "oldest_waiting_seconds": seen.oldest_waiting_seconds},
        "deferred": deferred_by_reason(queue),
        "funding": funding_windows(funding, now),
        "rate_limits": [{"venue": key.venue, "key": key.key, "penalty_seconds": key.penalty_seconds,
                         "windows": [{"name": window.name, "used": window.used, "limit": window.limit,
                                      "period_seconds": window.period_seconds} for window in key.windows]}
                        for key in usage(queue.connection)],
    }


def deferred_by_reason(queue: Queue) -> dict[str, int]:
    """How many jobs wait for a later time or their turn, by reason (``funding``, ``rate_limit``, ``order``...)."""
    reasons = Counter((describe(job).get("deferred") or {}).get("reason") or "unknown"
                      for job in list_jobs(queue, "deferred"))
    return dict(sorted(reasons.items()))


def funding_windows(funding: Mapping[str, FundingSchedule], now: datetime) -> list[dict[str, Any]]:
    """The window each venue with a schedule is in now, or its next one."""
    windows = []
    for venue, schedule in sorted(funding.items()):
        window = None if schedule.empty else next_window(venue, schedule, now)
        if window is None:
            continue
        windows.append({"venue": venue, "label": VENUE_LABELS.get(venue, venue),
                        "funding_at": window.funding_at.isoformat(), "start": window.start.isoformat(),
                        "end": window.end.isoformat(), "active": window.contains(now),
                        "description": window.describe()})
    return windows
