"""Putting an alert's job on Redis exactly once, and answering re-sends with the same job."""
from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue
from rq.job import Job
from rq.serializers import JSONSerializer

from config.settings import Settings
from executor.errors import ServiceUnavailable
from executor.intake import Intake
from executor.jobview import status_word

JOB_FUNCTION = "workers.jobs.execute_alert"
ID_DEDUPE_SECONDS = 24 * 3600
BODY_DEDUPE_SECONDS = 60
#: How long a finished job and its record stay readable.
RESULT_TTL = 7 * 24 * 3600
#: How long a failed job stays, so an operator can read and replay it.
FAILURE_TTL = 7 * 24 * 3600
#: Longest a job may run before RQ stops it (venue requests are bounded well below this).
JOB_TIMEOUT = 120
KEY_PREFIX = "executor:dedupe:"


@dataclass(frozen=True)
class Submission:
    job_id: str
    status: str
    duplicate: bool


def make_queue(connection: Redis, settings: Settings) -> Queue:
    return Queue(settings.queue_name, connection=connection, serializer=JSONSerializer)


def dedupe_key(intake: Intake) -> tuple[str, int]:
    """By the sender's ``id`` for a day; otherwise by the body (secret excluded) for a minute."""
    if intake.alert.id:
        return f"{KEY_PREFIX}id:{intake.alert.id}", ID_DEDUPE_SECONDS
    canonical = json.dumps(intake.body, sort_keys=True, default=str, separators=(",", ":"))
    return f"{KEY_PREFIX}body:{hashlib.sha256(canonical.encode()).hexdigest()}", BODY_DEDUPE_SECONDS


def submit(queue: Queue, intake: Intake, received_at: datetime) -> Submission:
    """Enqueue the alert's job unless it was already accepted; raise ServiceUnavailable if Redis fails."""
    key, ttl = dedupe_key(intake)
    job_id = f"alert-{uuid.uuid4().hex}"
    try:
        claimed = queue.connection.set(key, job_id, nx=True, ex=ttl)
        if not claimed:
            existing = queue.connection.get(key)
            if existing is not None:
                return _answer_duplicate(queue, intake, existing.decode(), received_at)
            queue.connection.set(key, job_id, ex=ttl)
        _enqueue(queue, intake, job_id, received_at)
    except RedisError as exc:
        raise ServiceUnavailable(f"Redis could not take the job ({type(exc).__name__})") from None
    return Submission(job_id, "queued", duplicate=False)


def _answer_duplicate(queue: Queue, intake: Intake, job_id: str, received_at: datetime) -> Submission:
    job = Job.fetch(job_id, connection=queue.connection, serializer=JSONSerializer) if _job_exists(queue, job_id) else None
    if job is None:
        # The first request claimed the key and died before enqueueing: this copy takes its place.
        _enqueue(queue, intake, job_id, received_at)
        return Submission(job_id, "queued", duplicate=True)
    return Submission(job_id, status_word(job), duplicate=True)


def _job_exists(queue: Queue, job_id: str) -> bool:
    return bool(queue.connection.exists(Job.key_for(job_id)))


def _enqueue(queue: Queue, intake: Intake, job_id: str, received_at: datetime) -> Job:
    payload: dict[str, Any] = {"alert": intake.alert.to_job(), "received_at": received_at.isoformat()}
    alert = intake.alert
    return queue.enqueue_call(
        JOB_FUNCTION,
        args=(payload,),
        job_id=job_id,
        timeout=JOB_TIMEOUT,
        result_ttl=RESULT_TTL,
        failure_ttl=FAILURE_TTL,
        description=f"{alert.action} {alert.venue} {alert.symbol}",
        meta={"received_at": received_at.isoformat(), "venue": alert.venue, "attempts": []},
    )
