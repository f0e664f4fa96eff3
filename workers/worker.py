"""Builds and runs the worker: RQ's work loop, the application loaded once, housekeeping beside it.

Two ways to run a job, chosen by ``WORKER_MODE``:

- ``simple`` (default): the job runs in the worker process itself. No fork per
  job, so a venue request leaves a few milliseconds sooner. RQ still enforces
  the job timeout (SIGALRM) and keeps the heartbeat; a worker that dies
  mid-job is noticed when its heartbeat lapses and the job runs again.
- ``fork``: RQ's default, a fresh child process per job, which isolates a job
  that corrupts its process at the cost of a fork per job.
"""
from __future__ import annotations

import os

from rq import SimpleWorker, Worker
from rq.job import Job
from rq.serializers import JSONSerializer

from config.settings import SettingsError
from executor.queueing import make_queue
from workers import jobs  # noqa: F401  imported here so a job never pays the import
from workers.maintenance import Housekeeper
from workers.runtime import current_runtime

#: A job's heartbeat outlives its timeout by this much; past it, the job is taken for abandoned.
HEARTBEAT_GRACE_SECONDS = 15


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
        return int(job.timeout or 60) + HEARTBEAT_GRACE_SECONDS


class ExecutorWorker(_Housekeeping, SimpleWorker):
    """Runs each job in this process."""


class ExecutorForkWorker(_Housekeeping, Worker):
    """Forks a child per job (RQ's default)."""


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
