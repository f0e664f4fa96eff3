"""``GET /jobs``: the jobs still in Redis, newest alert first, filtered and paged, each as a one-row summary.

The jobs are found in the job index (``executor.jobindex``), newest first, and filtered as ``executor jobs
list`` filters them (``executor.replay``); this module also filters on what the CLI does not, pages, and says
per job what the page shows: its status, venue, account, symbol, action, last outcome or error, and how long
each stage took.
"""
from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from rq import Queue
from rq.job import Job

from executor.accounts import display
from executor.console.signallog import BadQuery
from executor.jobview import alert_payload, describe, status_word
from executor.jobindex import forget_gone, newest_first, received_at_the_same_time
from executor.replay import list_jobs, matches, previous_answer, readable_jobs, received_at

#: The statuses ``GET /jobs`` filters on, as a job's view names them.
STATUSES = ("queued", "deferred", "started", "finished", "failed")
#: Jobs read from the job index per round trip while a page fills.
INDEX_BATCH = 200


@dataclass(frozen=True)
class JobPage:
    jobs: list[dict[str, Any]]
    next_cursor: str | None


def job_page(queue: Queue, *, statuses: frozenset[str], venue: str | None, symbol: str | None,
             since: datetime | None, limit: int, cursor: str | None, search: str | None) -> JobPage:
    """At most ``limit`` job summaries of the given statuses, newest alert first, after ``cursor``.

    Without a search, the jobs are read from the job index newest first, only until the page is full; a search
    (by job or alert id) reads every job, as ``executor jobs list`` does."""
    after = _read_cursor(cursor) if cursor else None

    def wanted(job: Job) -> bool:
        return (shown_status(job) in statuses and matches(job, None, venue=venue, symbol=symbol, since=since)
                and (after is None or _order(job) < after))

    if search is None:
        jobs = _newest_indexed(queue, wanted, after, since, limit)
    else:
        jobs = sorted((job for job in list_jobs(queue, _which(statuses), venue=venue, since=since, symbol=symbol)
                       if _names(job, search) and wanted(job)), key=_order, reverse=True)
    page = jobs[:limit]
    next_cursor = _cursor(page[-1]) if len(jobs) > limit else None
    return JobPage([summary(describe(job)) for job in page], next_cursor)


def _newest_indexed(queue: Queue, wanted: Callable[[Job], bool], after: tuple[str, str, str] | None,
                    since: datetime | None, limit: int) -> list[Job]:
    """The ``wanted`` jobs of the index, newest first, read a batch at a time until more than ``limit`` are
    found, with every job received at the same moment as the last one read (they may order before it)."""
    found: dict[str, Job] = {}
    gone: list[str] = []
    top = datetime.fromisoformat(after[0]).timestamp() if after and after[0] else None
    for batch in newest_first(queue, at_most=top, at_least=since.timestamp() if since else None,
                              batch=max(INDEX_BATCH, limit + 1)):
        _read_into(queue, [job_id for job_id, _ in batch], wanted, found, gone)
        if len(found) > limit:
            _read_into(queue, received_at_the_same_time(queue, batch[-1][1]), wanted, found, gone)
            break
    forget_gone(queue, gone)
    return sorted(found.values(), key=_order, reverse=True)


def _read_into(queue: Queue, job_ids: list[str], wanted: Callable[[Job], bool], found: dict[str, Job],
               gone: list[str]) -> None:
    """Read the jobs of ``job_ids`` not read yet: the ``wanted`` ones into ``found``, the ids of those that
    could not be read into ``gone``."""
    unread = [job_id for job_id in job_ids if job_id not in found]
    jobs = {job.id: job for job in readable_jobs(queue.connection, unread)}
    gone += [job_id for job_id in unread if job_id not in jobs]
    found.update((job_id, job) for job_id, job in jobs.items() if wanted(job))


def detail(job: Job) -> dict[str, Any]:
    """``GET /jobs/<id>``: the job's view, with its stages in ms and whether (and how) it can be replayed."""
    view = describe(job)
    return {**view, "stages": stage_timings(view), "replay": replay_offer(job)}


def replay_offer(job: Job) -> dict[str, Any]:
    """"Replay" for a failed job, "Force replay" for one that succeeded, with what the venue answered its last
    run (the confirmation says it); nothing for a job that will run anyway."""
    action = {"failed": "Replay", "finished": "Force replay"}.get(shown_status(job))
    return {"action": action, "force": action == "Force replay", "before": previous_answer(job) if action else None}


def shown_status(job: Job) -> str:
    """A job's status as its view names it: RQ's ``scheduled`` is shown ``deferred``."""
    status = status_word(job)
    return "deferred" if status == "scheduled" else status


def summary(view: dict[str, Any]) -> dict[str, Any]:
    """One row of the jobs list, from the job's view (``executor.jobview.describe``)."""
    alert = view.get("alert") or {}
    attempts = view.get("attempts") or []
    error = view.get("error") or None
    result = view.get("result") if isinstance(view.get("result"), dict) else {}
    return {
        "job_id": view["job_id"],
        "status": view["status"],
        "venue": alert.get("venue"),
        "account": display(alert.get("account")),
        "symbol": alert.get("symbol"),
        "raw_symbol": alert.get("raw_symbol"),
        "action": alert.get("action") or (f"to {alert['market_position']}" if alert.get("market_position") else None),
        "alert_id": alert.get("id"),
        "received_at": view.get("received_at"),
        "enqueued_at": view.get("enqueued_at"),
        "started_at": view.get("started_at"),
        "ended_at": view.get("ended_at"),
        "attempts": len(attempts),
        "outcome": attempts[-1].get("outcome") if attempts else None,
        "order_id": (result or {}).get("order_id"),
        "error": {key: error.get(key) for key in ("type", "message", "code", "venue_message")} if error else None,
        "deferred": view.get("deferred"),
        "replays": len(view.get("replays") or []),
        "timings": stage_timings(view),
    }


def stage_timings(view: dict[str, Any]) -> dict[str, Any]:
    """Milliseconds of each stage of the job's latest run: queued (intake: received, or replayed, to put on
    the queue), started (the wait for a worker), first venue request (start to the first request leaving),
    venue answer (first request to the answer of the last). None where a moment is not known: the latest
    attempt's ``timings`` (``started_at``, ``first_request_at``, ``answered_at``) come from the worker."""
    attempts = view.get("attempts") or []
    latest = attempts[-1] if attempts else {}
    recorded = view.get("timings") or latest.get("timings") or {}
    replays = view.get("replays") or []
    start = replays[-1].get("at") if replays else view.get("received_at")
    marks = [start, view.get("enqueued_at"), recorded.get("started_at") or latest.get("started_at"),
             recorded.get("first_request_at"), recorded.get("answered_at")]
    spans = [_ms_between(earlier, later) for earlier, later in zip(marks, marks[1:])]
    return {"received_at": view.get("received_at"), "queued_ms": spans[0], "started_ms": spans[1],
            "first_request_ms": spans[2], "answer_ms": spans[3]}


def _ms_between(earlier: str | None, later: str | None) -> float | None:
    if not earlier or not later:
        return None
    try:
        span = datetime.fromisoformat(later.replace("Z", "+00:00")) - datetime.fromisoformat(
            earlier.replace("Z", "+00:00"))
    except ValueError:
        return None
    return round(span.total_seconds() * 1000, 1)


def _which(statuses: frozenset[str]) -> str:
    """The narrowest ``list_jobs`` filter that holds every status asked for."""
    if statuses == {"failed"}:
        return "failed"
    if statuses == {"deferred"}:
        return "deferred"
    return "all"


def _names(job: Job, search: str) -> bool:
    alert = alert_payload(job).get("alert") or {}
    return job.id == search or alert.get("id") == search


def _order(job: Job) -> tuple[str, str, str]:
    """When the alert was received, then when its job was created (alerts of one instant), then its id."""
    moment = received_at(job)
    created = job.created_at.isoformat() if job.created_at else ""
    return (moment.isoformat() if moment else "", created, job.id)


def _cursor(job: Job) -> str:
    return base64.urlsafe_b64encode("|".join(_order(job)).encode()).decode().rstrip("=")


def _read_cursor(cursor: str) -> tuple[str, str, str]:
    try:
        parts = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().split("|")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        parts = []
    if len(parts) != 3 or not parts[2]:
        raise BadQuery(f"cursor {cursor[:80]!r} is not one this API gave (next_cursor of an earlier page)")
    return parts[0], parts[1], parts[2]
