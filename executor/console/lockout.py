"""Slowing down guesses: wrong admin tokens and wrong webhook secrets from one address lock it out for a while.

Every web process shares the count through Redis, one hash per kind of guess and address (an IPv6 address
counts by its /64, which one machine usually holds whole). The first ``FREE_FAILURES`` wrong guesses cost
nothing; each one after locks the address out for twice as long as the one before, from
``FIRST_LOCK_SECONDS`` up to ``MAX_LOCK_SECONDS``. The count is forgotten ``MEMORY_SECONDS`` after the last
wrong guess (or the end of the last lock).

What a lockout refuses differs by kind. An address locked out of the admin token is answered 429 for every
token it sends, right or wrong, until the lock ends. A webhook secret never is: TradingView sends every
user's alerts from the same four addresses, so a right secret is always accepted, and only wrong ones are
answered 429 while their address is locked out. The lock and the signal log entry that shows it are written
by one script (``executor.console.signallog``), which includes ``FAIL_LUA``.
"""
from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass
from datetime import datetime

from redis import Redis

from executor.errors import ExecutorError
from executor.keyspace import key_prefix

#: Wrong guesses from one address that are answered as usual before the first lock.
FREE_FAILURES = 5
#: The first lock; each further wrong guess doubles it.
FIRST_LOCK_SECONDS = 2
#: The longest lock.
MAX_LOCK_SECONDS = 900
#: How long an address's wrong guesses are remembered after the last one, or after its lock ends.
MEMORY_SECONDS = 3600

#: The kinds of guess, each counted apart.
WEBHOOK_SECRET = "webhook"
ADMIN_TOKEN = "admin"

FAIL_LUA = """
-- lockout_fail(key, now_ms, free, first_ms, max_ms, memory_ms): count one wrong guess; lock when past the free
-- ones. Returns {failures, locked_until_ms} (0: not locked).
local function lockout_fail(key, now, free, first, max, memory)
  local failures = redis.call('HINCRBY', key, 'failures', 1)
  local locked_until = tonumber(redis.call('HGET', key, 'until') or '0')
  if failures > free then
    local lock = math.min(max, first * 2 ^ math.min(failures - free - 1, 30))
    locked_until = math.max(locked_until, now + lock)
    redis.call('HSET', key, 'until', string.format('%.0f', locked_until))
  end
  redis.call('PEXPIRE', key, math.max(0, locked_until - now) + memory)
  if locked_until <= now then locked_until = 0 end
  return {failures, locked_until}
end
"""


class LockedOut(ExecutorError):
    """Too many wrong guesses from this address: answered 429 with ``Retry-After`` until the lock ends."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Verdict:
    """An address's standing after a wrong guess: how many it has made, and until when it is locked out."""

    failures: int
    locked_until_ms: int
    now_ms: int

    @property
    def locked(self) -> bool:
        return self.locked_until_ms > self.now_ms

    @property
    def retry_after(self) -> int:
        """Whole seconds until the lock ends (at least 1 while locked)."""
        return max(1, math.ceil((self.locked_until_ms - self.now_ms) / 1000)) if self.locked else 0


class Lockout:
    """The lockout of one kind of guess (``WEBHOOK_SECRET`` or ``ADMIN_TOKEN``) for one queue's deployment."""

    def __init__(self, redis: Redis, queue_name: str, kind: str) -> None:
        self.redis = redis
        self.kind = kind
        self.prefix = f"{key_prefix(queue_name)}lockout:{kind}:"

    def key(self, address: str | None) -> str:
        return self.prefix + counted_address(address)

    def script_args(self, now: datetime) -> list[int]:
        """``FAIL_LUA``'s arguments after the key: now, the free guesses, the first and longest lock, memory."""
        return [_ms(now), FREE_FAILURES, FIRST_LOCK_SECONDS * 1000, MAX_LOCK_SECONDS * 1000, MEMORY_SECONDS * 1000]

    def check(self, address: str | None, now: datetime) -> None:
        """Raise ``LockedOut`` while ``address`` is locked out."""
        until = self.redis.hget(self.key(address), "until")
        verdict = Verdict(0, int(until or 0), _ms(now))
        if verdict.locked:
            raise LockedOut(f"too many wrong {describe_kind(self.kind)}s from this address: try again in "
                            f"{verdict.retry_after} s", verdict.retry_after)


def describe_kind(kind: str) -> str:
    return "admin token" if kind == ADMIN_TOKEN else "webhook secret"


def counted_address(address: str | None) -> str:
    """The address as counted: an IPv4 address itself, an IPv6 address its /64; unreadable ones together."""
    try:
        parsed = ipaddress.ip_address(address or "")
    except ValueError:
        return "unknown"
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)
