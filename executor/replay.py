"""An operator's hands on jobs: list them, show one, and replay one that failed (or, forced, one that succeeded).

A replay runs the job again the way its first run went: it rejoins the end of its
instrument's lane, so order per instrument, funding windows, rate limits and
reconciliation all apply as before. Its record in ``job.meta["replays"]`` is what
the runner reads (execution.py): the staleness clock restarts at the replay, the
retry allowance is fresh, and a forced replay gets a new idempotency key.

A failed job whose last request's outcome was never learned keeps ``in_flight``,
so its replay reads the venue before sending anything: if the action had in fact
happened, the replay finds it done instead of doing it twice.
"""
from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta, timezone
from typing import Any

from redis import Redis
from rq import Queue
from rq.job import Job
from rq.serializers import JSONSerializer

from executor.errors import ExecutorError
from executor.history import SUCCESS_OUTCOMES
from executor.jobview import UnreadableJob, alert_payload, describe, fetch_job, status_word
from executor.lanes import Lanes
from executor.queueing import rejoin_lane

log = logging.getLogger(__name__)

#: ``jobs list`` filters and the RQ statuses each one shows (None: every status).
LIST_FILTERS: dict[str, frozenset[str] | None] = {
    "failed": frozenset({"failed"}),
    "deferred": frozenset({"scheduled", "deferred"}),  # our deferrals, and jobs waiting in their lane
    "all": None,
}
#: Statuses of a job that will run anyway: replaying it would queue it twice.
PENDING = frozenset({"queued", "started", "scheduled", "deferred"})
#: How many times a replay is tried again when the job changed between reading it and claiming it.
CLAIM_TRIES = 5
_RELATIVE = re.compile(r"^(\d+)\s*([mhd])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


class JobNotFound(ExecutorError):
    """No such job: never accepted, or expired after JOB_RETENTION_DAYS. Answered 404; the CLI exits 1."""


class ReplayRefused(ExecutorError):
    """Replaying the job now would act twice or pointlessly; the message says why. Answered 409; the CLI exits 1."""


def parse_since(text: str, now: datetime) -> datetime:
    """``30m``, ``2h``, ``1d`` before ``now``, or an ISO 8601 moment (UTC when it names no offset)."""
    relative = _RELATIVE.match(text.strip().lower())
    if relative:
        return now - timedelta(**{_UNITS[relative.group(2)]: int(relative.group(1))})
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r} is neither ISO 8601 nor a duration like 30m, 2h, 1d") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def list_jobs(queue: Queue, which: str = "failed", *, venue: str | None = None,
              since: datetime | None = None, symbol: str | None = None) -> list[Job]:
    """Jobs still in Redis with the filter's statuses, oldest alert first (the order a bulk replay keeps).

    ``since`` compares with when the alert was received; ``symbol`` matches the alert's symbol as
    the venue names it or as it was sent (``BTC`` or ``BTCUSDT.P``), in any case. Reads RQ's
    registries without cleaning them, so listing never moves a job.
    """
    statuses = LIST_FILTERS[which]
    jobs = readable_jobs(queue.connection, _candidate_ids(queue, which))
    return sorted([job for job in jobs if matches(job, statuses, venue=venue, symbol=symbol, since=since)],
                  key=_arrival)


def matches(job: Job, statuses: frozenset[str] | None, *, venue: str | None = None, symbol: str | None = None,
            since: datetime | None = None) -> bool:
    """Whether ``job`` passes ``list_jobs``'s filters (``statuses`` as RQ names them; None: any)."""
    return ((statuses is None or status_word(job) in statuses)
            and (venue is None or _venue(job) == venue.lower())
            and (symbol is None or symbol.upper() in _symbols(job))
            and (since is None or _received_since(job, since)))


def readable_jobs(connection: Redis, ids: list[str]) -> list[Job]:
    """The jobs of ``ids`` still in Redis, in one round trip; if that fails, read one by one, where
    ``fetch_job`` tells a damaged job (left out) from Redis failing (raised)."""
    try:
        jobs = [job for job in Job.fetch_many(ids, connection=connection, serializer=JSONSerializer) if job]
        for job in jobs:
            job.args  # noqa: B018  RQ reads the alert lazily
        return jobs
    except Exception:
        return _each_readable(connection, ids)


def _each_readable(connection: Redis, ids: list[str]) -> list[Job]:
    """The jobs of ``ids`` still in Redis, a damaged one left out with an error in the log."""
    readable = []
    for job_id in ids:
        try:
            job = fetch_job(connection, job_id)
        except UnreadableJob as exc:
            log.error("%s; left out of the list", exc)
            continue
        if job is not None:
            readable.append(job)
    return readable


def _arrival(job: Job) -> tuple[datetime, datetime]:
    """When the alert was received, then when its job was created (alerts received in the same instant)."""
    earliest = datetime.min.replace(tzinfo=timezone.utc)
    return received_at(job) or earliest, job.created_at or earliest


def _received_since(job: Job, since: datetime) -> bool:
    moment = received_at(job)
    return moment is not None and moment >= since


def _candidate_ids(queue: Queue, which: str) -> list[str]:
    """Ids from the places a job of these statuses can be: RQ's registries, the queue, the lanes.
    Registries are read without RQ's clean-up: a listing changes nothing."""
    registries = {"failed": [queue.failed_job_registry],
                  "deferred": [queue.scheduled_job_registry, queue.deferred_job_registry]}.get(which)
    if registries is None:
        registries = [queue.failed_job_registry, queue.scheduled_job_registry, queue.deferred_job_registry,
                      queue.finished_job_registry]
    ids = [job_id for registry in registries for job_id in registry.get_job_ids(cleanup=False)]
    if which == "all":
        ids += queue.get_job_ids()
        ids += queue.started_job_registry.get_job_ids(cleanup=False)
    if which != "failed":
        lanes = Lanes(queue)
        ids += [job_id for lane in lanes.known_lanes() for job_id in lanes.waiting(lane)]
    return list(dict.fromkeys(ids))


def received_at(job: Job) -> datetime | None:
    payload = alert_payload(job)
    text = payload.get("received_at") or (job.meta or {}).get("received_at")
    try:
        return datetime.fromisoformat(text) if isinstance(text, str) else None
    except ValueError:  # not an alert's job
        return None


def summary_line(job: Job) -> str:
    """One line for ``jobs list``: id, status, venue, action, symbol, received_at, last outcome or error."""
    view = describe(job)
    alert = view.get("alert") or {}
    action = alert.get("action") or (f"to {alert['market_position']}" if alert.get("market_position") else "-")
    fields = (job.id, f"{view['status']:<8}", f"{alert.get('venue', '-'):<10}", f"{action:<7}",
              f"{alert.get('symbol', '-'):<10}", view.get("received_at") or "-", _last_word(view))
    return "  ".join(str(field) for field in fields)


def _last_word(view: dict[str, Any]) -> str:
    if view["status"] == "failed":
        error = view["error"] or {}
        text = f"{error.get('type')}: {error.get('message')}"
    elif view["status"] == "deferred":
        deferral = view["deferred"]
        text = f"{deferral.get('reason')} until {deferral.get('until') or 'its turn'}: {deferral.get('message')}"
    elif view["attempts"]:
        last = view["attempts"][-1]
        text = f"{last.get('outcome', 'running')}" + (f", order {last['order_id']}" if last.get("order_id") else "")
    else:
        text = "-"
    return " ".join(text.split())  # one line, whatever the venue wrote


def show(connection: Redis, job_id: str) -> dict[str, Any]:
    return describe(_fetch(connection, job_id))


def replay(queue: Queue, job_id: str, *, origin: str, now: datetime, force: bool = False) -> Job:
    """Run a failed job again (a finished one only with ``force``) through its lane, as its first run went.

    ``origin`` says who asked (``cli:user@host``, ``api:address``) and is kept in the job's history.
    Raises JobNotFound, or ReplayRefused when the job is pending or succeeded without ``force``.
    Taking the job out of its registry, noting the replay and joining its lane are one step.
    """
    for _ in range(CLAIM_TRIES):
        job = _fetch(queue.connection, job_id)
        status = status_word(job)
        lane = job.meta.get("lane") or alert_payload(job)["lane"]
        _check_replayable(queue, job, status, lane, force)
        if _claim(queue, job, status, lane, origin=origin, now=now, force=force):
            job.get_status(refresh=True)  # queued, or deferred behind its lane: what the caller shows
            return job
    raise ReplayRefused(f"job {job_id} kept changing while it was being replayed; try again")


def _claim(queue: Queue, job: Job, status: str, lane: str, *, origin: str, now: datetime, force: bool) -> bool:
    """Take the job out of RQ's failed or finished registry and put it at the end of its lane, with the replay
    in its history, in one step; only one of two simultaneous replays wins. False: its meta changed meanwhile."""
    registry = queue.failed_job_registry if status == "failed" else queue.finished_job_registry
    meta_read = queue.connection.hget(job.key, "meta") or b""
    job.meta = job.serializer.loads(meta_read) if meta_read else {}
    if status == "finished":  # forced: its last request's outcome is known, nothing to reconcile
        job.meta.pop("in_flight", None)
    job.meta.pop("error", None)
    job.meta.pop("deferred", None)
    job.meta.setdefault("replays", []).append({"at": now.isoformat(), "from": origin, "force": force})
    job.meta["lane"] = lane
    job.meta.setdefault("events", []).append(replay_event(now, origin, force, status))
    outcome = rejoin_lane(queue, job, lane, registry.key, meta_read)
    if outcome == "gone":
        raise ReplayRefused(f"job {job.id} is no longer in the {status} registry: someone else is replaying it")
    if outcome == "head":
        raise ReplayRefused(f"job {job.id} is still the head of its lane {lane}; the workers move the lane on "
                            f"within seconds: try again shortly")
    return outcome != "changed"


def replay_event(now: datetime, origin: str, force: bool, status: str) -> dict[str, Any]:
    """The event a replay adds to the job's history."""
    return {"at": now.isoformat(), "event": "replayed",
            "message": f"replayed{' (forced)' if force else ''} by {origin}, after it {status}",
            "origin": origin, "force": force}


def _check_replayable(queue: Queue, job: Job, status: str, lane: str, force: bool) -> None:
    if status in PENDING:
        raise ReplayRefused(f"job {job.id} is {status}: it will run anyway; replay only a failed job")
    if status == "finished" and not force:
        raise ReplayRefused(f"job {job.id} already succeeded: {_first_answer(job)}; use --force to do it again")
    if status not in ("failed", "finished"):
        raise ReplayRefused(f"job {job.id} is {status}; only a failed job (or, forced, a finished one) is replayed")
    if Lanes(queue).head(lane) == job.id:
        raise ReplayRefused(f"job {job.id} is still the head of its lane {lane}; the workers move the lane on "
                            f"within seconds: try again shortly")


def previous_answer(job: Job) -> str:
    """What the venue answered the job's last run, in words, for the confirmation before a replay."""
    view = describe(job)
    if view["status"] == "finished":
        return f"it succeeded: {_first_answer(job)}"
    if view["status"] == "failed":
        error = view["error"] or {}
        return f"it failed: {error.get('type', 'error')}: {error.get('message', 'no message')}"
    return f"it is {view['status']}"


def _first_answer(job: Job) -> str:
    """What the venue answered when the job succeeded: action, venue, order id, how we learned it, when."""
    alert = alert_payload(job).get("alert") or {}
    result = describe(job).get("result") or {}
    success = next((a for a in reversed(job.meta.get("attempts", [])) if a.get("outcome") in SUCCESS_OUTCOMES), {})
    order = f"order {result['order_id']}" if result.get("order_id") else "no order id"
    action = result.get("action") or alert.get("action") or "nothing sent"
    return (f"{action} on {result.get('venue') or alert.get('venue')}, "
            f"{order} ({success.get('outcome', 'sent')}) at {success.get('ended_at') or _iso(job.ended_at)}")


def _fetch(connection: Redis, job_id: str) -> Job:
    job = fetch_job(connection, job_id)
    if job is None:
        raise JobNotFound(f"no job {job_id} (unknown, or expired after JOB_RETENTION_DAYS)")
    return job


def _symbols(job: Job) -> set[str]:
    alert = alert_payload(job).get("alert") or {}
    return {str(alert[name]).upper() for name in ("symbol", "raw_symbol") if alert.get(name)}


def _venue(job: Job) -> str:
    return str((job.meta or {}).get("venue") or (alert_payload(job).get("alert") or {}).get("venue") or "").lower()


def _iso(value: datetime | None) -> str:
    return value.isoformat() if value else "an unknown time"
