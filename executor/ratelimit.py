"""One rate limiter shared by every worker process on every machine, through Redis.

Each window is a sorted set of admitted requests scored by Redis's own clock
(integer microseconds from ``TIME``), so machines with skewed clocks agree.
One Lua script trims every window of a request (its endpoint's and its venue
pool's) and either charges all of them or none, so no window can be exceeded
whatever the number of workers. A window is the limit's period plus a safety
margin: a request reaches the venue some milliseconds after its slot is taken,
with a delay that varies, and the venue counts arrivals, not our slots.

A request that acts also passes a fence in the same script: the worker must
still hold its job (``executor.ownership``), so a worker that lost its job
while cut off from Redis cannot take a slot and send. Once the fence holds, the
script also makes the write that must precede the request (the job's in-flight
record), saving the round trip it would take on its own.

Keys hold a hash of the credential the venue meters, never the credential, and
share one hash tag per venue and credential. (The fence reads RQ's started job
registry, a key outside that tag: like RQ itself, this needs one Redis, not a
Redis Cluster.)
"""
from __future__ import annotations

import hashlib
import math
import random
import re
import secrets
import time
from dataclasses import dataclass
from typing import Callable, Sequence

from redis import Redis

from config.ratelimits import RateLimit
from config.secrets import Secret
from executor.errors import RetryLater
from executor.ownership import SEND_MARGIN_SECONDS, WriteBeforeActing, lost
from executor.rqlayout import HOLD_LEFT_LUA, Lease

DEFAULT_PREFIX = "executor:rl:"
"""Prefix of every key the limiter writes."""

MARGIN_MINIMUM = 0.05
"""Smallest safety margin added to a period, in seconds: the spread of request delays to a venue."""

MARGIN_FRACTION = 0.02
"""Safety margin as a fraction of the period, for long periods where the venue's counting is coarse."""

RETRY_JITTER = 0.003
"""Largest random extra sleep, in seconds, so waiting workers do not all retry in the same instant."""

KEY_EXPIRY_SLACK_MS = 1000
"""Milliseconds a window key outlives its last entry, so idle credentials leave nothing behind."""

BACKOFF_MAX_EXPONENT = 32
"""Attempts beyond this do not grow the backoff further (the cap has long been reached)."""

_ACQUIRE_LUA = HOLD_LEFT_LUA + """
-- KEYS[1]: penalty key; KEYS[2..]: one sorted set per window; with a fence, next: the started job registry;
-- with a write (only with a fence), last: the job's hash.
-- ARGV[1]: member suffix unique to this call; ARGV[2]: key expiry slack (ms); ARGV[3]: the fence's member in
-- the registry ('' for no fence); ARGV[4]: the fence's margin (us); ARGV[5], ARGV[6]: the field and value
-- written to the job's hash once the fence holds ('' for no write); ARGV[5 + 2i], ARGV[6 + 2i]: limit and
-- window (us) of the i-th window.
-- Returns {wait_us, now_us, held}: held 0 means the fence failed and nothing was charged or written; else
-- the write was made, and wait_us 0 means every window was charged, and anything else that none was.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local fenced = ARGV[3] ~= ''
local writes = fenced and ARGV[5] ~= ''
local windows = #KEYS - 1
if fenced then windows = windows - 1 end
if writes then windows = windows - 1 end
if fenced then
  local left = hold_left_us(KEYS[2 + windows], ARGV[3], now)
  if not left or left < tonumber(ARGV[4]) then return {0, now, 0} end
  if writes then redis.call('HSET', KEYS[3 + windows], ARGV[5], ARGV[6]) end
end
local wait = 0
local penalty = redis.call('PTTL', KEYS[1])
if penalty > 0 then wait = penalty * 1000 end
for i = 1, windows do
  local limit = tonumber(ARGV[5 + 2 * i])
  local window = tonumber(ARGV[6 + 2 * i])
  redis.call('ZREMRANGEBYSCORE', KEYS[1 + i], '-inf', now - window)
  local count = redis.call('ZCARD', KEYS[1 + i])
  if count >= limit then
    local entry = redis.call('ZRANGE', KEYS[1 + i], count - limit, count - limit, 'WITHSCORES')
    local free = tonumber(entry[2]) + window - now
    if free > wait then wait = free end
  end
end
if wait > 0 then return {wait, now, 1} end
local member = t[1] .. '.' .. t[2] .. ':' .. ARGV[1]
for i = 1, windows do
  redis.call('ZADD', KEYS[1 + i], now, member)
  redis.call('PEXPIRE', KEYS[1 + i], math.ceil(tonumber(ARGV[6 + 2 * i]) / 1000) + tonumber(ARGV[2]))
end
return {0, now, 1}
"""
"""Confirm the fence, then trim, check and charge every window of one request atomically, on Redis's clock."""

_PENALISE_LUA = """
-- KEYS[1]: penalty key. ARGV[1]: milliseconds. A penalty is extended, never shortened.
local ms = tonumber(ARGV[1])
if redis.call('PTTL', KEYS[1]) < ms then redis.call('SET', KEYS[1], '1', 'PX', ms) end
return redis.call('PTTL', KEYS[1])
"""
"""Block a venue pool for one credential, for every process."""


class RateLimitWait(RetryLater):
    """Our own limiter says the request would wait longer than the caller allows.

    Nothing was sent. The job is rescheduled ``retry_after`` seconds later instead of sleeping.
    """

    def __init__(self, retry_after: float, message: str = "rate limit: wait too long, rescheduled") -> None:
        super().__init__(None, None, message, retry_after=retry_after, reason="rate_limit")  # type: ignore[arg-type]

    def describe(self) -> str:
        return f"{self.venue_message} (retry in {self.retry_after:.3f} s)"


@dataclass(frozen=True)
class SafetyMargin:
    """Extra time added to each period: ``max(minimum, fraction * period)`` seconds."""

    minimum: float = MARGIN_MINIMUM
    fraction: float = MARGIN_FRACTION

    def for_period(self, period: float) -> float:
        return max(self.minimum, self.fraction * period)

    def window(self, period: float) -> float:
        """The span enforced for a limit of ``period`` seconds: the period plus the margin."""
        return period + self.for_period(period)


@dataclass(frozen=True)
class Attempt:
    """One try: ``wait`` is 0.0 when granted, else seconds until every window has room.

    ``redis_time`` is Redis's clock (seconds since the epoch) when the script ran. ``held`` is False
    when the fence failed: the caller no longer holds its job, and nothing was taken.
    """

    wait: float
    redis_time: float
    held: bool = True

    @property
    def granted(self) -> bool:
        return self.wait <= 0


def credential_tag(credential: str | Secret) -> str:
    """A short one-way digest naming a credential in keys without revealing it."""
    raw = credential.reveal() if isinstance(credential, Secret) else credential
    return hashlib.sha256(b"executor-ratelimit:" + raw.encode()).hexdigest()[:24]


class RateLimiter:
    """Sliding-window limits shared through Redis; see the module docstring."""

    def __init__(self, redis: Redis, *, prefix: str = DEFAULT_PREFIX, margin: SafetyMargin = SafetyMargin(),
                 jitter: float = RETRY_JITTER, rng: Callable[[], float] = random.random) -> None:
        self._redis = redis
        self._prefix = prefix
        self._margin = margin
        self._jitter = jitter
        self._rng = rng
        self._acquire_script = redis.register_script(_ACQUIRE_LUA)
        self._penalise_script = redis.register_script(_PENALISE_LUA)

    def window_seconds(self, limit: RateLimit) -> float:
        """The span enforced for ``limit``: its period plus the safety margin."""
        return self._margin.window(limit.period)

    def attempt(self, venue: str, credential: str | Secret, limits: Sequence[RateLimit], *,
                fence: Lease | None = None, write: WriteBeforeActing | None = None) -> Attempt:
        """Take a slot in every window of ``limits`` at once, or in none; never blocks.

        With a ``fence``, the slot is taken only while the caller still holds its job with at least
        ``SEND_MARGIN_SECONDS`` to run, in the same atomic step (see ``executor.ownership``); ``write``
        (for the job ``fence`` holds) is made in that step whenever the fence holds, slot or not.
        """
        if write is not None and write.lease != fence:
            raise ValueError("a write before acting goes only with the fence of its own job")
        names = [limit.name for limit in limits]
        if len(set(names)) != len(names):
            raise ValueError(f"rate limit names must differ within one request: {names}")
        scope = self._scope(venue, credential)
        keys = [scope + "penalty"] + [scope + "w:" + name for name in names]
        args: list[str | int] = [secrets.token_hex(8), KEY_EXPIRY_SLACK_MS, "", 0]
        if fence is not None:
            keys.append(fence.registry_key)
            args[2:] = [fence.member, round(SEND_MARGIN_SECONDS * 1_000_000)]
        args += [write.field, write.value] if write is not None else ["", ""]
        if write is not None:
            keys.append(write.key)
        for limit in limits:
            args += [limit.limit, round(self.window_seconds(limit) * 1_000_000)]
        wait_us, now_us, held = self._acquire_script(keys=keys, args=args)
        return Attempt(wait=int(wait_us) / 1_000_000, redis_time=int(now_us) / 1_000_000, held=bool(held))

    def try_acquire(self, venue: str, credential: str | Secret, limits: Sequence[RateLimit], *,
                    fence: Lease | None = None, write: WriteBeforeActing | None = None) -> float:
        """0.0 when a slot was taken in every window; else the seconds to wait (nothing taken; ``write``
        made). Raises ``LeaseLost`` when the ``fence`` failed (nothing taken or written)."""
        attempt = self.attempt(venue, credential, limits, fence=fence, write=write)
        if not attempt.held:
            raise lost(f"{venue}: no slot taken")
        return attempt.wait

    def acquire(self, venue: str, credential: str | Secret, limits: Sequence[RateLimit], *,
                max_wait: float, sleep: Callable[[float], None] = time.sleep, fence: Lease | None = None,
                write: WriteBeforeActing | None = None) -> float:
        """Take a slot, sleeping through short waits; return the seconds slept. ``write`` is made by the
        first try (whenever it returns).

        Raises ``RateLimitWait`` as soon as the total sleep would exceed ``max_wait``,
        so the caller reschedules the job rather than hold a worker.
        """
        waited = 0.0
        while True:
            wait = self.try_acquire(venue, credential, limits, fence=fence, write=write)
            write = None
            if wait <= 0:
                return waited
            pause = wait + self._jitter * self._rng()
            if waited + pause > max_wait:
                raise RateLimitWait(retry_after=pause)
            sleep(pause)
            waited += pause

    def penalise(self, venue: str, credential: str | Secret, seconds: float) -> float:
        """Block every request to ``venue`` with ``credential`` for ``seconds``, in every process.

        Used after the venue itself answers "too many requests". An existing longer
        penalty is kept. Returns the penalty left, in seconds.
        """
        if seconds <= 0:
            raise ValueError("a penalty lasts a positive number of seconds")
        key = self._scope(venue, credential) + "penalty"
        left_ms = self._penalise_script(keys=[key], args=[math.ceil(seconds * 1000)])
        return int(left_ms) / 1000

    def _scope(self, venue: str, credential: str | Secret) -> str:
        return f"{self._prefix}{{{venue}:{credential_tag(credential)}}}:"


def backoff(attempt: int, base: float = 1.0, cap: float = 60.0, rng: Callable[[], float] = random.random,
            *, jitter: str = "equal") -> float:
    """Seconds to wait after the ``attempt``-th (from 0) "too many requests" answer in a row.

    Exponential (``base * 2**attempt``) bounded by ``cap``, with jitter so that many
    workers penalised together do not return together. ``"equal"`` jitter (the
    default) waits at least half the exponential step, which matters at venues
    whose penalties escalate; ``"full"`` waits anywhere between 0 and the step.
    """
    if attempt < 0:
        raise ValueError("attempt counts from 0")
    step = min(cap, base * 2 ** min(attempt, BACKOFF_MAX_EXPONENT))
    if jitter == "full":
        return step * rng()
    if jitter == "equal":
        return step / 2 + step / 2 * rng()
    raise ValueError(f"jitter must be 'full' or 'equal', not {jitter!r}")



_KEY = re.compile(r"^\{(?P<venue>[a-z0-9_]+):(?P<tag>[0-9a-f]+)\}:(?:w:(?P<window>.+)|penalty)$")


def parse_key(key: str, prefix: str = DEFAULT_PREFIX) -> tuple[str, str, str | None] | None:
    """The venue, credential digest and window name (None: the penalty) of a key this limiter writes;
    None for any other key."""
    match = _KEY.match(key[len(prefix):]) if key.startswith(prefix) else None
    return (match["venue"], match["tag"], match["window"]) if match else None
