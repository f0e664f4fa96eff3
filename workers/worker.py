"""Builds and runs the RQ worker, with its scheduler, the application loaded once in the parent."""
from __future__ import annotations

from rq import Worker
from rq.serializers import JSONSerializer

from config.settings import Settings
from executor.queueing import make_queue
from executor.redis_client import connect
from workers import jobs  # noqa: F401  imported here so a forked job never pays the import
from workers.runtime import current_runtime


def build_worker(settings: Settings, *, name: str | None = None) -> Worker:
    connection = connect(settings.redis_url)
    return Worker([make_queue(connection, settings)], connection=connection, serializer=JSONSerializer, name=name)


def run(*, burst: bool = False, name: str | None = None) -> bool:
    """Work until stopped (or, with ``burst``, until the queue is empty)."""
    runtime = current_runtime()
    for venue in ("coinw", "bitget", "crosstrade"):
        if runtime.settings.venue_configured(venue):
            runtime.adapter(venue)  # built before forking: a job starts with everything imported
    worker = build_worker(runtime.settings, name=name)
    return worker.work(with_scheduler=True, burst=burst, logging_level="INFO")
