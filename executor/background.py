"""The threads every web and worker process runs beside its work: writing its counts to Redis every second,
sending notifications (where ``NOTIFY_URLS`` is set), and in the web, summarising refused alerts.

They start once per process (a gunicorn worker after its fork, ``config/gunicorn.py``; a worker before its
first job) and stop at exit, after a last write of the counts.
"""
from __future__ import annotations

import atexit
import logging
import threading
import time
from typing import Callable

from redis import Redis
from redis.exceptions import RedisError

from config.settings import Settings
from executor.metrics.store import MetricsBuffer
from executor.notify.sender import NotificationSender

log = logging.getLogger(__name__)

#: How often a process writes its counts to Redis.
FLUSH_SECONDS = 1.0
#: A chore that keeps failing is logged at most this often.
WARN_EVERY_SECONDS = 60.0


class Chores(threading.Thread):
    """Writes the counts every FLUSH_SECONDS and runs ``extra`` chores (each failure logged, never fatal)."""

    def __init__(self, metrics: MetricsBuffer, extra: tuple[Callable[[], object], ...] = ()) -> None:
        super().__init__(name="executor-chores", daemon=True)
        self.metrics = metrics
        self.extra = extra
        self.stopping = threading.Event()
        self._warned_at: dict[str, float] = {}

    def run(self) -> None:
        while not self.stopping.wait(FLUSH_SECONDS):
            for chore in (self.metrics.flush, *self.extra):
                try:
                    chore()
                except Exception as exc:  # Redis away or a bug: the next second tries again
                    self._warn(getattr(chore, "__qualname__", repr(chore)), exc)

    def _warn(self, chore: str, exc: Exception) -> None:
        """At most once a minute per chore, with the traceback unless Redis is merely away."""
        if time.monotonic() - self._warned_at.get(chore, -WARN_EVERY_SECONDS) < WARN_EVERY_SECONDS:
            return
        self._warned_at[chore] = time.monotonic()
        log.warning("%s failed (%s: %s); trying again every %.0f s", chore, type(exc).__name__, exc, FLUSH_SECONDS,
                    exc_info=not isinstance(exc, RedisError))

    def stop(self) -> None:
        self.stopping.set()


class Background:
    """One process's threads; ``start`` is idempotent, ``stop`` writes the counts one last time."""

    def __init__(self, redis: Redis, settings: Settings, metrics: MetricsBuffer,
                 extra: tuple[Callable[[], object], ...] = ()) -> None:
        self.redis = redis
        self.settings = settings
        self.metrics = metrics
        self.extra = extra
        self.chores: Chores | None = None
        self.sender: NotificationSender | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        with self._lock:
            if self.chores is not None and self.chores.is_alive():
                return
            self.chores = Chores(self.metrics, self.extra)
            self.chores.start()
            urls = self.settings.observability.notify_urls
            if urls:
                self.sender = NotificationSender(self.redis, self.settings.queue_name, urls, self.metrics)
                self.sender.start()
            atexit.register(self.stop)

    def stop(self, timeout: float = 2.0) -> None:
        atexit.unregister(self.stop)
        for thread in (self.chores, self.sender):
            if thread is not None:
                thread.stop()
        deadline = time.monotonic() + timeout
        for thread in (self.chores, self.sender):
            if thread is not None and thread.is_alive():
                thread.join(max(0.0, deadline - time.monotonic()))
        self.metrics.flush()
