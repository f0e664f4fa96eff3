"""Request statistics computed from the log, for tests and benchmarks.

``max_in_window`` uses the simulator clock (``sim_time``) and counts only
requests that used quota (authenticated, not rate limited), per account,
with the same window rule the live limiter applies. So ``max > limit`` means
a client exceeded a venue limit (possible only with enforcement off).
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any, Iterable, Mapping

from executor.simulator.limits import RateLimit, max_in_window
from executor.simulator.requestlog import RequestRecord


def venue_stats(venue: str, records: list[RequestRecord],
                limits: Mapping[str, RateLimit]) -> dict[str, Any]:
    """Counts per path and per endpoint, plus the busiest window of each limit."""
    per_path: dict[str, int] = defaultdict(int)
    per_endpoint: dict[str, dict[str, int]] = {}
    for record in records:
        per_path[record.path] += 1
        entry = per_endpoint.setdefault(f"{record.method} {record.path}",
                                        {"count": 0, "rate_limited": 0})
        entry["count"] += 1
        entry["rate_limited"] += int(record.rate_limited)
    return {
        "venue": venue,
        "total": len(records),
        "rate_limited": sum(int(r.rate_limited) for r in records),
        "per_path": dict(per_path),
        "per_endpoint": per_endpoint,
        "max_in_window": {key: _busiest(key, limit, records) for key, limit in limits.items()},
    }


def _busiest(key: str, limit: RateLimit, records: Iterable[RequestRecord]) -> dict[str, Any]:
    times: dict[str | None, list[float]] = defaultdict(list)
    for record in records:
        if record.counted and not record.rate_limited and f"{record.method} {record.path}" == key:
            times[record.api_key].append(record.sim_time)
    busiest = max((max_in_window(t, limit.period_s) for t in times.values()), default=0)
    return {**limit.to_dict(), "max": busiest, "exceeded": busiest > limit.count}
