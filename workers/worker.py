"""Builds and runs the worker: RQ's work loop, the application loaded once, housekeeping beside it.

Two ways to run a job, chosen by ``WORKER_MODE``:

- ``simple`` (default): the job runs in the worker process itself. No fork per
  job, so a venue request leaves a few milliseconds sooner. RQ still enforces
  the job timeout (SIGALRM) and keeps the heartbeat; a worker that dies
  mid-job is noticed when its heartbeat lapses and the job runs again. RQ's
  bookkeeping at a job's start goes to Redis in one round trip instead of four.
- ``fork``: RQ's default, a fresh child process per job, which isolates a job
  that corrupts its process at the cost of a fork per job.

In both, the process running a job knows its hold on it (``executor.ownership``),
and a worker that no longer holds a job when it ends (cut off from Redis past
its heartbeat, while housekeeping gave the job to another worker) leaves the job
as it is: RQ's bookkeeping would overwrite its new holder's.
"""
from __future__ import annotations

import os
import sys
import threading

from redis.client import Pipeline
from rq import Queue, SimpleWorker, Worker
from rq.executions import Execution
from rq.job import Job
from rq.serializers import JSONSerializer
from rq.utils import now
from rq.worker import WorkerStatus

from config.settings import SettingsError
from executor import ownership
from executor.queueing import make_queue
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

    def execute_job(self, job: Job, queue: Queue) -> None:
        stop = threading.Event()
        beat = threading.Thread(target=self._beat, args=(job, stop), name="executor-heartbeat", daemon=True)
        beat.start()
        try:
            super().execute_job(job, queue)
        finally:
            stop.set()
            beat.join(timeout=HEARTBEAT_SECONDS)

    def prepare_execution(self, job: Job) -> None:
        """Nothing yet: ``prepare_job_execution`` writes the execution with the rest, in one round trip."""

    def prepare_job_execution(self, job: Job, remove_from_intermediate_queue: bool = False) -> None:
        """What RQ writes before a job runs (its execution in the started registry, the worker busy on it,
        heartbeats, the job started and out of the intermediate queue), in one round trip instead of four."""
        ttl = self.get_heartbeat_ttl(job)
        with self.connection.pipeline() as pipe:
            self.execution = Execution.create(job, ttl, pipeline=pipe, worker_name=self.name)
            self.set_state(WorkerStatus.BUSY, pipeline=pipe)
            self.set_current_job_id(job.id, pipeline=pipe)
            self.set_current_job_working_time(0, pipeline=pipe)
            self.heartbeat(ttl, pipeline=pipe)
            job.heartbeat(now(), ttl, pipeline=pipe)
            job.prepare_for_execution(self.name, pipeline=pipe)
            if remove_from_intermediate_queue:
                pipe.lrem(Queue(job.origin, connection=self.connection).intermediate_queue_key, 1, job.id)
            pipe.execute()
        self.hold_lease(job)

    def heartbeat(self, timeout: int | None = None, pipeline: Pipeline | None = None) -> None:
        """RQ's worker heartbeat is two commands; outside a pipeline they go in one round trip."""
        if pipeline is not None:
            return super().heartbeat(timeout, pipeline=pipeline)
        with self.connection.pipeline() as pipe:
            super().heartbeat(timeout, pipeline=pipe)
            pipe.execute()
        return None

    def _beat(self, job: Job, stop: threading.Event) -> None:
        while not stop.wait(HEARTBEAT_SECONDS):
            try:
                if self.execution is not None:
                    self.maintain_heartbeats(job)
            except Exception:  # a missed beat is survivable; a dead beat thread would orphan the job
                self.log.exception("heartbeat for job %s failed", job.id)


class ExecutorForkWorker(_Housekeeping, Worker):
    """Forks a child per job (RQ's default); the parent beats the job's heart while the child runs."""

    def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        kwargs.setdefault("job_monitoring_interval", HEARTBEAT_SECONDS)
        super().__init__(*args, **kwargs)

    def prepare_job_execution(self, job: Job, remove_from_intermediate_queue: bool = False) -> None:
        super().prepare_job_execution(job, remove_from_intermediate_queue)
        self.hold_lease(job)


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
