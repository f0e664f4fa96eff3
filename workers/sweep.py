"""The sweep: jobs found in none of the places a job can be are put back where they belong, one log line each.

Every move of a job between the queue, RQ's registries and a lane is one atomic step, so the product itself
leaves no job nowhere. The sweep is for what else can: a Redis restored from an older copy, a hand edit, an
older release of the product, and one gap of RQ's own: a worker takes a job (RQ moves it to the queue's
intermediate list) and dies before starting it, where RQ's clean-up would fail it a minute or more later.

- A job in the intermediate list that no worker has started within ``DEQUEUED_GRACE_SECONDS`` of being
  seen there goes back to the front of the queue (a live worker starts its job within milliseconds).
- A job hash in no queue, registry or lane: ``queued`` or ``scheduled``, it is queued; ``started`` (its
  worker's hold is gone), it is queued to be reconciled with the venue, as a recovered job is; ``deferred``
  outside its lane (its lane was emptied when a job before it failed), it fails unrun; ``failed`` or
  ``finished``, it goes back in its registry, listed and replayable until it expires. A lane head is
  looked at on every pass of the lane chore; every job hash once every ``SWEEP_SECONDS`` by one worker.
- The same pass keeps the job index (``executor.jobindex``) in step: an alert's job it lacks is added at
  its alert's moment, and an id whose job hash is gone leaves it.

Each repair is one script that checks again, inside Redis, that the job is still nowhere.
"""
from __future__ import annotations

import logging
import time
from datetime import datetime, timezone
from typing import Any, Iterator

from redis import Redis
from rq import Queue
from rq.job import Job

from executor.alertqueue import DAMAGED_JOB_RETENTION_SECONDS, fail_unreadable
from executor.jobindex import add_missing, forget_all_gone, index_key, score
from executor.jobview import UnreadableJob, fetch_job
from executor.keyspace import key_prefix
from executor.lanes import Lanes
from executor.replay import readable_jobs, received_at
from executor.rqlayout import HOLD_LAPSE_SECONDS, dequeued_unstarted, repair_orphan, return_dequeued
from executor.scripts import text

log = logging.getLogger(__name__)

#: How often every job hash is looked at (by whichever worker takes the turn).
SWEEP_SECONDS = 60.0
#: A job taken off the queue but not started this long after the sweep first saw it goes back to the queue.
DEQUEUED_GRACE_SECONDS = float(HOLD_LAPSE_SECONDS)
#: Job hashes read per round trip of the scan.
SCAN_BATCH = 500
#: How many times a repair is tried again when the job changed between reading it and repairing it.
REPAIR_TRIES = 3
TERMINAL = frozenset({"finished", "failed", "stopped", "canceled"})
#: A meta no job has: given as the meta read, the repair script only says whether the job is somewhere.
UNMATCHABLE = b"\x00"
RUNNABLE = frozenset({"queued", "scheduled", "started", "deferred"})

_WHAT_WAS_DONE = {
    "queued": "queued again",
    "failed": "failed unrun (it waited in no lane: a job before it had failed); replay it if it is still wanted",
    "registered": "put back in its registry",
}


class DequeuedWatch:
    """Jobs taken off the queue but not started, with when this process first saw each one so."""

    def __init__(self) -> None:
        self.first_seen: dict[str, float] = {}

    def return_stranded(self, queue: Queue, now: float | None = None) -> list[str]:
        """Put back on the queue each job that has stayed taken but unstarted for DEQUEUED_GRACE_SECONDS."""
        now = time.monotonic() if now is None else now
        stranded = dequeued_unstarted(queue.connection, queue)
        self.first_seen = {job_id: self.first_seen.get(job_id, now) for job_id in stranded}
        returned = []
        for job_id, seen in list(self.first_seen.items()):
            if now - seen < DEQUEUED_GRACE_SECONDS:
                continue
            outcome = return_dequeued(queue.connection, queue, job_id)
            del self.first_seen[job_id]
            if outcome == "requeued":
                returned.append(job_id)
                log.warning("housekeeping: job %s was taken off the queue %.0f s ago by a worker that never started "
                            "it; put back at the front of the queue", job_id, now - seen)
            elif outcome not in ("gone", "started"):
                log.warning("housekeeping: job %s (%s) was left in the queue's list of taken jobs; taken off it",
                            job_id, outcome)
        return returned


def take_sweep_turn(queue: Queue) -> bool:
    """True for one worker in every SWEEP_SECONDS: the one whose claim on the turn Redis accepted."""
    return bool(queue.connection.set(key_prefix(queue.name) + "sweep", "1", nx=True, px=int(SWEEP_SECONDS * 1000)))


def sweep_job_hashes(queue: Queue) -> list[tuple[str, str]]:
    """Repair every job of ``queue`` found in no queue, registry or lane; (job id, what was done) for each."""
    repaired = []
    for batch in _job_ids(queue):
        mine = _of_queue(queue, batch)
        _index_unindexed(queue, [job_id for job_id, _ in mine])
        for job_id, status in _suspects(queue, mine):
            outcome = repair_job(queue, job_id, status)
            if outcome is not None:
                repaired.append((job_id, outcome))
    forget_all_gone(queue)
    return repaired


def repair_job(queue: Queue, job_id: str, status: str, lane: str | None = None, job: Job | None = None) -> str | None:
    """Repair one job if it is in no place at all (one script checks and repairs); what was done, or None.
    ``job``: the job as the caller already read it. A job that is somewhere costs one round trip."""
    connection = queue.connection
    if job is None:
        try:
            job = fetch_job(connection, job_id)
        except UnreadableJob as exc:
            return _fail_damaged_orphan(queue, exc, status, lane)
        if job is None:
            return None
    lane = lane or (job.meta or {}).get("lane") or ""
    meta_read = UNMATCHABLE  # first only look: a job that is somewhere needs no meta read
    for _ in range(REPAIR_TRIES):
        lane_key = _lane_key(queue, lane) if status == "deferred" else ""  # a lane holds only waiting jobs
        outcome = repair_orphan(connection, queue, job_id, status, lane_key, meta_read=meta_read,
                                meta_new=_repaired_meta(job, status, meta_read), ttl=_ttl(job, status))
        if outcome in _WHAT_WAS_DONE:
            log.warning("housekeeping: job %s%s was %s in no queue, registry or lane: %s", job_id,
                        f" ({lane})" if lane else "", status, _WHAT_WAS_DONE[outcome])
            return outcome
        if outcome != "changed":
            return None
        status = text(connection.hget(job.key, "status") or b"")
        if status not in RUNNABLE | TERMINAL:
            return None
        meta_read = connection.hget(job.key, "meta") or b""
    return None


def _lane_key(queue: Queue, lane: str) -> str:
    return Lanes(queue).key(lane) if lane else ""


def _repaired_meta(job: Job, status: str, meta_read: bytes) -> bytes:
    """The job's meta as the repair leaves it: a ``started`` job notes its recovery; a ``deferred`` one why it
    fails."""
    if status not in ("started", "deferred") or meta_read == UNMATCHABLE:
        return b""
    meta: dict[str, Any] = job.serializer.loads(meta_read) if meta_read else {}
    at = datetime.now(timezone.utc).isoformat()
    if status == "started":
        meta.setdefault("events", []).append({"at": at, "event": "recovered", "message": (
            "found running in no worker; queued again, to be reconciled with the venue")})
    else:
        meta["error"] = {"type": "NotRun", "message": (
            "not run: found waiting in no lane (its lane was emptied when a job before it failed); "
            "replay it once that is settled")}
    return job.serializer.dumps(meta)


def _ttl(job: Job, status: str) -> int:
    ttl = job.result_ttl if status == "finished" else job.failure_ttl
    return ttl if ttl is not None and ttl > 0 else DAMAGED_JOB_RETENTION_SECONDS


def _fail_damaged_orphan(queue: Queue, exc: UnreadableJob, status: str, lane: str | None) -> str | None:
    """A job that cannot be read, in no place: queued or scheduled, it is queued (the worker that takes it fails
    it, saying why); otherwise it fails now (it can never run)."""
    if status in ("queued", "scheduled"):
        outcome = repair_orphan(queue.connection, queue, exc.job_id, status, _lane_key(queue, lane or ""))
        if outcome == "queued":
            log.warning("housekeeping: job %s was %s in no queue or registry and cannot be read: queued, to be "
                        "failed by the worker that takes it", exc.job_id, status)
            return outcome
        return None
    # A meta that can never match: nothing is written, and the answer says whether the job is anywhere.
    found = repair_orphan(queue.connection, queue, exc.job_id, status, _lane_key(queue, lane or ""),
                          meta_read=UNMATCHABLE, ttl=DAMAGED_JOB_RETENTION_SECONDS)
    if found not in ("changed", "left"):
        return None if found != "registered" else found
    fail_unreadable(queue, exc)
    log.warning("housekeeping: %s; it was %s in no queue, registry or lane: failed", exc, status or "without status")
    return "failed"


def _job_ids(queue: Queue) -> Iterator[list[str]]:
    """Every job id in Redis, a batch at a time (RQ's job hashes; not the other keys under their prefix)."""
    connection: Redis = queue.connection
    prefix = queue.job_class.redis_job_namespace_prefix
    batch: list[str] = []
    for raw in connection.scan_iter(match=prefix + "*", count=SCAN_BATCH):
        job_id = text(raw)[len(prefix):]
        if ":" not in job_id:
            batch.append(job_id)
        if len(batch) >= SCAN_BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _of_queue(queue: Queue, job_ids: list[str]) -> list[tuple[str, str]]:
    """Of ``job_ids``, the jobs of ``queue``, each with its status."""
    prefix = queue.job_class.redis_job_namespace_prefix
    with queue.connection.pipeline(transaction=False) as pipe:
        for job_id in job_ids:
            pipe.hmget(prefix + job_id, "status", "origin")
        fields = pipe.execute()
    return [(job_id, text(status or b"")) for job_id, (status, origin) in zip(job_ids, fields)
            if origin is not None and text(origin) == queue.name]


def _index_unindexed(queue: Queue, job_ids: list[str]) -> None:
    """Put in the job index those alert jobs of ``job_ids`` it lacks (saved by an earlier release, or restored),
    at the moment their alert was received."""
    with queue.connection.pipeline(transaction=False) as pipe:
        for job_id in job_ids:
            pipe.zscore(index_key(queue.name), job_id)
        indexed = pipe.execute()
    missing = [job_id for job_id, at in zip(job_ids, indexed) if at is None]
    moments = {job.id: received_at(job) for job in readable_jobs(queue.connection, missing)}
    added = add_missing(queue.connection, queue.name, {job_id: score(moment)
                                                       for job_id, moment in moments.items() if moment})
    if added:
        log.info("housekeeping: %d job(s) missing from the job index added to it", added)


def _suspects(queue: Queue, mine: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Of the jobs of ``queue`` in ``mine`` (id, status), those that may be in no place: every runnable one
    (the repair script looks), and each ended one missing from its registry."""
    connection: Redis = queue.connection
    registries = {"finished": queue.finished_job_registry.key, "failed": queue.failed_job_registry.key,
                  "stopped": queue.failed_job_registry.key, "canceled": queue.canceled_job_registry.key}
    ended = [(job_id, status) for job_id, status in mine if status in registries]
    with connection.pipeline(transaction=False) as pipe:
        for job_id, status in ended:
            pipe.zscore(registries[status], job_id)
        scores = pipe.execute()
    missing = {job_id for (job_id, _), score in zip(ended, scores) if score is None}
    return [(job_id, status) for job_id, status in mine if status not in registries or job_id in missing]
