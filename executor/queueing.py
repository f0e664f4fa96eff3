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
from executor.domain import Alert
from executor.intake import Intake
from executor.jobindex import index_key, score
from executor.jobview import fetch_job, status_word
from executor.keyspace import key_prefix
from executor.lanes import Lanes, lane_of
from executor.rqlayout import RQ_ENQUEUE_LUA, RQ_JOB_LUA, RQ_REOPEN_LUA, enqueued_at_now

log = logging.getLogger(__name__)

JOB_FUNCTION = "workers.jobs.execute_alert"
DAY_SECONDS = 24 * 3600
ID_DEDUPE_SECONDS = DAY_SECONDS
#: Default of ``DEDUPE_WINDOW``: how long an alert without ``id`` is a re-send of an identical body.
BODY_DEDUPE_SECONDS = 60
#: Longest a job may run before RQ stops it: a few venue requests of at most 13 s each and a 2 s rate-limit wait.
JOB_TIMEOUT = 45

# The jobs of one alert (one per account), all in one step: each claims its dedupe key (unless its dedupe
# seconds are 0), or answers with the job that holds it. A job that claimed it (or needs none) is saved as
# waiting, indexed by when its alert was received (``executor.jobindex``) and appended to its lane; at the
# lane's head, it is put on the RQ queue as RQ's enqueue would.
# One script, so Redis takes all of an alert's jobs or none of them.
# KEYS: lane index, RQ queue, RQ's set of queues, the job index, then per job: its hash, its lane, its dedupe key.
# ARGV: enqueued_at, the number of jobs, the alert's received_at (the jobs' score in the job index), then per
# job: id, lane, dedupe seconds, the number of hash fields and values, then those. Returns per job
# {'queued' | 'deferred' | 'duplicate', job id}.
_CLAIM_AND_JOIN_LANES = RQ_ENQUEUE_LUA + """
local results, at = {}, 4
for i = 1, tonumber(ARGV[2]) do
  local job_key, lane_key, dedupe_key = KEYS[3 * i + 2], KEYS[3 * i + 3], KEYS[3 * i + 4]
  local job_id, lane, dedupe_seconds, count = ARGV[at], ARGV[at + 1], tonumber(ARGV[at + 2]), tonumber(ARGV[at + 3])
  local first, last = at + 4, at + 3 + count
  at = last + 1
  if dedupe_seconds > 0 and not redis.call('SET', dedupe_key, job_id, 'NX', 'EX', dedupe_seconds) then
    results[i] = {'duplicate', redis.call('GET', dedupe_key)}
  else
    redis.call('HSET', job_key, unpack(ARGV, first, last))
    redis.call('ZADD', KEYS[4], ARGV[3], job_id)
    redis.call('SADD', KEYS[1], lane)
    if redis.call('RPUSH', lane_key, job_id) > 1 then
      results[i] = {'deferred', job_id}
    else
      rq_enqueue(job_key, KEYS[2], KEYS[3], job_id, ARGV[1])
      results[i] = {'queued', job_id}
    end
  end
end
return results
"""
# A replay's claim and its joining the lane, in one step: only while the job is still in KEYS[6] (RQ's failed or
# finished registry), is not its lane's head and its meta is still ARGV[4], it leaves that registry, stops
# expiring and joins its lane afresh (saved as waiting, queued at the lane's head). A second run of the same
# replay (its answer was lost) finds it done. KEYS: job hash, lane, lane index, RQ queue, RQ's set of queues,
# the registry. ARGV: job id, lane, enqueued_at, meta as read, then the job hash's fields and values.
_REJOIN_LANE = RQ_JOB_LUA + RQ_REOPEN_LUA + RQ_ENQUEUE_LUA + """
local function meta_written()
  for i = 5, #ARGV, 2 do if ARGV[i] == 'meta' then return ARGV[i + 1] end end
  return ''
end
if not rq_ended_in(KEYS[6], ARGV[1]) then
  if rq_meta(KEYS[1]) == meta_written() then return 'replayed' end
  return 'gone'
end
if redis.call('LINDEX', KEYS[2], 0) == ARGV[1] then return 'head' end
if rq_meta(KEYS[1]) ~= ARGV[4] then return 'changed' end
rq_reopen(KEYS[1], KEYS[6], ARGV[1])
redis.call('LREM', KEYS[2], 0, ARGV[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 5))
redis.call('SADD', KEYS[3], ARGV[2])
if redis.call('RPUSH', KEYS[2], ARGV[1]) > 1 then return 'deferred' end
rq_enqueue(KEYS[1], KEYS[4], KEYS[5], ARGV[1], ARGV[3])
return 'queued'
"""


@dataclass(frozen=True)
class Submission:
    job_id: str
    status: str
    duplicate: bool
    #: The account the job acts on (None: the venue's default account).
    account: str | None = None


def dedupe_key(queue: Queue, intake: Intake, alert: Alert | None = None,
               body_window: int = BODY_DEDUPE_SECONDS) -> tuple[str, int] | None:
    """By the sender's ``id`` for a day; otherwise by the body (secret excluded) for ``body_window`` seconds,
    and not at all when that is 0. Each account of an alert has its own key."""
    alert = alert or intake.alert
    prefix = key_prefix(queue.name) + "dedupe:"
    scope = f":{alert.venue}:{alert.account.lower()}" if alert.account else ""
    if alert.id:
        return f"{prefix}id:{alert.id}{scope}", ID_DEDUPE_SECONDS
    if body_window <= 0:
        return None
    canonical = json.dumps(intake.body, sort_keys=True, default=str, separators=(",", ":"))
    return f"{prefix}body:{hashlib.sha256(canonical.encode()).hexdigest()}{scope}", body_window


def submit(queue: Queue, intake: Intake, received_at: datetime, retention_days: int,
           dedupe_window: int = BODY_DEDUPE_SECONDS) -> Submission:
    """The job of a single-account alert (see ``submit_all``)."""
    return submit_all(queue, intake, received_at, retention_days, dedupe_window)[0]


def submit_all(queue: Queue, intake: Intake, received_at: datetime, retention_days: int,
               dedupe_window: int = BODY_DEDUPE_SECONDS) -> list[Submission]:
    """Enqueue the alert's job for each of its accounts unless that account's job was already accepted; raise
    ServiceUnavailable if Redis fails. One Submission per account, in the alert's order.

    Once finished or failed, a job stays readable and replayable for ``retention_days``.

    Claiming the dedupe keys, saving the jobs and joining their lanes (and the queue, at a lane's head) are
    one script: one round trip, never a claimed key without its job, never part of an alert's jobs.
    """
    jobs = [(_new_job(queue, intake, f"alert-{uuid.uuid4().hex}", received_at, retention_days, alert),
             lane_of(alert), dedupe_key(queue, intake, alert, dedupe_window)) for alert in intake.alerts]
    try:
        outcomes = _claim_and_join_lanes(queue, jobs)
        return [_answer(queue, intake, alert, status, job_id, received_at, retention_days)
                for alert, (status, job_id) in zip(intake.alerts, outcomes)]
    except RedisError as exc:
        raise ServiceUnavailable(f"Redis could not take the job ({type(exc).__name__})") from None


def _answer(queue: Queue, intake: Intake, alert: Alert, status: str, job_id: str, received_at: datetime,
            retention_days: int) -> Submission:
    if status == "duplicate":
        return _answer_duplicate(queue, intake, alert, job_id, received_at, retention_days)
    return Submission(job_id, "queued", duplicate=False, account=alert.account)


def _answer_duplicate(queue: Queue, intake: Intake, alert: Alert, job_id: str, received_at: datetime,
                      retention_days: int) -> Submission:
    job = fetch_job(queue.connection, job_id)
    if job is not None and job.args and job.args[0].get("alert") != alert.to_job():
        log.warning("alert id %s came again with a different alert (%s); answered as a duplicate of job %s and "
                    "not performed: give each signal its own id", alert.id, alert.describe(), job_id)
    if job is None:
        # The job was deleted while its dedupe key lives on: this copy takes its place, under its id.
        join_lane(queue, _new_job(queue, intake, job_id, received_at, retention_days, alert), lane_of(alert))
        return Submission(job_id, "queued", duplicate=True, account=alert.account)
    return Submission(job_id, status_word(job), duplicate=True, account=alert.account)


def _new_job(queue: Queue, intake: Intake, job_id: str, received_at: datetime, retention_days: int,
             alert: Alert | None = None) -> Job:
    """The alert's job as RQ would create it, not yet saved, waiting (RQ ``deferred``) until it is queued."""
    alert = alert or intake.alert
    lane = lane_of(alert)
    payload: dict[str, Any] = {"alert": alert.to_job(), "received_at": received_at.isoformat(), "lane": lane}
    return queue.create_job(
        JOB_FUNCTION,
        args=(payload,),
        job_id=job_id,
        timeout=JOB_TIMEOUT,
        result_ttl=retention_days * DAY_SECONDS,
        failure_ttl=retention_days * DAY_SECONDS,
        description=alert.describe(),
        meta={"received_at": received_at.isoformat(), "venue": alert.venue, "lane": lane, "attempts": []},
        status=JobStatus.DEFERRED,
    )


def join_lane(queue: Queue, job: Job, lane: str) -> None:
    """Save the job as waiting and append it to its lane, atomically; queue it if it is the head."""
    _claim_and_join_lanes(queue, [(job, lane, None)])


def rejoin_lane(queue: Queue, job: Job, lane: str, registry_key: str, meta_read: bytes) -> str:
    """A replay: take the job out of RQ's ``registry_key`` (failed or finished) and save it (as ``job`` is now)
    at the end of its lane, queued if it is the head, in one step. ``queued``, ``deferred`` or ``replayed``
    (this replay had already been made); ``gone`` (no longer in the registry), ``head`` (still its lane's head)
    or ``changed`` (its meta is no longer ``meta_read``): nothing done."""
    job.origin = queue.name
    saved = {**job.to_dict(), "status": JobStatus.DEFERRED.value}
    lanes = Lanes(queue)
    keys = [job.key, lanes.key(lane), lanes.index_key, queue.key, queue.redis_queues_keys, registry_key]
    args = [job.id, lane, enqueued_at_now(), meta_read, *(item for pair in saved.items() for item in pair)]
    return queue.connection.register_script(_REJOIN_LANE)(keys=keys, args=args).decode()


def _claim_and_join_lanes(queue: Queue, jobs: list[tuple[Job, str, tuple[str, int] | None]]) -> list[tuple[str, str]]:
    """Run _CLAIM_AND_JOIN_LANES for (job, lane, dedupe key and seconds or None) each: per job (``queued``,
    ``deferred`` or ``duplicate``; the job id it concerns)."""
    lanes = Lanes(queue)
    keys = [lanes.index_key, queue.key, queue.redis_queues_keys, index_key(queue.name)]
    args: list[Any] = [enqueued_at_now(), len(jobs), received_score(jobs[0][0])]
    for job, lane, claim in jobs:
        job.origin = queue.name
        saved = {**job.to_dict(), "status": JobStatus.DEFERRED.value}
        fields = [item for pair in saved.items() for item in pair]
        keys += [job.key, lanes.key(lane), claim[0] if claim else job.key]
        args += [job.id, lane, claim[1] if claim else 0, len(fields), *fields]
    results = queue.connection.register_script(_CLAIM_AND_JOIN_LANES)(keys=keys, args=args)
    return [(status.decode(), job_id.decode()) for status, job_id in results]


def received_score(job: Job) -> float:
    """The job's score in the job index: when its alert was received."""
    return score(datetime.fromisoformat(job.meta["received_at"]))


def put_on_queue(queue: Queue, job: Job) -> None:
    """Move a job onto the queue as RQ's enqueue does, in one round trip (tests use it to run a job now)."""
    with queue.connection.pipeline() as pipe:
        pipe.multi()
        job.set_status(JobStatus.QUEUED, pipeline=pipe)
        queue.enqueue_job(job, pipeline=pipe)
        pipe.execute()
