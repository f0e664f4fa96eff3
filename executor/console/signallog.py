"""The signal log: every request to ``POST /webhook``, accepted or refused, and every lockout, kept in Redis.

Two Redis streams per queue's deployment: one of accepted alerts (``accepted`` and ``duplicate``), one of
refused requests, each bounded to ``SIGNAL_LOG_MAX`` entries and ``SIGNAL_LOG_DAYS`` days, so a flood of
refused requests can push out only older refused ones, never an accepted alert. An entry is written by one
script call (one round trip), which also counts a wrong guess against its address's lockout when there is
one (``executor.console.lockout``), so the answer's status and the entry agree. Stream ids come from Redis's
clock, and a counter both streams share orders the entries of one millisecond; reading merges both streams
newest first, and a page's cursor is the place (millisecond and counter) of its last entry.
"""
from __future__ import annotations

import heapq
import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterator

from redis import Redis

from executor.console.lockout import FAIL_LUA, Lockout, Verdict
from executor.keyspace import key_prefix

ACCEPTED = "accepted"
DUPLICATE = "duplicate"
REFUSED = "refused"
OUTCOMES = (ACCEPTED, DUPLICATE, REFUSED)
#: Entries read from a stream per round trip while a page is gathered.
CHUNK = 200
_CURSOR = re.compile(r"^(\d{1,15})-(\d{1,19})$")
#: The highest sequence number of a stream id: ``<ms>-LAST_SEQ`` is the end of that millisecond.
LAST_SEQ = 2**64 - 1

_RECORD_LUA = FAIL_LUA + """
-- KEYS[1]: the stream; KEYS[2]: the counter both streams share (their common order within a millisecond);
-- KEYS[3], with a wrong guess to count: the address's lockout hash.
-- ARGV[1]: the entry (JSON); ARGV[2]: its HTTP status; ARGV[3]: most entries kept; ARGV[4]: their longest age (ms).
-- With KEYS[3]: ARGV[5..9]: lockout_fail's arguments after the key; ARGV[10]: the status once locked out;
-- ARGV[11]: '1' to write the entry only when the guess leaves the address locked out.
-- Returns {failures, locked_until_ms, the entry's id or false}.
local fields = {'entry', ARGV[1], 'status', ARGV[2]}
local verdict = {0, 0}
if #KEYS > 2 then
  verdict = lockout_fail(KEYS[3], tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8]),
                         tonumber(ARGV[9]))
  if verdict[2] > 0 then
    fields[4] = ARGV[10]
    fields[5], fields[6] = 'locked_until', string.format('%.0f', verdict[2])
  elseif ARGV[11] == '1' then
    return {verdict[1], verdict[2], false}
  end
  fields[#fields + 1], fields[#fields + 2] = 'failures', verdict[1]
end
fields[#fields + 1], fields[#fields + 2] = 'n', redis.call('INCR', KEYS[2])
local t = redis.call('TIME')
local oldest = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) - tonumber(ARGV[4])
local id = redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[3], '*', unpack(fields))
redis.call('XTRIM', KEYS[1], 'MINID', string.format('%.0f', math.max(0, oldest)))
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
return {verdict[1], verdict[2], id}
"""


class BadQuery(ValueError):
    """A filter or cursor of ``GET /alerts`` that cannot be read; answered 400 with this message."""


@dataclass(frozen=True)
class Guess:
    """A wrong secret or token to count against its address in the same step as the entry is written."""

    lockout: Lockout
    address: str | None
    now: datetime
    locked_status: int = 429
    only_when_locked: bool = False


@dataclass(frozen=True)
class Page:
    entries: list[dict[str, Any]]
    next_cursor: str | None


class SignalLog:
    def __init__(self, redis: Redis, queue_name: str, max_entries: int, max_days: int) -> None:
        self.redis = redis
        prefix = f"{key_prefix(queue_name)}signals:"
        self.streams = {"a": prefix + ACCEPTED, "r": prefix + REFUSED}
        self.counter = prefix + "order"
        self.max_entries = max_entries
        self.max_age_ms = max_days * 86_400_000
        self._record = redis.register_script(_RECORD_LUA)

    def record(self, entry: dict[str, Any], status: int, guess: Guess | None = None) -> Verdict | None:
        """Add ``entry`` (answered ``status``) in one round trip; with ``guess``, count it against its
        address first: the verdict says whether the address is now locked out (then the entry's status is
        ``guess.locked_status``)."""
        stream = self.streams["r" if entry["outcome"] == REFUSED else "a"]
        keys = [stream, self.counter]
        args: list[Any] = [json.dumps(entry, default=str), status, self.max_entries, self.max_age_ms]
        if guess is not None:
            keys.append(guess.lockout.key(guess.address))
            args += [*guess.lockout.script_args(guess.now), guess.locked_status, int(guess.only_when_locked)]
        failures, locked_until, _ = self._record(keys=keys, args=args)
        if guess is None:
            return None
        return Verdict(int(failures), int(locked_until), guess.lockout.script_args(guess.now)[0])

    def page(self, outcomes: frozenset[str], *, limit: int, since: datetime | None = None,
             cursor: str | None = None, search: str | None = None) -> Page:
        """Entries newest first: at most ``limit`` of the given outcomes, received since ``since``, before
        ``cursor``, and naming ``search`` as their alert id or one of their job ids."""
        before = parse_cursor(cursor) if cursor else None
        since_ms = max(0, int(since.timestamp() * 1000)) if since else None
        read = {"a": bool(outcomes - {REFUSED}), "r": REFUSED in outcomes}
        sources = [self._newest_first(suffix, before, since_ms) for suffix, wanted in read.items() if wanted]
        wanted = ((order, entry) for order, entry in heapq.merge(*sources, key=lambda item: item[0], reverse=True)
                  if entry["outcome"] in outcomes and (search is None or _names(entry, search)))
        entries: list[dict[str, Any]] = []
        last: str | None = None
        for order, entry in wanted:
            if len(entries) == limit:
                return Page(entries, last)
            entries.append(entry)
            last = f"{order[0]}-{order[1]}"
        return Page(entries, None)

    def _newest_first(self, suffix: str, before: tuple[int, int] | None,
                      since_ms: int | None) -> Iterator[tuple[tuple[int, int], dict[str, Any]]]:
        """One stream's entries, newest first, each with its place in the order of both: (ms, shared counter)."""
        high = f"{before[0]}-{LAST_SEQ}" if before is not None else "+"
        low = f"{since_ms}-0" if since_ms is not None else "-"
        while True:
            batch = self.redis.xrevrange(self.streams[suffix], max=high, min=low, count=CHUNK)
            for raw_id, fields in batch:
                order = (int(raw_id.split(b"-")[0]), int(fields.get(b"n", b"0")))
                if before is None or order < before:
                    yield order, _entry(raw_id.decode(), suffix, fields)
            if len(batch) < CHUNK:
                return
            high = "(" + batch[-1][0].decode()


def parse_cursor(cursor: str) -> tuple[int, int]:
    match = _CURSOR.match(cursor)
    if match is None:
        raise BadQuery(f"cursor {cursor[:80]!r} is not one this API gave (next_cursor of an earlier page)")
    return int(match.group(1)), int(match.group(2))


def _entry(stream_id: str, suffix: str, fields: dict[bytes, bytes]) -> dict[str, Any]:
    stored = json.loads(fields[b"entry"])
    locked_until = fields.get(b"locked_until")
    when_locked = stored.pop("reason_when_locked", None)
    entry: dict[str, Any] = {"id": f"{stream_id}-{suffix}", **stored, "status": int(fields[b"status"])}
    entry["lockout"] = None
    if locked_until is not None:
        until = datetime.fromtimestamp(int(locked_until) / 1000, tz=timezone.utc)
        failures = int(fields[b"failures"])
        entry["lockout"] = {"failures": failures, "until": until.isoformat()}
        if when_locked:
            entry["reason"] = when_locked.format(failures=failures, until=until.strftime("%H:%M:%S UTC"))
    return entry


def _names(entry: dict[str, Any], search: str) -> bool:
    alert = entry.get("alert") if isinstance(entry.get("alert"), dict) else {}
    return alert.get("id") == search or any(job.get("job_id") == search for job in entry.get("jobs") or [])
