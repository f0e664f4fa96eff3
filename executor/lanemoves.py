"""Moving a lane on, and failing the jobs behind a failed one: each one step, a script of ``executor.lanes``.

What a move needs to know first (whether the next job can be read, the meta of each job that fails unrun) is
read, then the script moves the lane only if it is still as read; when it changed meanwhile, the move is tried
again.
"""
from __future__ import annotations

import logging
import time

from rq import Queue

from executor.alertqueue import DAMAGED_JOB_RETENTION_SECONDS
from executor.jobview import UnreadableJob, fetch_job
from executor.lanes import Failing, Lanes

log = logging.getLogger(__name__)


class LaneBusy(RuntimeError):
    """A lane kept changing under a move LANE_TRIES times running: nothing was moved; housekeeping tries again."""


#: How many times a lane move is tried again when the lane changed between reading it and moving it.
LANE_TRIES = 20


def advance_lane(queue: Queue, lane: str, job_id: str) -> None:
    """Take a job that is done out of its lane and queue the next one, in one step, skipping any that has
    expired. A next one whose stored data is damaged fails, and so do the jobs behind it, as behind any failed
    job, in the same step as the done job leaves."""
    lanes = Lanes(queue)
    expected = ""
    for _ in range(LANE_TRIES):
        outcome, next_id = lanes.advance(lane, job_id, expected)
        if outcome != "check":
            return
        try:
            fetch_job(queue.connection, next_id)  # gone meanwhile: the script skips it next time
        except UnreadableJob as exc:
            log.error("lane %s: %s; failing it and the jobs waiting behind it", lane, exc)
            if _fail_behind(queue, lanes, lane, exc.job_id, " and cannot be read", damaged=exc, leaving=job_id):
                return
            continue
        expected = next_id
    raise LaneBusy(f"lane {lane} kept changing while job {job_id} left it; housekeeping moves it on")


def fail_unreadable_in_lane(queue: Queue, lane: str, exc: UnreadableJob) -> None:
    """A job at the head of ``lane`` that cannot be read fails, and so do the jobs behind it, as behind any
    failed job, in one step."""
    log.error("lane %s: %s; failing it and the jobs waiting behind it", lane, exc)
    _fail_lane(queue, lane, exc.job_id, " and cannot be read", damaged=exc)


def fail_waiting_behind(queue: Queue, lane: str, job_id: str, why: str) -> None:
    """Take a failed job out of its lane and fail, unrun, the jobs that were waiting behind it, in one step
    that also marks the job itself failed (its worker's own record of the failure may follow, or be lost)."""
    _fail_lane(queue, lane, job_id, why)


def _fail_lane(queue: Queue, lane: str, job_id: str, why: str, damaged: UnreadableJob | None = None) -> None:
    lanes = Lanes(queue)
    for _ in range(LANE_TRIES):
        if _fail_behind(queue, lanes, lane, job_id, why, damaged=damaged):
            return
    raise LaneBusy(f"lane {lane} kept changing while the jobs behind failed job {job_id} were failed")


def _fail_behind(queue: Queue, lanes: Lanes, lane: str, job_id: str, why: str, *,
                 damaged: UnreadableJob | None = None, leaving: str | None = None) -> bool:
    """One try: ``job_id`` fails (as ``damaged``, or as the failed head it is), the jobs behind it fail unrun and
    ``leaving`` (a finished job before it) leaves; the lane ends. False when the lane changed meanwhile."""
    read = lanes.waiting(lane)
    front = [leaving, job_id] if leaving else [job_id]
    itself: Failing = (job_id, "damaged", b"", str(damaged), DAMAGED_JOB_RETENTION_SECONDS) if damaged \
        else (job_id, "head", b"", b"", _failure_ttl(queue, job_id))
    if read[:len(front)] != front:
        if leaving:  # the lane moved on: the caller looks again
            return False
        return lanes.fail(lane, read, [itself], empty=False, now=time.time())  # not its head: it only leaves
    message = f"not run: job {job_id} before it on {lane} failed{why}; replay it once that is settled"
    failing = [itself] + [_unrun(queue, waiting_id, message) for waiting_id in read[len(front):]]
    return lanes.fail(lane, read, failing, empty=True, now=time.time())


def _unrun(queue: Queue, job_id: str, message: str) -> Failing:
    """How a job waiting behind a failed one fails: unrun, saying why in its meta (or, if it cannot be read,
    with the reason in its ``exc_info``)."""
    try:
        job = fetch_job(queue.connection, job_id)
    except UnreadableJob as exc:
        return job_id, "damaged", b"", str(exc), DAMAGED_JOB_RETENTION_SECONDS
    if job is None:
        return job_id, "leave", b"", b"", 0
    meta_read = queue.connection.hget(job.key, "meta") or b""
    meta = job.serializer.loads(meta_read) if meta_read else {}
    meta["error"] = {"type": "NotRun", "message": message}
    return job_id, "notrun", meta_read, job.serializer.dumps(meta), job.failure_ttl or DAMAGED_JOB_RETENTION_SECONDS


def _failure_ttl(queue: Queue, job_id: str) -> int:
    try:
        job = fetch_job(queue.connection, job_id)
    except UnreadableJob:
        job = None
    return (job.failure_ttl if job is not None else None) or DAMAGED_JOB_RETENTION_SECONDS
