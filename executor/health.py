"""Whether the queued jobs will run: the live workers, and how long the job that has waited longest has waited.

A worker is live while its heartbeat is fresh. An idle worker beats each time it has waited
``WORKER_TTL_SECONDS - 15`` s for a job (RQ's rule), a busy one every 3 s; one that was killed stops
beating, and counts as gone ``WORKER_TTL_SECONDS`` after its last beat.

The web process watches for jobs waiting while no worker is live (``WaitingWatch``), because nothing
else would tell: the web keeps answering 202 and Redis keeps the jobs.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

from rq import Queue, Worker

from executor.jobview import UnreadableJob, fetch_job
from executor.rqlayout import overdue_scheduled

log = logging.getLogger(__name__)

#: The worker's ``worker_ttl``: a worker whose last heartbeat is older than this is not counted as live.
WORKER_TTL_SECONDS = 20
#: How often each web process looks for jobs waiting with no live worker (the first time, soon after it starts).
WATCH_SECONDS = 10.0
FIRST_WATCH_SECONDS = 2.0
#: The warning is repeated at most this often while the condition lasts.
WARN_EVERY_SECONDS = 60.0


@dataclass(frozen=True)
class Health:
    workers: int
    oldest_waiting_seconds: float
    waiting: int

    @property
    def stranded(self) -> bool:
        """Jobs wait and no worker is live to take them."""
        return self.waiting > 0 and self.workers == 0


def live_workers(queue: Queue, now: datetime) -> int:
    """Workers of ``queue`` whose heartbeat is fresher than WORKER_TTL_SECONDS."""
    workers = Worker.all(connection=queue.connection, queue=queue)
    return sum(1 for worker in workers if worker.last_heartbeat is not None
               and (now - worker.last_heartbeat).total_seconds() <= WORKER_TTL_SECONDS)


def oldest_waiting_seconds(queue: Queue, now: datetime) -> tuple[float, int]:
    """How long the longest-waiting job has waited for a worker (the head of the queue since it was
    queued, or a deferred job since it was due), and how many jobs wait; (0, 0) when none."""
    waited = 0.0
    head = queue.get_job_ids(0, 1)
    if head:
        waited = _queued_for(queue, head[0], now)
    overdue, earliest_due = overdue_scheduled(queue, now.timestamp())  # released within 0.25 s by a live worker
    if earliest_due is not None:
        waited = max(waited, now.timestamp() - earliest_due)
    return round(waited, 3), queue.count + overdue


def _queued_for(queue: Queue, job_id: str, now: datetime) -> float:
    try:
        job = fetch_job(queue.connection, job_id)
    except UnreadableJob:
        return 0.0  # a worker fails it as soon as it takes it
    if job is None or job.enqueued_at is None:
        return 0.0
    return max(0.0, (now - job.enqueued_at).total_seconds())


def health(queue: Queue, now: datetime | None = None) -> Health:
    now = now or datetime.now(timezone.utc)
    waited, waiting = oldest_waiting_seconds(queue, now)
    return Health(workers=live_workers(queue, now), oldest_waiting_seconds=waited, waiting=waiting)


class WaitingWatch:
    """Logs a warning, at most every WARN_EVERY_SECONDS, while jobs wait and no worker is live; with each
    warning calls ``on_stranded``, and ``on_recovered`` once the condition it warned of is over."""

    def __init__(self, queue: Queue, clock: Callable[[], float] = time.monotonic,
                 on_stranded: Callable[[Health], None] | None = None,
                 on_recovered: Callable[[Health], None] | None = None) -> None:
        self.queue = queue
        self.clock = clock
        self.on_stranded = on_stranded
        self.on_recovered = on_recovered
        self.warned_at: float | None = None
        self.thread: threading.Thread | None = None
        self.stopping = threading.Event()

    def check(self, seen: Health | None = None) -> bool:
        """Warn if the condition holds (and was not warned of lately); True when it holds."""
        seen = seen or health(self.queue)
        if not seen.stranded:
            if self.warned_at is not None and self.on_recovered is not None:
                self.on_recovered(seen)
            self.warned_at = None
            return False
        if self.warned_at is None or self.clock() - self.warned_at >= WARN_EVERY_SECONDS:
            self.warned_at = self.clock()
            log.warning("%d job(s) waiting, the oldest for %.0f s, and no live worker: start one "
                        "(Procfile: worker: python -m executor worker)", seen.waiting, seen.oldest_waiting_seconds)
            if self.on_stranded is not None:
                self.on_stranded(seen)
        return True

    def start(self) -> None:
        """Watch from a thread of this process (once per process: a forked web worker starts its own)."""
        if self.thread is not None and self.thread.is_alive():
            return
        self.thread = threading.Thread(target=self._run, name="executor-waiting-watch", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        pause = FIRST_WATCH_SECONDS
        while not self.stopping.wait(pause):
            pause = WATCH_SECONDS
            try:
                self.check()
            except Exception:  # Redis away: /healthz says so; the watch tries again
                log.debug("waiting watch: check failed", exc_info=True)
