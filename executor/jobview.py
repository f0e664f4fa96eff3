"""A job as a person reads it: status, alert, times, attempts, and the venue's answer or the error."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime
from typing import Any, Iterator

from redis import Redis
from redis.exceptions import RedisError
from rq.exceptions import NoSuchJobError
from rq.job import JOB_ID_PATTERN, Job
from rq.serializers import JSONSerializer

from executor.errors import ExecutorError


class UnreadableJob(ExecutorError):
    """A job whose stored hash cannot be read back (changed by hand or by another program). It can never run."""

    def __init__(self, job_id: str, cause: BaseException) -> None:
        super().__init__(f"job {job_id} cannot be read: its stored data is damaged ({type(cause).__name__}: {cause})")
        self.job_id = job_id


@contextmanager
def reading(job_id: str) -> Iterator[None]:
    """Around reading a stored job: what RQ's parsing raises (ValueError, AssertionError,
    DeserializationError...) becomes ``UnreadableJob``; Redis's own errors and "no such job" pass as they are."""
    try:
        yield
    except (RedisError, NoSuchJobError):
        raise
    except Exception as exc:
        raise UnreadableJob(job_id, exc) from exc


def fetch_job(connection: Redis, job_id: str) -> Job | None:
    """The job, or None when there is none (including for an id no job can have, such as ``a b``).
    Raises ``UnreadableJob`` for a job whose stored data is damaged."""
    if not JOB_ID_PATTERN.fullmatch(job_id):
        return None
    try:
        with reading(job_id):
            job = Job.fetch(job_id, connection=connection, serializer=JSONSerializer)
            job.args  # noqa: B018  RQ reads the alert lazily: damage there shows now, not in a caller
    except NoSuchJobError:
        return None
    return job


def alert_payload(job: Job) -> dict[str, Any]:
    """The alert job's argument (the alert, when it was received, its lane); {} for any other job on the queue."""
    first = job.args[0] if job.args else None
    return first if isinstance(first, dict) else {}


def describe(job: Job) -> dict[str, Any]:
    meta = job.meta or {}
    payload = alert_payload(job)
    status = status_word(job)
    view: dict[str, Any] = {
        "job_id": job.id,
        "status": status,
        "description": job.description,
        "alert": payload.get("alert"),
        "received_at": payload.get("received_at"),
        "enqueued_at": _iso(job.enqueued_at),
        "started_at": _iso(job.started_at),
        "ended_at": _iso(job.ended_at),
        "attempts": meta.get("attempts", []),
        "timings": latest_timings(meta.get("attempts", [])),
        "events": meta.get("events", []),
        "replays": meta.get("replays", []),
        "result": None,
        "error": None,
    }
    if status in ("scheduled", "deferred"):
        status = view["status"] = "deferred"
        view["deferred"] = meta.get("deferred") or {
            "until": None, "reason": "order", "message": f"waiting for the jobs before it on {meta.get('lane')}"}
    if status == "finished":
        view["result"] = _latest_return_value(job)
    if status == "failed":
        view["error"] = meta.get("error") or {"type": "unknown", "message": _last_line(job.exc_info)}
    return view


def latest_timings(attempts: list[dict[str, Any]]) -> dict[str, Any]:
    """The latest attempt's ``timings`` (``executor.stagetimes``): when it started, when its first venue request
    left and when the venue's answer to its last arrived; null where not known (no attempt yet, nothing sent)."""
    latest = attempts[-1] if attempts else {}
    timings = latest.get("timings") or {}
    return {"started_at": timings.get("started_at", latest.get("started_at")),
            "first_request_at": timings.get("first_request_at"), "answered_at": timings.get("answered_at")}


def status_word(job: Job) -> str:
    status = job.get_status(refresh=False)
    return getattr(status, "value", status) or "unknown"


def _latest_return_value(job: Job) -> Any:
    result = job.latest_result()
    return result.return_value if result is not None else job.return_value()


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _last_line(text: str | None) -> str:
    return text.strip().splitlines()[-1] if text else ""
