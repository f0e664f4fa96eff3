"""Builds and runs the worker: RQ's work loop, the application loaded once, housekeeping beside it.

Two ways to run a job, chosen by ``WORKER_MODE``:

- ``simple`` (default): the job runs in the worker process itself. No fork per
  job, so a venue request leaves a few milliseconds sooner. RQ still enforces
  the job timeout (SIGALRM) and keeps the heartbeat; a worker that dies
  mid-job is noticed when its heartbeat lapses and the job runs again. Once
  the job's id is off the queue, fetching the job and writing RQ's bookkeeping
  at its start take one round trip (RQ: a fetch, a heartbeat, the start, then
  the job's PERSIST).
- ``fork``: RQ's default, a fresh child process per job, which isolates a job
  that corrupts its process at the cost of a fork per job.

In both, the process running a job knows its hold on it (``executor.ownership``),
and a worker that no longer holds a job when it ends (cut off from Redis past
its heartbeat, while housekeeping gave the job to another worker) leaves the job
as it is: RQ's bookkeeping would overwrite its new holder's.
"""
from __future__ import annotations

import math
import os
import sys
import threading
import time
from datetime import datetime
from typing import Any

import redis.exceptions
from redis.client import Pipeline
from rq import Queue, SimpleWorker, Worker
from rq.exceptions import DequeueTimeout
from rq.executions import Execution
from rq.job import Job, _job_stack
from rq.serializers import JSONSerializer
from rq.utils import as_text, get_version, now
from rq.worker import WorkerStatus

from config.settings import SettingsError
from executor import ownership
from executor.jobview import UnreadableJob, reading
from executor.queueing import fail_unreadable, make_queue
from workers import jobs  # noqa: F401  imported here so a job never pays the import
from workers.maintenance import Housekeeper
from workers.runtime import current_runtime

#: A running job's heartbeat is renewed this often...
HEARTBEAT_SECONDS = 3
#: ...and lapses after this long: a job whose worker was killed is taken up again about this much later.
HEARTBEAT_TTL_SECONDS = 10


class _Housekeeping:
    """Mixed into the worker classes: housekeeping thread around RQ's loop; short heartbeat lapse."""

    def work(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        keeper = Housekeeper(make_queue(self.connection, current_runtime().settings))  # type: ignore[attr-defined]
        keeper.start()
        try:
            return super().work(*args, **kwargs)  # type: ignore[misc]
        finally:
            keeper.stop()

    def get_heartbeat_ttl(self, job: Job) -> int:
        return HEARTBEAT_TTL_SECONDS

    def hold_lease(self, job: Job) -> None:
        """Called where the job runs, as it starts: the runner fences its writes and requests with this hold."""
        ownership.hold(self._lease(job))

    # RQ's three ways to close a job: each is skipped when the job is no longer this worker's.
    def handle_job_success(self, job: Job, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        if not self._left_to_another(job):
            super().handle_job_success(job, *args, **kwargs)  # type: ignore[misc]

    def handle_job_retry(self, job: Job, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        if not self._left_to_another(job):
            super().handle_job_retry(job, *args, **kwargs)  # type: ignore[misc]

    def handle_job_failure(self, job: Job, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        if not self._left_to_another(job):
            super().handle_job_failure(job, *args, **kwargs)  # type: ignore[misc]

    def _lease(self, job: Job) -> ownership.Lease | None:
        execution = self.execution  # type: ignore[attr-defined]
        return ownership.Lease(job.started_job_registry.key, execution.composite_key) if execution else None

    def _left_to_another(self, job: Job) -> bool:
        """True, with nothing written, when the job ended by leaving (``LeaseLost``: its entry is left to lapse
        and the job to be taken up again) or was given to another worker meanwhile."""
        ownership.hold(None)
        lease = self._lease(job)
        if lease is None:
            return False
        leaving = isinstance(sys.exc_info()[1], ownership.LeaseLost)  # RQ calls this inside its except block
        if not leaving and lease.held(self.connection):  # type: ignore[attr-defined]
            return False
        self.log.warning("job %s: no longer this worker's; left to the one that holds it", job.id)  # type: ignore
        self.set_current_job_id(None)  # type: ignore[attr-defined]
        self.execution = None
        return True


class ExecutorWorker(_Housekeeping, SimpleWorker):
    """Runs each job in this process, beating its heart from a thread while it runs."""

    #: The job whose start bookkeeping went with its fetch, until it runs.
    _started_job_id: str | None = None
    _heart_thread: _JobHeartbeat | None = None

    def dequeue_job_and_maintain_ttl(self, timeout: int | None,
                                     max_idle_time: int | None = None) -> tuple[Job, Queue] | None:
        """RQ's wait for a job, except that the job is fetched and marked started in one round trip.
        Only for one queue on Redis >= 6.2 (where RQ moves the job to the intermediate queue with BLMOVE)
        and RQ's own Job class; otherwise RQ's own."""
        if len(self.queues) != 1 or get_version(self.connection) < (6, 2, 0) or self.job_class is not Job:
            return super().dequeue_job_and_maintain_ttl(timeout, max_idle_time)
        queue = self.queues[0]
        self.set_state(WorkerStatus.IDLE)
        self.procline(f"Listening on {queue.name}")
        idle_since = now()
        connection_wait = 1.0
        while True:
            try:
                self.heartbeat()
                if self.should_run_maintenance_tasks:
                    self.run_maintenance_tasks()
                if timeout is not None and max_idle_time is not None:
                    timeout = min(timeout, _idle_time_left(max_idle_time, idle_since))
                taken = self._take(queue, timeout)
                if taken is None:  # burst mode, nothing queued
                    self.heartbeat()
                return taken  # no heartbeat after a job is taken: its start wrote a fresh one
            except DequeueTimeout:
                if max_idle_time is not None and _idle_time_left(max_idle_time, idle_since) <= 0:
                    self.heartbeat()
                    return None
            except redis.exceptions.ConnectionError as exc:
                connection_wait = self._wait_for_redis(exc, connection_wait)

    def _wait_for_redis(self, exc: redis.exceptions.ConnectionError, seconds: float) -> float:
        """RQ's pause before trying again; returns the next, longer pause."""
        # Not busy, whatever a start cut off here set: a SIGTERM while we wait must stop the worker.
        # (A start that did reach Redis is recovered by housekeeping once its heartbeat lapses.)
        self._state = WorkerStatus.IDLE
        self.log.error("Worker %s: could not connect to Redis instance: %s retrying in %d seconds...",
                       self.name, exc, seconds)
        time.sleep(seconds)
        return min(seconds * self.exponential_backoff_factor, self.max_connection_wait_time)

    def _take(self, queue: Queue, timeout: int | None) -> tuple[Job, Queue] | None:
        """The next job, moved to the intermediate queue (RQ's BLMOVE, or LMOVE when ``timeout`` is None)
        and started. A job id whose job is gone is skipped, as RQ skips it (but not left in the
        intermediate queue). None if nothing is queued."""
        while True:
            moved = self.queue_class.lmove(self.connection, queue.key, timeout)
            if moved is None:
                return None
            job = self._start(as_text(moved[1]), queue)
            if job is not None:
                self.log.info("Worker %s: %s: %s (%s)", self.name, queue.name, job.description, job.id)
                return job, queue

    def _start(self, job_id: str, queue: Queue) -> Job | None:
        """Write what RQ writes before a job runs, and read the job as it then is, in one transaction."""
        job = _PersistedJob(job_id, connection=self.connection, serializer=self.serializer)
        job.origin = queue.name
        with self.connection.pipeline() as pipe:
            self._write_start(job, pipe, queue.intermediate_queue_key)
            pipe.hgetall(job.key)
            stored = pipe.execute()[-1]
        if b"data" not in stored:  # deleted while queued: the hash holds only the start's fields
            self._forget_start(job)
            return None
        try:
            with reading(job_id):
                job.restore(stored)
                job.args  # noqa: B018  read now (RQ reads it lazily, and would then anyway): damage shows here
        except UnreadableJob as exc:
            self._fail_unreadable(job, queue, exc)
            return None
        job.redis_server_version = self.get_redis_server_version()
        self._started_job_id = job.id
        return job

    def _write_start(self, job: Job, pipe: Pipeline, intermediate_queue_key: str | None) -> None:
        """RQ's start bookkeeping: the execution in the started registry, the worker busy on the job with
        fresh heartbeats, the job started (and out of the intermediate queue)."""
        ttl = self.get_heartbeat_ttl(job)
        self.execution = Execution.create(job, ttl, pipeline=pipe, worker_name=self.name)
        self.set_state(WorkerStatus.BUSY, pipeline=pipe)
        self.set_current_job_id(job.id, pipeline=pipe)
        self.set_current_job_working_time(0, pipeline=pipe)
        self.heartbeat(ttl, pipeline=pipe)
        job.heartbeat(now(), ttl, pipeline=pipe)
        job.prepare_for_execution(self.name, pipeline=pipe)
        if intermediate_queue_key is not None:
            pipe.lrem(intermediate_queue_key, 1, job.id)
        pipe.persist(job.key)  # Job.perform's first command; _PersistedJob.perform leaves it out

    def _forget_start(self, job: Job) -> None:
        """Undo ``_write_start`` for a job that was gone."""
        with self.connection.pipeline() as pipe:
            pipe.delete(job.key)
            self._back_to_idle(job, pipe)

    def _fail_unreadable(self, job: Job, queue: Queue, exc: UnreadableJob) -> None:
        """A job whose stored data cannot be read can never run: it fails at once, saying why, and this
        worker goes on with the next job (RQ's own loop would stop the worker)."""
        self.log.error("Worker %s: %s; failed without running", self.name, exc)
        with self.connection.pipeline() as pipe:
            fail_unreadable(queue, exc, pipe)
            self._back_to_idle(job, pipe)

    def _back_to_idle(self, job: Job, pipe: Pipeline) -> None:
        """After a start that runs nothing: out of the started registry, the worker idle again with an idle
        worker's heartbeat (the start set the short one of a busy worker)."""
        if self.execution is not None:
            self.execution.delete(job, pipeline=pipe)
        self.set_current_job_id(None, pipeline=pipe)
        self.set_state(WorkerStatus.IDLE, pipeline=pipe)
        self.heartbeat(pipeline=pipe)
        pipe.execute()
        self.execution = None

    def work(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        heart = self._heart()
        try:
            return super().work(*args, **kwargs)
        finally:
            heart.stop()

    def _heart(self) -> _JobHeartbeat:
        """The thread that renews the running job's heartbeats, started with the loop (or at a job run
        outside it)."""
        if self._heart_thread is None or not self._heart_thread.is_alive():
            self._heart_thread = _JobHeartbeat(self)
            self._heart_thread.start()
        return self._heart_thread

    def execute_job(self, job: Job, queue: Queue) -> None:
        try:
            super().execute_job(job, queue)
        finally:
            if self._heart_thread is not None:
                self._heart_thread.forget()

    def prepare_execution(self, job: Job) -> None:
        """Nothing: the execution is written with the rest of the start bookkeeping."""

    def prepare_job_execution(self, job: Job, remove_from_intermediate_queue: bool = False) -> None:
        """The start bookkeeping, unless it went with the job's fetch (``_start``)."""
        if self._started_job_id == job.id:
            self._started_job_id = None
        else:
            key = Queue(job.origin, connection=self.connection).intermediate_queue_key
            with self.connection.pipeline() as pipe:
                self._write_start(job, pipe, key if remove_from_intermediate_queue else None)
                pipe.execute()
        self._heart().follow(job)
        self.hold_lease(job)

    def heartbeat(self, timeout: int | None = None, pipeline: Pipeline | None = None) -> None:
        """RQ's worker heartbeat is two commands; outside a pipeline they go in one round trip."""
        if pipeline is not None:
            return super().heartbeat(timeout, pipeline=pipeline)
        with self.connection.pipeline() as pipe:
            super().heartbeat(timeout, pipeline=pipe)
            pipe.execute()
        return None


class _PersistedJob(Job):
    """A job whose key was made persistent with its start bookkeeping: RQ's Job.perform sends that
    PERSIST on its own, one more round trip before the job's function runs."""

    def perform(self) -> Any:
        _job_stack.push(self)  # what get_current_job() returns while the function runs
        try:
            self._result = self._execute()
        finally:
            assert self is _job_stack.pop()
        return self._result


class _JobHeartbeat(threading.Thread):
    """Renews the running job's heartbeats (worker, execution, job) every HEARTBEAT_SECONDS.

    One thread for the worker's life rather than one per job: starting a thread held up each job's
    start by a fraction of a millisecond.
    """

    def __init__(self, worker: ExecutorWorker) -> None:
        super().__init__(name="executor-heartbeat", daemon=True)
        self.worker = worker
        self.job: Job | None = None
        self.beating = threading.Lock()
        self.stopping = threading.Event()

    def follow(self, job: Job) -> None:
        """Beat for ``job`` from now on; called once its start is written."""
        self.job = job

    def forget(self) -> None:
        """No beat for the job that ended; a beat under way is waited for, at most HEARTBEAT_SECONDS."""
        finished = self.beating.acquire(timeout=HEARTBEAT_SECONDS)
        self.job = None
        if finished:
            self.beating.release()

    def stop(self) -> None:
        self.stopping.set()

    def run(self) -> None:
        while not self.stopping.wait(HEARTBEAT_SECONDS):
            with self.beating:
                job = self.job
                if job is None or self.worker.execution is None:
                    continue
                try:
                    self.worker.maintain_heartbeats(job)
                except Exception:  # a missed beat is survivable; a dead beat thread would orphan the job
                    self.worker.log.exception("heartbeat for job %s failed", job.id)


class ExecutorForkWorker(_Housekeeping, Worker):
    """Forks a child per job (RQ's default); the parent beats the job's heart while the child runs."""

    def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        kwargs.setdefault("job_monitoring_interval", HEARTBEAT_SECONDS)
        super().__init__(*args, **kwargs)

    def prepare_job_execution(self, job: Job, remove_from_intermediate_queue: bool = False) -> None:
        super().prepare_job_execution(job, remove_from_intermediate_queue)
        self.hold_lease(job)


def _idle_time_left(max_idle_time: int, idle_since: datetime) -> int:
    return math.ceil(max_idle_time - (now() - idle_since).total_seconds())


WORKER_CLASSES = {"simple": ExecutorWorker, "fork": ExecutorForkWorker}


def worker_class(env: dict[str, str] | None = None) -> type[Worker] | type[SimpleWorker]:
    mode = (env if env is not None else os.environ).get("WORKER_MODE", "simple").strip().lower() or "simple"
    if mode not in WORKER_CLASSES:
        raise SettingsError(f"WORKER_MODE: must be one of {', '.join(WORKER_CLASSES)}")
    return WORKER_CLASSES[mode]


def run(*, burst: bool = False, name: str | None = None) -> bool:
    """Work until stopped (or, with ``burst``, until the queue is empty)."""
    cls = worker_class()
    runtime = current_runtime()
    for venue in ("coinw", "bitget", "crosstrade"):
        if runtime.settings.venue_configured(venue):
            runtime.adapter(venue)  # built before any job: a job starts with everything imported
    worker = cls([runtime.queue], connection=runtime.redis, serializer=JSONSerializer, name=name)
    return worker.work(burst=burst, logging_level="INFO", with_scheduler=False)
