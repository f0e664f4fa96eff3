"""Housekeeping every worker does in a background thread, so no single process is a point of failure.

- Scheduled jobs (deferred to a funding window's end, a rate-limit slot or a
  backoff) are put on the queue as soon as they are due, by whichever worker
  sees them first. RQ's own scheduler is not used: it holds a lock for about
  61 seconds, so a killed worker would leave deferred jobs waiting that long.
  Each due job is claimed with ZREM, so only one worker enqueues it.
- Jobs whose worker died mid-job (their hold in RQ's started registry lapsed
  without a heartbeat, ``executor.rqlayout``) are put back on the queue to run
  again; the runner then reconciles with the venue before sending anything.
- Lanes whose head can no longer move (failed, finished or lost with its
  worker, or never queued because the web process died) are moved on.

A lane head whose stored hash cannot be read is taken for failed: the jobs
behind it fail unrun. Any other job or lane a chore cannot handle is logged with
its id and skipped: it never holds up the rest of the pass.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Callable, Iterable

from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError, TimeoutError as RedisTimeoutError
from rq import Queue
from rq.job import JobStatus

from executor.history import record_event
from executor.jobview import UnreadableJob, fetch_job, status_word
from executor.lanes import Lanes
from executor.queueing import advance_lane, fail_unreadable_in_lane, fail_waiting_behind, put_on_queue
from executor.rqlayout import claim_due_scheduled, claim_lapsed_holds

log = logging.getLogger(__name__)

#: How often due scheduled jobs are released: a deferred job starts within about this much of its time.
SCHEDULE_POLL_SECONDS = 0.25
#: How often abandoned jobs and stuck lanes are looked for.
RECOVERY_POLL_SECONDS = 2.0
#: A lane head still waiting this long after it was created was never queued (the web died mid-intake).
UNQUEUED_HEAD_GRACE_SECONDS = 10.0


def release_due_jobs(queue: Queue, now: float | None = None) -> list[str]:
    """Put every scheduled job whose time has come on the queue; return their ids."""
    released: list[str] = []

    def release(job_id: str) -> None:
        job = fetch_job(queue.connection, job_id)
        if job is not None:
            put_on_queue(queue, job)
            released.append(job.id)

    _each(claim_due_scheduled(queue.connection, queue, now), "releasing scheduled job", release)
    return released


def recover_abandoned_jobs(queue: Queue, now: float | None = None) -> list[str]:
    """Requeue jobs whose worker stopped heartbeating mid-job; return their ids.

    Expiry is judged by Redis's clock, as the fence before a request that acts is (``executor.ownership``).
    """
    recovered: list[str] = []

    def recover(job_id: str) -> None:
        job = fetch_job(queue.connection, job_id)
        if job is None or status_word(job) != JobStatus.STARTED.value:
            return
        record_event(job, "recovered", "its worker stopped mid-job; queued again, to be reconciled with the venue")
        put_on_queue(queue, job)
        recovered.append(job.id)

    now = _redis_clock(queue.connection) if now is None else now
    _each(claim_lapsed_holds(queue.connection, queue, now), "recovering job", recover)
    return recovered


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
    """Move on lanes whose head is finished, failed or gone, or was never queued."""
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
    elif status == "deferred" and head is not None and head.created_at is not None \
            and now - head.created_at.timestamp() > UNQUEUED_HEAD_GRACE_SECONDS:
        put_on_queue(queue, head)


def housekeeping_pass(queue: Queue) -> None:
    """Every chore once."""
    release_due_jobs(queue)
    recover_abandoned_jobs(queue)
    unstick_lanes(queue)


class Housekeeper(threading.Thread):
    """Runs the three chores on their own clocks until stopped."""

    def __init__(self, queue: Queue, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(name="executor-housekeeper", daemon=True)
        self.queue = queue
        self.clock = clock
        self.stopping = threading.Event()

    def run(self) -> None:
        next_recovery = 0.0
        while not self.stopping.is_set():
            try:
                release_due_jobs(self.queue)
                if self.clock() >= next_recovery:
                    recover_abandoned_jobs(self.queue)
                    unstick_lanes(self.queue)
                    next_recovery = self.clock() + RECOVERY_POLL_SECONDS
            except Exception:  # a Redis hiccup must not end housekeeping
                log.exception("housekeeping failed; trying again")
            self.stopping.wait(SCHEDULE_POLL_SECONDS)

    def stop(self) -> None:
        self.stopping.set()
