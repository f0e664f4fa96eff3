"""Each venue's funding schedule and guard band, declared as data with environment overrides.

During a venue's funding settlement, orders and closes are rejected. A job that
would trade inside ``[funding_time - guard_before, funding_time + guard_after)``
is deferred to the end of that window (see ``executor.funding`` for the calendar).

Environment variables, per venue prefix ``COINW``, ``BITGET`` and ``CROSSTRADE``:

- ``<PREFIX>_FUNDING_TIMES``: comma list of UTC times ``HH:MM`` or ``HH:MM:SS``.
  Unset means the venue's default; an empty value or the word ``none`` means the
  venue has no funding schedule (trading is never deferred for funding).
- ``<PREFIX>_FUNDING_GUARD_BEFORE``: whole seconds before each funding time
  during which no trading starts. Unset or empty means the default.
- ``<PREFIX>_FUNDING_GUARD_AFTER``: whole seconds after each funding time
  during which no trading starts. Unset or empty means the default.

A bad value raises ``SettingsError`` with one line naming the variable.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import time, timedelta
from types import MappingProxyType
from typing import Callable, Mapping, TypeVar

from config.settings import SettingsError

COINW_FUNDING_TIMES: tuple[time, ...] = (time(0, 0), time(8, 0), time(16, 0))
"""CoinW settles funding every 8 hours at these UTC times."""

DEFAULT_GUARD_BEFORE = timedelta(seconds=10)
"""How long before a funding time no trading starts (clock skew and order latency)."""

DEFAULT_GUARD_AFTER = timedelta(seconds=60)
"""How long after a funding time no trading starts: settlement takes 30-40 s and
CoinW advises waiting at least a minute."""

VENUE_ENV_PREFIXES: Mapping[str, str] = MappingProxyType(
    {"coinw": "COINW", "bitget": "BITGET", "crosstrade": "CROSSTRADE"}
)
"""Venue name -> prefix of its ``*_FUNDING_*`` environment variables."""

NO_SCHEDULE_WORD = "none"
"""Value of ``*_FUNDING_TIMES`` that, like an empty value, means no schedule."""

T = TypeVar("T")

_DAY = timedelta(days=1)
_TIME_PATTERN = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")


def _seconds_of_day(moment: time) -> timedelta:
    return timedelta(hours=moment.hour, minutes=moment.minute, seconds=moment.second,
                     microseconds=moment.microsecond)


@dataclass(frozen=True)
class FundingSchedule:
    """When a venue settles funding (UTC times of day) and the guard band around each.

    ``times`` is normalised to sorted, unique, naive ``datetime.time`` values read as UTC.
    A schedule whose guard bands would cover every moment of the day is refused,
    because no job could ever trade on that venue.
    """

    times: tuple[time, ...]
    guard_before: timedelta = DEFAULT_GUARD_BEFORE
    guard_after: timedelta = DEFAULT_GUARD_AFTER

    def __post_init__(self) -> None:
        for moment in self.times:
            if moment.tzinfo is not None:
                raise ValueError(f"funding time {moment} must be a naive time read as UTC")
        if self.guard_before < timedelta(0) or self.guard_after < timedelta(0):
            raise ValueError("funding guards must not be negative")
        object.__setattr__(self, "times", tuple(sorted(set(self.times))))
        if not self.empty and self.longest_clear <= timedelta(0):
            raise ValueError("the funding guards cover every moment of the day; trading would never be allowed")

    @property
    def empty(self) -> bool:
        """True when the venue has no funding schedule: trading is never deferred."""
        return not self.times

    @property
    def longest_clear(self) -> timedelta:
        """The longest stretch between two windows (the longest job that can ever fit).

        A full day for an empty schedule; zero or less means the windows leave no gap.
        """
        if self.empty:
            return _DAY
        offsets = [_seconds_of_day(moment) for moment in self.times]
        gaps = [later - earlier for earlier, later in zip(offsets, offsets[1:] + [offsets[0] + _DAY])]
        return max(gaps) - self.guard_before - self.guard_after


NO_SCHEDULE = FundingSchedule(times=())
"""A venue without funding settlement (or whose settlement does not block trading)."""

DEFAULT_SCHEDULES: Mapping[str, FundingSchedule] = MappingProxyType({
    # CoinW: 00:00, 08:00 and 16:00 UTC, 10 s before to 60 s after.
    "coinw": FundingSchedule(COINW_FUNDING_TIMES),
    # Bitget: no schedule by default; set BITGET_FUNDING_TIMES to enable (same default guards).
    "bitget": NO_SCHEDULE,
    # CrossTrade (futures through NinjaTrader): no funding settlement.
    "crosstrade": NO_SCHEDULE,
})
"""Funding schedule per venue when no environment variable overrides it."""


def load_funding_schedules(env: Mapping[str, str] | None = None) -> dict[str, FundingSchedule]:
    """Read every venue's funding schedule from ``env`` (the process environment by default)."""
    env = os.environ if env is None else env
    return {venue: _load_one(env, prefix, DEFAULT_SCHEDULES[venue]) for venue, prefix in VENUE_ENV_PREFIXES.items()}


def _load_one(env: Mapping[str, str], prefix: str, default: FundingSchedule) -> FundingSchedule:
    times = _read(env, f"{prefix}_FUNDING_TIMES", default.times, parse_funding_times, empty_is_default=False)
    before = _read(env, f"{prefix}_FUNDING_GUARD_BEFORE", default.guard_before, parse_guard)
    after_name = f"{prefix}_FUNDING_GUARD_AFTER"
    after = _read(env, after_name, default.guard_after, parse_guard)
    try:
        return FundingSchedule(times, before, after)
    except ValueError as exc:
        raise SettingsError(f"{after_name}: {exc} (with {prefix}_FUNDING_GUARD_BEFORE and {prefix}_FUNDING_TIMES)") from None


def _read(env: Mapping[str, str], name: str, default: T, parser: Callable[[str], T], *,
          empty_is_default: bool = True) -> T:
    """The parsed value of ``name``, or ``default`` when unset; every problem becomes one line naming it."""
    if name not in env or (empty_is_default and not env[name].strip()):
        return default
    try:
        return parser(env[name])
    except ValueError as exc:
        raise SettingsError(f"{name}: {exc}") from None


def parse_funding_times(value: str) -> tuple[time, ...]:
    """Parse ``"00:00,08:00:30"`` into sorted unique UTC times; empty or ``none`` means no schedule."""
    if value.strip().lower() in ("", NO_SCHEDULE_WORD):
        return ()
    items = [item.strip() for item in value.split(",")]
    return tuple(sorted({_parse_time(item) for item in items if item}))


def _parse_time(item: str) -> time:
    match = _TIME_PATTERN.fullmatch(item)
    hour, minute, second = (int(part or 0) for part in match.groups()) if match else (99, 0, 0)
    if hour > 23 or minute > 59 or second > 59:
        raise ValueError(f"{item!r} is not a UTC time HH:MM or HH:MM:SS")
    return time(hour, minute, second)


def parse_guard(value: str) -> timedelta:
    """Parse a guard band given in whole seconds; negative guards are invalid."""
    text = value.strip()
    try:
        seconds = int(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a whole number of seconds") from None
    if seconds < 0:
        raise ValueError(f"{text!r} must not be negative")
    return timedelta(seconds=seconds)
