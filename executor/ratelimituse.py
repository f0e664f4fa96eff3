"""How full the shared rate-limit windows are now, per venue credential: for the console's health panel.

Reads the keys ``executor.ratelimit`` writes (named by a digest of the credential, never the credential)
without changing them: each window counts the requests within its span on Redis's clock, against the limit
``config.ratelimits`` declares under the window's name, and a credential's penalty (after a venue's "too
many requests") shows how long it has left.
"""
from __future__ import annotations

from dataclasses import dataclass

from redis import Redis

from config.ratelimits import ENDPOINT_LIMITS, RateLimit, pool_for
from executor.ratelimit import DEFAULT_PREFIX, SafetyMargin, parse_key


@dataclass(frozen=True)
class WindowUse:
    """One window of one credential: ``used`` of ``limit`` requests in ``period_seconds``."""

    name: str
    used: int
    limit: int | None
    period_seconds: float | None


@dataclass(frozen=True)
class KeyUse:
    """The windows of one venue credential and the seconds left of its penalty (0: none)."""

    venue: str
    key: str
    windows: tuple[WindowUse, ...]
    penalty_seconds: float


Plan = list[tuple[str, str, str | None, RateLimit | None]]


def usage(redis: Redis, *, prefix: str = DEFAULT_PREFIX, margin: SafetyMargin = SafetyMargin()) -> list[KeyUse]:
    """Every venue credential with a live window or penalty, in two round trips after the key scan."""
    found: list[tuple[str, str, str | None, str]] = []
    for raw in redis.scan_iter(match=prefix + "*", count=500):
        parsed = parse_key(raw.decode(), prefix)
        if parsed is not None:
            found.append((*parsed, raw.decode()))
    found.sort(key=lambda item: (item[0], item[1], item[2] or ""))
    seconds, micros = redis.time()
    now_us = seconds * 1_000_000 + micros
    pipe = redis.pipeline(transaction=False)
    plan: Plan = []
    for venue, tag, window, key in found:
        limit = _declared_limits(venue).get(window) if window else None
        if window is None:
            pipe.pttl(key)
        elif limit is not None:
            pipe.zcount(key, now_us - round(margin.window(limit.period) * 1_000_000), "+inf")
        else:
            pipe.zcard(key)
        plan.append((venue, tag, window, limit))
    return _gather(plan, pipe.execute())


def _gather(plan: Plan, counts: list[int]) -> list[KeyUse]:
    keys: dict[tuple[str, str], tuple[list[WindowUse], list[float]]] = {}
    for (venue, tag, window, limit), count in zip(plan, counts):
        windows, penalty = keys.setdefault((venue, tag), ([], []))
        if window is not None:
            windows.append(WindowUse(window, int(count), limit.limit if limit else None,
                                     limit.period if limit else None))
        elif int(count) > 0:
            penalty.append(int(count) / 1000)
    return [KeyUse(venue, tag, tuple(windows), penalty[0] if penalty else 0.0)
            for (venue, tag), (windows, penalty) in keys.items()]


def _declared_limits(venue: str) -> dict[str, RateLimit]:
    """Every window ``config.ratelimits`` declares for ``venue``, by name (an unknown venue: none)."""
    try:
        declared = [limit for limits in ENDPOINT_LIMITS[venue].values() for limit in limits] + list(pool_for(venue))
    except KeyError:
        return {}
    return {limit.name: limit for limit in declared}
