"""Putting an alert's job on Redis exactly once, and answering re-sends with the same job."""
from __future__ import annotations

import hashlib
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from redis.exceptions import RedisError
from rq import Queue
from rq.job import Job, JobStatus

from executor.errors import ServiceUnavailable
from executor.intake import Intake
from executor.jobview import UnreadableJob, fetch_job, status_word
from executor.keyspace import key_prefix
from executor.lanes import Lanes, lane_of
from executor.alertqueue import fail_unreadable
from executor.rqlayout import RQ_ENQUEUE_LUA, enqueued_at_now

log = logging.getLogger(__name__)

JOB_FUNCTION = "workers.jobs.execute_alert"
DAY_SECONDS = 24 * 3600
ID_DEDUPE_SECONDS = DAY_SECONDS
BODY_DEDUPE_SECONDS = 60
#: Longest a job may run before RQ stops it: a few venue requests of at most 13 s each and a 2 s rate-limit wait.
JOB_TIMEOUT = 45

# Save the job as waiting and append it to its lane; at the lane's head, put it on the RQ queue as
# RQ's enqueue would. KEYS: job hash, lane, lane index, RQ queue, RQ's set of queues. ARGV: job id, lane,
# enqueued_at, dedupe seconds (used by _CLAIM_AND_JOIN_LANE), then the job hash's fields and values.
_JOIN_LANE_FUNCTION = RQ_ENQUEUE_LUA + """
local function join_lane()
  redis.call('HSET', KEYS[1], unpack(ARGV, 5))
  redis.call('SADD', KEYS[3], ARGV[2])
  if redis.call('RPUSH', KEYS[2], ARGV[1]) > 1 then
    return 'deferred'
  end
  rq_enqueue(KEYS[1], KEYS[4], KEYS[5], ARGV[1], ARGV[3])
  return 'queued'
end
"""
_JOIN_LANE = _JOIN_LANE_FUNCTION + "return {join_lane(), ARGV[1]}"
# The same, only if the alert's dedupe key (KEYS[6]) was free; else the job that holds it.
_CLAIM_AND_JOIN_LANE = _JOIN_LANE_FUNCTION + """
if not redis.call('SET', KEYS[6], ARGV[1], 'NX', 'EX', ARGV[4]) then
  return {'duplicate', redis.call('GET', KEYS[6])}
end
return {join_lane(), ARGV[1]}
"""


@dataclass(frozen=True)
class Submission:
    job_id: str
    status: str
    duplicate: bool


def dedupe_key(queue: Queue, intake: Intake) -> tuple[str, int]:
    """By the sender's ``id`` for a day; otherwise by the body (secret excluded) for a minute."""
    prefix = key_prefix(queue.name) + "dedupe:"
    if intake.alert.id:
        return f"{prefix}id:{intake.alert.id}", ID_DEDUPE_SECONDS
    canonical = json.dumps(intake.body, sort_keys=True, default=str, separators=(",", ":"))
    return f"{prefix}body:{hashlib.sha256(canonical.encode()).hexdigest()}", BODY_DEDUPE_SECONDS


def submit(queue: Queue, intake: Intake, received_at: datetime, retention_days: int) -> Submission:
    """Enqueue the alert's job unless it was already accepted; raise ServiceUnavailable if Redis fails.

    Once finished or failed, the job stays readable and replayable for ``retention_days``.

    Claiming the dedupe key, saving the job and joining its lane (and the queue, at the lane's head)
    are one script: one round trip, and never a claimed key without its job.
    """
    key, ttl = dedupe_key(queue, intake)
    job = _new_job(queue, intake, f"alert-{uuid.uuid4().hex}", received_at, retention_days)
    try:
        status, job_id = _run_lane_script(_CLAIM_AND_JOIN_LANE, queue, job, job.meta["lane"], (key, ttl))
        if status == "duplicate":
            return _answer_duplicate(queue, intake, job_id, received_at, retention_days)
    except RedisError as exc:
        raise ServiceUnavailable(f"Redis could not take the job ({type(exc).__name__})") from None
    return Submission(job_id, "queued", duplicate=False)


def _answer_duplicate(queue: Queue, intake: Intake, job_id: str, received_at: datetime,
                      retention_days: int) -> Submission:
    job = fetch_job(queue.connection, job_id)
    if job is not None and job.args and job.args[0].get("alert") != intake.alert.to_job():
        log.warning("alert id %s came again with a different alert (%s %s %s); answered as a duplicate of job "
                    "%s and not performed: give each signal its own id", intake.alert.id, intake.alert.action,
                    intake.alert.venue, intake.alert.symbol, job_id)
    if job is None:
        # The job was deleted while its dedupe key lives on: this copy takes its place, under its id.
        join_lane(queue, _new_job(queue, intake, job_id, received_at, retention_days), lane_of(intake.alert))
        return Submission(job_id, "queued", duplicate=True)
    return Submission(job_id, status_word(job), duplicate=True)


def _new_job(queue: Queue, intake: Intake, job_id: str, received_at: datetime, retention_days: int) -> Job:
    """The alert's job as RQ would create it, not yet saved, waiting (RQ ``deferred``) until it is queued."""
    alert = intake.alert
    lane = lane_of(alert)
    payload: dict[str, Any] = {"alert": alert.to_job(), "received_at": received_at.isoformat(), "lane": lane}
    return queue.create_job(
        JOB_FUNCTION,
        args=(payload,),
        job_id=job_id,
        timeout=JOB_TIMEOUT,
        result_ttl=retention_days * DAY_SECONDS,
        failure_ttl=retention_days * DAY_SECONDS,
        description=f"{alert.action} {alert.venue} {alert.symbol}",
        meta={"received_at": received_at.isoformat(), "venue": alert.venue, "lane": lane, "attempts": []},
        status=JobStatus.DEFERRED,
    )


def join_lane(queue: Queue, job: Job, lane: str) -> None:
    """Save the job as waiting and append it to its lane, atomically; queue it if it is the head."""
    _run_lane_script(_JOIN_LANE, queue, job, lane)


def _run_lane_script(script: str, queue: Queue, job: Job, lane: str,
                     dedupe: tuple[str, int] | None = None) -> tuple[str, str]:
    """Run a lane script for ``job``: (``queued``, ``deferred`` or ``duplicate``; the job id it concerns)."""
    job.origin = queue.name
    fields = {**job.to_dict(), "status": JobStatus.DEFERRED.value}
    lanes = Lanes(queue)
    keys = [job.key, lanes.key(lane), lanes.index_key, queue.key, queue.redis_queues_keys]
    dedupe_seconds = 0
    if dedupe is not None:
        keys.append(dedupe[0])
        dedupe_seconds = dedupe[1]
    args = [job.id, lane, enqueued_at_now(), dedupe_seconds, *(item for pair in fields.items() for item in pair)]
    status, job_id = queue.connection.register_script(script)(keys=keys, args=args)
    return status.decode(), job_id.decode()


def fail_unrun(queue: Queue, job: Job, error: dict[str, Any]) -> None:
    """Fail a job that never ran (it waited in its lane), with a reason a person can read."""
    job.meta["error"] = error
    job.save_meta()
    with queue.connection.pipeline() as pipe:
        job.set_status(JobStatus.FAILED, pipeline=pipe)
        queue.failed_job_registry.add(job, ttl=job.failure_ttl, exc_string=error["message"], pipeline=pipe)
        pipe.execute()


def put_on_queue(queue: Queue, job: Job) -> None:
    """Move a job that waited in its lane (RQ ``deferred``) onto the queue, in one round trip."""
    with queue.connection.pipeline() as pipe:
        pipe.multi()
        job.set_status(JobStatus.QUEUED, pipeline=pipe)
        queue.enqueue_job(job, pipeline=pipe)
        pipe.execute()


def advance_lane(queue: Queue, lane: str, job_id: str) -> None:
    """Take a job that is done out of its lane and queue the next one, skipping any that has expired.
    A next one whose stored data is damaged fails, and so do the jobs behind it, as behind any failed job."""
    lanes = Lanes(queue)
    next_id = lanes.leave(lane, job_id)
    while next_id is not None:
        try:
            follower = fetch_job(queue.connection, next_id)
        except UnreadableJob as exc:
            fail_unreadable_in_lane(queue, lane, exc)
            return
        if follower is not None:
            put_on_queue(queue, follower)
            return
        next_id = lanes.leave(lane, next_id)


def fail_unreadable_in_lane(queue: Queue, lane: str, exc: UnreadableJob) -> None:
    """A job at the head of ``lane`` that cannot be read fails, and so do the jobs behind it, as behind any
    failed job."""
    log.error("lane %s: %s; failing it and the jobs waiting behind it", lane, exc)
    fail_unreadable(queue, exc)
    fail_waiting_behind(queue, lane, exc.job_id, " and cannot be read")


def fail_waiting_behind(queue: Queue, lane: str, job_id: str, why: str) -> None:
    """Take a failed job out of its lane and fail, unrun, the jobs that were waiting behind it."""
    for waiting_id in Lanes(queue).abandon(lane, job_id):
        waiting = fetch_job(queue.connection, waiting_id)
        if waiting is not None:
            fail_unrun(queue, waiting, {"type": "NotRun", "message": (
                f"not run: job {job_id} before it on {lane} failed{why}; replay it once that is settled")})
