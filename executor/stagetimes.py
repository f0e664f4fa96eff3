"""When the running attempt's venue requests left and were answered: its ``timings`` record.

Each attempt of a job keeps, in its record in the job's meta (``executor.history.Attempt``)::

    "timings": {"started_at": ISO, "first_request_at": ISO or null, "answered_at": ISO or null}

when the attempt started, when its first venue request left (after its rate-limit slot and funding check),
and when the venue's answer to its last request arrived, in UTC. The job's view shows the latest attempt's
(``executor.jobview.describe``), and the stage histogram is made from them (``executor.joblife``).

A worker runs one job at a time per process, so the attempt being timed is kept here for the process, as
``executor.ownership`` keeps the job's hold: the transport marks each request without knowing the job.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Callable

Timings = dict[str, Any]

_timings: Timings | None = None
_clock: Callable[[], datetime] | None = None


def new_timings(started_at: str) -> Timings:
    return {"started_at": started_at, "first_request_at": None, "answered_at": None}


def follow(timings: Timings, clock: Callable[[], datetime]) -> None:
    """Time this attempt (its record's ``timings``, updated in place), on the attempt's own clock."""
    global _timings, _clock
    _timings, _clock = timings, clock


def forget() -> None:
    global _timings, _clock
    _timings = _clock = None


def request_left() -> None:
    """A venue request is leaving now: the first one of the attempt sets ``first_request_at``."""
    if _timings is not None and _clock is not None and _timings.get("first_request_at") is None:
        _timings["first_request_at"] = _clock().isoformat()


def answer_arrived() -> None:
    """A venue's answer arrived now: ``answered_at`` is the latest one's."""
    if _timings is not None and _clock is not None:
        _timings["answered_at"] = _clock().isoformat()


def seconds_between(start: str | datetime | None, end: str | datetime | None) -> float | None:
    """Seconds from ``start`` to ``end`` (ISO texts or datetimes); None when either is missing or the span
    is negative (clocks of different processes, or a test's fixed clock)."""
    if start is None or end is None:
        return None
    first = datetime.fromisoformat(start) if isinstance(start, str) else start
    last = datetime.fromisoformat(end) if isinstance(end, str) else end
    seconds = (last - first).total_seconds()
    return seconds if seconds >= 0 else None
