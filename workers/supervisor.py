"""A worker process that outlives Redis outages and restarts.

RQ's work loop retries a dequeue while Redis is away, but it quits for good on a Redis timeout, or on an
error anywhere else in the loop (a heartbeat, the bookkeeping after a job), and a Redis restart meets both.
The supervisor runs one worker instance (RQ's public ``work``); when it stops without being asked to, the
supervisor waits for Redis to answer again, with a growing pause, retires that instance and starts a fresh
one under the same name, until the process is asked to stop (SIGTERM, SIGINT, RQ's shutdown command). A
Redis that does not answer when the process starts is taken for a wrong ``REDIS_URL``: the process exits.

A job that was running when Redis went away ends as any job cut off from Redis does: its outcome is
retried against Redis for 20 s; if it could not be written, the job's hold lapses and it is recovered and
reconciled with the venue first (``executor.execution``, ``workers.maintenance``).
"""
from __future__ import annotations

import logging
import os
import signal
import threading
import time
from typing import Any, Callable, Protocol

from redis import Redis
from redis.exceptions import RedisError

from executor.queueing import JOB_TIMEOUT
from executor.redis_client import warn_about_settings

log = logging.getLogger(__name__)

#: Pauses between worker instances while Redis is away: from FIRST_PAUSE_SECONDS, doubling, up to this.
PAUSE_CAP_SECONDS = 5.0
FIRST_PAUSE_SECONDS = 0.25
#: An instance that worked this long before it stopped starts the pauses afresh.
STEADY_SECONDS = 60.0
#: While Redis does not answer, one line in the log at most this often.
REPORT_EVERY_SECONDS = 60.0
#: A fork worker's work horse still running when its instance stopped is waited for this long, then killed.
HORSE_WAIT_SECONDS = JOB_TIMEOUT + 15.0


class SupervisedWorker(Protocol):
    """What the supervisor uses of a worker instance: RQ's public ``work``, ``register_death``,
    ``unsubscribe``, ``horse_pid`` and ``kill_horse``, and whether it was asked to stop."""

    name: str
    asked_to_stop: bool
    horse_pid: int

    def work(self, **kwargs: Any) -> bool: ...

    def register_death(self) -> None: ...

    def unsubscribe(self) -> None: ...

    def kill_horse(self) -> None: ...


class Supervisor:
    """Runs worker instances made by ``start`` one after another until asked to stop."""

    def __init__(self, start: Callable[[], SupervisedWorker], redis: Redis, *, burst: bool = False,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.start = start
        self.redis = redis
        self.burst = burst
        self.clock = clock
        self.stopping = threading.Event()
        self.settings_checked = False

    def run(self) -> bool:
        """Work until asked to stop (with ``burst``, until the queue is empty); True if any job was performed.

        A Redis that does not answer at start is a configuration error, raised at once (the process exits
        saying so); once the worker has started, it waits Redis outages out."""
        self.redis.ping()
        worked = False
        pause = FIRST_PAUSE_SECONDS
        stopped: SupervisedWorker | None = None
        while self._wait_for_redis():
            if stopped is not None:
                self._retire(stopped)
            if self.stopping.is_set():
                break
            started = self.clock()
            worker, did_work, failed = self._run_instance()
            worked = worked or did_work
            self._listen_for_stop()
            if worker is not None and (worker.asked_to_stop or (self.burst and not failed)):
                break
            log.warning("worker %s stopped working (RQ's loop quits on a Redis timeout or error); a fresh "
                        "one starts once Redis answers", worker.name if worker is not None else "-")
            stopped = worker
            if self.clock() - started > STEADY_SECONDS:  # a fresh outage, not the same one again
                pause = FIRST_PAUSE_SECONDS
            if self.stopping.wait(pause):
                break
            pause = min(pause * 2, PAUSE_CAP_SECONDS)
        return worked

    def _run_instance(self) -> tuple[SupervisedWorker | None, bool, bool]:
        """Make a worker instance and let it work: (the instance, whether it performed a job, whether it
        ended on an error)."""
        worker: SupervisedWorker | None = None
        try:
            worker = self.start()  # RQ's constructor already asks Redis a question
            return worker, worker.work(burst=self.burst, logging_level="INFO", with_scheduler=False), False
        except RedisError as exc:
            log.warning("worker %s: Redis went away (%s)", worker.name if worker is not None else "-",
                        type(exc).__name__)
        except Exception:
            log.exception("worker %s stopped on an error", worker.name if worker is not None else "-")
        return worker, False, True

    def stop(self, signum: int = signal.SIGTERM, frame: Any = None) -> None:
        """Asked to stop between two worker instances (while one runs, RQ's own handlers take the signal)."""
        self.stopping.set()

    def _listen_for_stop(self) -> None:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, self.stop)
            signal.signal(signal.SIGINT, self.stop)

    def _wait_for_redis(self) -> bool:
        """Until Redis answers (True), or the process is asked to stop (False); a line in the log when it does
        not answer, and at most every REPORT_EVERY_SECONDS while that lasts."""
        self._listen_for_stop()
        pause, reported_at, down_since = FIRST_PAUSE_SECONDS, None, None
        while not self.stopping.is_set():
            try:
                self.redis.ping()
            except RedisError as exc:
                now = self.clock()
                down_since = down_since if down_since is not None else now
                if reported_at is None or now - reported_at >= REPORT_EVERY_SECONDS:
                    reported_at = now
                    log.warning("Redis does not answer (%s); waiting for it", type(exc).__name__)
                self.stopping.wait(pause)
                pause = min(pause * 2, PAUSE_CAP_SECONDS)
                continue
            if down_since is not None:
                log.warning("Redis answers again after %.1f s", self.clock() - down_since)
            if not self.settings_checked:
                self.settings_checked = True
                warn_about_settings(self.redis, "worker")
            return True
        return False

    def _retire(self, worker: SupervisedWorker) -> None:
        """Let a worker instance go: its work horse (fork mode) ended, its channel closed, its death recorded
        once Redis answers, so a fresh instance can take its name."""
        _wait_for_horse(worker, HORSE_WAIT_SECONDS)
        for farewell in (worker.unsubscribe, worker.register_death):
            try:
                farewell()
            except Exception:  # Redis still away: the next instance's birth waits for it anyway
                log.debug("worker %s: %s failed", worker.name, farewell.__name__, exc_info=True)


def _wait_for_horse(worker: SupervisedWorker, timeout: float) -> None:
    """Wait for a fork worker's work horse to end (it finishes its job); kill it after ``timeout``."""
    pid = worker.horse_pid
    if not pid:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return
        if done:
            return
        time.sleep(0.1)
    log.warning("worker %s: its work horse %d outlived its instance by %.0f s; killed", worker.name, pid, timeout)
    worker.kill_horse()
