"""The funding calendar: pure functions of a given moment, so tests never sleep.

A venue rejects orders and closes while it settles funding. Around each funding
time ``t`` of a ``FundingSchedule`` lies the window ``[t - guard_before, t + guard_after)``
in which no job may trade; a job due inside it is deferred to ``clear_of_funding``.
Windows that touch or overlap (guards longer than the gap between funding
times) merge into one, so a window's ``end`` is always the real moment trading
is allowed again. Every moment must be an aware datetime; it is read in UTC.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone

from config.funding import FundingSchedule

FUNDING_REJECTION_MARGIN = timedelta(minutes=2)
"""An undocumented venue rejection this close to a funding time is treated as a funding rejection."""

VENUE_LABELS = {"coinw": "CoinW", "bitget": "Bitget", "crosstrade": "CrossTrade"}
"""How each venue is named in human-readable lines."""

_SEARCH_BEFORE = timedelta(days=3)
_SEARCH_AFTER = timedelta(days=4)


@dataclass(frozen=True)
class FundingWindow:
    """A stretch ``[start, end)`` in which a venue must not be asked to trade.

    ``funding_at`` is the first funding time inside the window; ``later_fundings``
    holds the further funding times of windows merged into this one (usually none).
    """

    venue: str
    funding_at: datetime
    start: datetime
    end: datetime
    later_fundings: tuple[datetime, ...] = ()

    @property
    def fundings(self) -> tuple[datetime, ...]:
        """Every funding time this window guards, in order."""
        return (self.funding_at, *self.later_fundings)

    def contains(self, moment: datetime) -> bool:
        """Whether trading at ``moment`` is blocked by this window (start inclusive, end exclusive)."""
        return self.start <= _utc(moment) < self.end

    def describe(self) -> str:
        """One line for logs and job status, e.g. ``CoinW funding at 08:00:00 UTC: no trading from 07:59:50 to 08:01:00 UTC``."""
        label = VENUE_LABELS.get(self.venue, self.venue)
        fundings = _join([_clock(moment) for moment in self.fundings])
        return f"{label} funding at {fundings} UTC: no trading from {_clock(self.start)} to {_clock(self.end)} UTC"


def window_at(venue: str, schedule: FundingSchedule, now: datetime) -> FundingWindow | None:
    """The (merged) window containing ``now``, or None when trading is allowed at ``now``."""
    now = _utc(now)
    return next((window for window in _windows_around(venue, schedule, now) if window.contains(now)), None)


def next_window(venue: str, schedule: FundingSchedule, now: datetime) -> FundingWindow | None:
    """The window containing ``now``, else the next one to start; None for an empty schedule."""
    now = _utc(now)
    return next((window for window in _windows_around(venue, schedule, now) if window.end > now), None)


def clear_of_funding(venue: str, schedule: FundingSchedule, now: datetime,
                     duration: timedelta = timedelta(0)) -> datetime:
    """The earliest moment >= ``now`` at which ``[moment, moment + duration)`` touches no window.

    This is what a deferred job should target. With a zero ``duration`` it is simply
    ``now`` outside any window, else the end of the window containing ``now``. Raises
    ValueError when ``duration`` is negative or longer than any gap between windows.
    """
    moment = _utc(now)
    if duration < timedelta(0):
        raise ValueError(f"duration must not be negative, got {duration}")
    if not schedule.empty and duration > schedule.longest_clear:
        raise ValueError(f"a job of {duration} never fits between {venue} funding windows")
    while True:
        blocker = _first_touching(venue, schedule, moment, duration)
        if blocker is None:
            return moment
        moment = blocker.end


def near_funding(schedule: FundingSchedule, moment: datetime,
                 margin: timedelta = FUNDING_REJECTION_MARGIN) -> bool:
    """Whether ``moment`` lies within ``margin`` (either side) of any funding time of ``schedule``.

    Used to read an undocumented venue rejection near a funding time as a funding rejection.
    """
    moment = _utc(moment)
    if margin < timedelta(0):
        raise ValueError(f"margin must not be negative, got {margin}")
    instants = _funding_instants(schedule, (moment - margin).date(), (moment + margin).date())
    return any(abs(instant - moment) <= margin for instant in instants)


def _first_touching(venue: str, schedule: FundingSchedule, moment: datetime,
                    duration: timedelta) -> FundingWindow | None:
    for window in _windows_around(venue, schedule, moment):
        if duration == timedelta(0):
            touches = window.contains(moment)
        else:
            touches = max(moment, window.start) < min(moment + duration, window.end)
        if touches:
            return window
    return None


def _windows_around(venue: str, schedule: FundingSchedule, moment: datetime) -> list[FundingWindow]:
    """Merged windows, in order, from a few days before to a few days after ``moment``.

    A merged window is shorter than a day (``FundingSchedule`` refuses guards that
    cover the whole day), so the windows near ``moment`` are complete; only those at
    the far edges of the search may be cut short, and no caller looks that far.
    """
    windows: list[FundingWindow] = []
    instants = _funding_instants(schedule, (moment - _SEARCH_BEFORE).date(), (moment + _SEARCH_AFTER).date())
    for instant in instants:
        start, end = instant - schedule.guard_before, instant + schedule.guard_after
        if start == end:
            continue
        if windows and start <= windows[-1].end:
            last = windows[-1]
            windows[-1] = replace(last, end=end, later_fundings=(*last.later_fundings, instant))
        else:
            windows.append(FundingWindow(venue, instant, start, end))
    return windows


def _funding_instants(schedule: FundingSchedule, first_day: date, last_day: date) -> list[datetime]:
    """Every funding time of ``schedule`` on the UTC days ``first_day`` to ``last_day``, in order."""
    days = [first_day + timedelta(days=offset) for offset in range((last_day - first_day).days + 1)]
    return [datetime.combine(day, moment, tzinfo=timezone.utc) for day in days for moment in schedule.times]


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"expected an aware datetime, got naive {moment.isoformat()}")
    return moment.astimezone(timezone.utc)


def _clock(moment: datetime) -> str:
    return _utc(moment).strftime("%H:%M:%S")


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"
