"""Housekeeping every worker does in a background thread, so no single process is a point of failure.

- Scheduled jobs (deferred to a funding window's end, a rate-limit slot or a
  backoff) are put on the queue as soon as they are due, by whichever worker
  sees them first. RQ's own scheduler is not used: it holds a lock for about
  61 seconds, so a killed worker would leave deferred jobs waiting that long.
  Taking a due job out of the scheduled registry and queueing it is one step.
- Jobs whose worker died mid-job (their hold in RQ's started registry lapsed
  without a heartbeat, ``executor.rqlayout``) are put back on the queue to run
  again, in one step with the hold's removal and the note in their history;
  the runner then reconciles with the venue before sending anything.
- Lanes whose head can no longer move (failed, finished or lost with its
  worker, or never queued) are moved on, and a lane head found in no queue or
  registry is put back where it belongs (``workers.sweep``).
- The sweep (``workers.sweep``) returns jobs a worker took off the queue but
  never started, and, every minute on one worker, repairs any job found in no
  queue, registry or lane.

A lane head whose stored hash cannot be read is taken for failed: the jobs
behind it fail unrun. Any other job or lane a chore cannot handle is logged with
its id and skipped: it never holds up the rest of the pass.
"""
from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timezone
from typing import Callable, Iterable

from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError, RedisError, TimeoutError as RedisTimeoutError
from rq import Queue
from rq.job import Job

from executor.alertqueue import fail_unreadable
from executor.jobview import UnreadableJob, fetch_job, status_word
from executor.lanes import Lanes
from executor.lanemoves import advance_lane, fail_unreadable_in_lane, fail_waiting_behind
from executor.rqlayout import RELEASE_BATCH, drop_hold, job_id_of, lapsed_holds, recover_hold, release_due
from workers.sweep import DequeuedWatch, repair_job, sweep_job_hashes, take_sweep_turn

log = logging.getLogger(__name__)

#: How often due scheduled jobs are released: a deferred job starts within about this much of its time.
SCHEDULE_POLL_SECONDS = 0.25
#: How often abandoned jobs, stuck lanes and jobs taken but never started are looked for.
RECOVERY_POLL_SECONDS = 2.0
#: A lane head still waiting this long after it was created was never queued.
UNQUEUED_HEAD_GRACE_SECONDS = 10.0
#: How many times a recovery is tried again when the job's history changed between reading and recovering it.
RECOVER_TRIES = 5


def release_due_jobs(queue: Queue, now: float | None = None) -> list[str]:
    """Put every scheduled job whose time has come on the queue, each in one step; return their ids.
    A due job whose status is not ``scheduled`` is taken out of the registry: one that cannot be read fails."""
    released: list[str] = []
    while True:
        batch, odd = release_due(queue.connection, queue, now)
        released += batch
        _each(odd, "releasing scheduled job", lambda job_id: _settle_odd_scheduled(queue, job_id))
        if not batch or len(batch) + len(odd) < RELEASE_BATCH:  # the rest were due later
            return released


def _settle_odd_scheduled(queue: Queue, job_id: str) -> None:
    registry = queue.scheduled_job_registry.key
    try:
        job = fetch_job(queue.connection, job_id)
    except UnreadableJob as exc:
        log.error("housekeeping: scheduled %s; failed without running", exc)
        with queue.connection.pipeline() as pipe:
            fail_unreadable(queue, exc, pipe)
            pipe.zrem(registry, job_id)
            pipe.execute()
        return
    log.warning("housekeeping: job %s was due in the scheduled registry but is %s; taken out of the registry",
                job_id, status_word(job) if job is not None else "gone")
    queue.connection.zrem(registry, job_id)


def recover_abandoned_jobs(queue: Queue, now: float | None = None) -> list[str]:
    """Requeue jobs whose worker stopped heartbeating mid-job, each in one step; return their ids.

    Expiry is judged by Redis's clock, as the fence before a request that acts is (``executor.ownership``).
    """
    recovered: list[str] = []

    def recover(member: str) -> None:
        if _recover(queue, member, now):
            recovered.append(job_id_of(member))

    now = _redis_clock(queue.connection) if now is None else now
    _each(lapsed_holds(queue.connection, queue, now), "recovering job", recover)
    return recovered


RECOVERED = "its worker stopped mid-job; queued again, to be reconciled with the venue"


def _recover(queue: Queue, member: str, now: float) -> bool:
    """Queue again, in one step, the job whose hold (``member``) has lapsed, noting it in its history; its next
    run reconciles with the venue first. True if it was."""
    job_id = job_id_of(member)
    for _ in range(RECOVER_TRIES):
        try:
            job = fetch_job(queue.connection, job_id)
        except UnreadableJob as exc:
            log.error("housekeeping: abandoned %s; failed without running", exc)
            with queue.connection.pipeline() as pipe:
                fail_unreadable(queue, exc, pipe)
                drop_hold(pipe, queue, member)
                pipe.execute()
            return False
        meta_read = (queue.connection.hget(job.key, "meta") or b"") if job is not None else b""
        outcome = recover_hold(queue.connection, queue, member, now, meta_read, _noted(job, meta_read))
        if outcome == "recovered":
            log.warning("housekeeping: job %s: %s", job_id, RECOVERED)
            return True
        if outcome != "changed":
            return False
    raise RuntimeError(f"job {job_id}: its history kept changing while it was being recovered")


def _noted(job: Job | None, meta_read: bytes) -> bytes:
    """The job's meta with its recovery noted."""
    if job is None:
        return b""
    meta = job.serializer.loads(meta_read) if meta_read else {}
    meta.setdefault("events", []).append({"at": datetime.now(timezone.utc).isoformat(), "event": "recovered",
                                          "message": RECOVERED})
    return job.serializer.dumps(meta)


def _each(items: Iterable[str], chore: str, handle: Callable[[str], None]) -> None:
    """``handle`` every item; one that fails, except for Redis being out of reach, is logged and skipped."""
    for item in items:
        try:
            handle(item)
        except (RedisConnectionError, RedisTimeoutError):
            raise  # the whole pass is tried again
        except Exception:
            log.exception("housekeeping: %s %s failed; skipped (look at it by hand)", chore, item)


def _redis_clock(connection: Redis) -> float:
    seconds, microseconds = connection.time()
    return seconds + microseconds / 1_000_000


def unstick_lanes(queue: Queue, now: float | None = None) -> None:
    """Move on lanes whose head is finished, failed or gone, or was never queued; put back a head found in no
    queue or registry."""
    lanes = Lanes(queue)
    now = time.time() if now is None else now
    _each(lanes.known_lanes(), "moving on lane", lambda lane: _unstick(queue, lanes, lane, now))


def _unstick(queue: Queue, lanes: Lanes, lane: str, now: float) -> None:
    head_id = lanes.head(lane)
    if head_id is None:
        lanes.forget(lane)
        return
    try:
        head = fetch_job(queue.connection, head_id)
    except UnreadableJob as exc:  # it can never run
        fail_unreadable_in_lane(queue, lane, exc)
        return
    status = status_word(head) if head is not None else "missing"
    if status in ("finished", "missing", "canceled", "stopped"):
        advance_lane(queue, lane, head_id)
    elif status == "failed":
        fail_waiting_behind(queue, lane, head_id, "")
    elif status in ("queued", "scheduled", "started"):
        repair_job(queue, head_id, status, lane, head)  # nothing to do unless it is in no queue or registry
    elif status == "deferred" and head is not None and head.created_at is not None \
            and now - head.created_at.timestamp() > UNQUEUED_HEAD_GRACE_SECONDS:
        if lanes.queue_head(lane, head_id) == "queued":
            log.warning("housekeeping: job %s at the head of lane %s was never queued; queued", head_id, lane)


def housekeeping_pass(queue: Queue, watch: DequeuedWatch | None = None) -> None:
    """Every chore once (the full sweep of job hashes only when it is this worker's turn)."""
    release_due_jobs(queue)
    recover_abandoned_jobs(queue)
    unstick_lanes(queue)
    (watch or DequeuedWatch()).return_stranded(queue)
    if take_sweep_turn(queue):
        sweep_job_hashes(queue)


class Housekeeper(threading.Thread):
    """Runs the chores on their own clocks until stopped."""

    def __init__(self, queue: Queue, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(name="executor-housekeeper", daemon=True)
        self.queue = queue
        self.clock = clock
        self.watch = DequeuedWatch()
        self.stopping = threading.Event()

    def run(self) -> None:
        next_recovery, redis_away = 0.0, False
        while not self.stopping.is_set():
            try:
                release_due_jobs(self.queue)
                if self.clock() >= next_recovery:
                    recover_abandoned_jobs(self.queue)
                    unstick_lanes(self.queue)
                    self.watch.return_stranded(self.queue, self.clock())
                    if take_sweep_turn(self.queue):
                        sweep_job_hashes(self.queue)
                    next_recovery = self.clock() + RECOVERY_POLL_SECONDS
            except RedisError as exc:  # one line when Redis goes away, one when it is back
                if not redis_away:
                    log.warning("housekeeping: Redis unavailable (%s); trying again", type(exc).__name__)
                redis_away = True
            except Exception:  # anything else must not end housekeeping either
                log.exception("housekeeping failed; trying again")
            else:
                if redis_away:
                    log.warning("housekeeping: Redis answers again")
                redis_away = False
            self.stopping.wait(SCHEDULE_POLL_SECONDS)

    def stop(self) -> None:
        self.stopping.set()
