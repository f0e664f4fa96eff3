"""Builds and runs the worker: RQ's own work loop, dequeue and job bookkeeping, with the product's hooks.

Two ways to run a job, chosen by ``WORKER_MODE``:

- ``simple`` (default): the job runs in the worker process (RQ's ``SimpleWorker``), so a venue request
  leaves without a fork first. RQ still enforces the job timeout; a thread of ours renews the running
  job's heartbeat, which RQ's ``SimpleWorker`` does not do while a job runs.
- ``fork``: RQ's ``Worker``, a fresh child process per job, which isolates a job that corrupts its
  process at the cost of a fork per job; the parent renews the heartbeat.

Everything here stands on RQ's public worker API. The hooks overridden, whose signatures
``tests/test_rq_contract.py`` checks against the installed RQ:

- ``work``: housekeeping (``workers.maintenance``) runs beside RQ's loop, once before it;
- ``get_heartbeat_ttl``: the hold's time to live (``executor.rqlayout``);
- ``heartbeat``: RQ's own, its commands sent in one round trip;
- ``perform_job``: the process running a job knows its hold on it (``executor.ownership``); a job another
  worker holds too (given back to the queue while this worker, frozen after taking it, had not started it)
  is not run; a job's log lines carry its id (``executor.logs``), and its counts reach Redis as it ends
  (``executor.metrics``);
- ``handle_job_success``, ``handle_job_retry``, ``handle_job_failure``: skipped for a job that is no
  longer this worker's (it was cut off from Redis past its heartbeat, and housekeeping gave the job to
  another worker): RQ's bookkeeping would overwrite what the new holder writes;
- ``request_stop``: notes that the process was asked to stop, so the supervisor (``workers.supervisor``),
  which starts a fresh worker when RQ's loop quits on a Redis outage, lets it end;
- ``maintain_heartbeats`` (fork mode): a beat Redis does not take is logged, not raised, so the parent
  keeps waiting for its work horse through an outage instead of leaving it running alone.

RQ's documented exception handlers get ``outage_is_not_the_jobs_failure``: Redis unreachable as RQ starts a job
or records its end is not the job's failure, and RQ does not fail it once Redis answers again.

In fork mode, RQ's documented ``work_horse_killed_handler`` runs again a job whose work horse died mid-job
(a crash, a kill, or Redis away as it recorded its end), to be reconciled first, instead of failing it.

``max_connection_wait_time``, RQ's cap on its pause between two tries of a dequeue while Redis is away, is
a few seconds: an idle worker takes jobs again soon after Redis is back.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any
from uuid import uuid4

from redis.client import Pipeline
from redis.exceptions import ConnectionError as RedisConnectionError, RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq import Queue, SimpleWorker, Worker
from rq.executions import Execution
from rq.job import Job
from rq.serializers import JSONSerializer

from config.observability import secret_texts
from config.settings import SettingsError
from executor import logs, ownership, rqlogs
from executor.background import Background
from executor.errors import JobFailed
from executor.execution import alert_of
from executor.alertqueue import AlertQueue
from executor.history import record_event, replays
from executor.rqlayout import HOLD_TTL_SECONDS, Lease, held_by_another
from workers import jobs  # noqa: F401  imported here so a job never pays the import
from workers.maintenance import Housekeeper, housekeeping_pass
from workers.runtime import current_runtime
from workers.supervisor import Supervisor

log = logging.getLogger(__name__)

#: A running job's heartbeat is renewed this often (its hold lapses HOLD_LAPSE_SECONDS after the last beat).
HEARTBEAT_SECONDS = 3
#: A job started within this long of being taken off the queue cannot have been given back meanwhile (the sweep
#: gives back a job taken but not started after DEQUEUED_GRACE_SECONDS, 10 s).
TAKEN_MOMENT_SECONDS = 2.0
#: RQ's longest pause between two tries of a dequeue while Redis is away (its own default is a minute).
RECONNECT_PAUSE_CAP_SECONDS = 4.0
#: An idle worker's heartbeat: it waits for a job this long less 15 s (RQ's rule) between beats, so a
#: worker that died shows as gone from ``/healthz`` within about this long.
WORKER_TTL_SECONDS = 20


class _ExecutorHooks:
    """Mixed into RQ's worker classes; see the module docstring."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.push_exc_handler(outage_is_not_the_jobs_failure)  # type: ignore[attr-defined]

    queue_class = AlertQueue
    max_connection_wait_time = RECONNECT_PAUSE_CAP_SECONDS
    asked_to_stop = False

    def request_stop(self, signum: Any, frame: Any) -> None:
        self.asked_to_stop = True
        try:
            super().request_stop(signum, frame)  # type: ignore[misc]
        except RedisError:  # it notes the request in Redis: away, the stop still happens
            log.warning("stop requested while Redis is away; stopping after the job in hand")

    def work(self, *args: Any, **kwargs: Any) -> bool:
        rqlogs.install()  # RQ's lines about a job the product has told the end of are left out
        queue = self.queues[0]  # type: ignore[attr-defined]
        housekeeping_pass(queue)  # before RQ's first maintenance, which fails abandoned jobs it meets
        keeper = Housekeeper(queue)
        keeper.start()
        try:
            return super().work(*args, **kwargs)  # type: ignore[misc]
        finally:
            keeper.stop()

    def get_heartbeat_ttl(self, job: Job, working_time: float = 0.0) -> int:
        return HOLD_TTL_SECONDS

    def heartbeat(self, timeout: int | None = None, pipeline: Pipeline | None = None) -> None:
        """RQ's heartbeat, in one round trip when RQ gives no pipeline: it is three commands, and the beat
        after a job is taken off the queue lies on the way to the job's first venue request."""
        if pipeline is not None:
            return super().heartbeat(timeout, pipeline=pipeline)  # type: ignore[misc]
        with self.connection.pipeline() as own:  # type: ignore[attr-defined]
            super().heartbeat(timeout, pipeline=own)  # type: ignore[misc]
            own.execute()
        return None

    def perform_job(self, job: Job, queue: Queue, execution: Execution) -> bool:
        lease = Lease.of(job, execution)
        if _may_have_been_given_back(job) and held_by_another(self.connection, lease):  # type: ignore[attr-defined]
            return self._let_go(job, execution)
        ownership.hold(lease)
        logs.set_job(job.id)
        try:
            return super().perform_job(job, queue, execution)  # type: ignore[misc]
        finally:
            ownership.hold(None)
            logs.set_job(None)
            rqlogs.job_over()
            current_runtime().metrics.flush()  # a work horse (fork mode) exits right after: write them now

    def _let_go(self, job: Job, execution: Execution) -> bool:
        """Not run: housekeeping gave the job back to the queue while this worker, frozen after taking it, had
        not started it, and another worker has it now. This worker's own hold goes."""
        log.warning("job %s: taken by another worker while this one had not started it; not run here", job.id)
        with self.connection.pipeline() as pipe:  # type: ignore[attr-defined]
            self.cleanup_execution(job, pipe, execution)  # type: ignore[attr-defined]
            pipe.execute()
        self.queues[0].intermediate_queue.remove(job.id)  # type: ignore[attr-defined]  (RQ's start would)
        return False

    def handle_job_success(self, job: Job, queue: Queue, started_job_registry: Any, execution: Execution) -> None:
        if not self.left_to_another(job, execution):
            super().handle_job_success(job, queue, started_job_registry, execution)  # type: ignore[misc]

    def handle_job_retry(self, job: Job, queue: Queue, retry: Any, started_job_registry: Any,
                         execution: Execution) -> None:
        if not self.left_to_another(job, execution):
            super().handle_job_retry(job, queue, retry, started_job_registry, execution)  # type: ignore[misc]

    def handle_job_failure(self, job: Job, queue: Queue, started_job_registry: Any = None, exc_string: str = "",
                           execution: Execution | None = None) -> None:
        if not self.left_to_another(job, execution):
            super().handle_job_failure(job, queue, started_job_registry, exc_string,  # type: ignore[misc]
                                       execution)

    def left_to_another(self, job: Job, execution: Execution | None) -> bool:
        """True, with nothing written, when the job stopped because this worker lost its hold
        (``ownership.leave``), or was given to another worker while it ran."""
        if execution is None:
            return False
        lease = Lease.of(job, execution)
        if not ownership.has_left(lease) and lease.held(self.connection):  # type: ignore[attr-defined]
            return False
        log.warning("job %s: no longer this worker's; left to the one that holds it", job.id)
        self.executions.pop(execution.id, None)  # type: ignore[attr-defined]  RQ's documented way to drop it
        return True


class ExecutorWorker(_ExecutorHooks, SimpleWorker):
    """Runs each job in this process; a thread renews the running job's heartbeat."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("job_monitoring_interval", HEARTBEAT_SECONDS)
        kwargs.setdefault("worker_ttl", WORKER_TTL_SECONDS)
        super().__init__(*args, **kwargs)
        self.heart = _RunningJobHeartbeat(self)

    def work(self, *args: Any, **kwargs: Any) -> bool:
        if not self.heart.is_alive():
            self.heart = _RunningJobHeartbeat(self)
            self.heart.start()
        try:
            return super().work(*args, **kwargs)
        finally:
            self.heart.stop()

    def perform_job(self, job: Job, queue: Queue, execution: Execution) -> bool:
        self.heart.follow(job, execution)
        try:
            return super().perform_job(job, queue, execution)
        finally:
            self.heart.forget()


class _RunningJobHeartbeat(threading.Thread):
    """Renews the running job's heartbeats (worker, execution, job) every HEARTBEAT_SECONDS, through RQ's
    ``maintain_heartbeats``, as RQ's forking worker does from its parent process."""

    def __init__(self, worker: ExecutorWorker) -> None:
        super().__init__(name="executor-heartbeat", daemon=True)
        self.worker = worker
        self.running: tuple[Job, Execution] | None = None
        self.beating = threading.Lock()
        self.stopping = threading.Event()

    def follow(self, job: Job, execution: Execution) -> None:
        self.running = (job, execution)

    def forget(self) -> None:
        """No beat for the job that ended; a beat under way is waited for, at most HEARTBEAT_SECONDS."""
        finished = self.beating.acquire(timeout=HEARTBEAT_SECONDS)
        self.running = None
        if finished:
            self.beating.release()

    def stop(self) -> None:
        self.stopping.set()

    def run(self) -> None:
        while not self.stopping.wait(HEARTBEAT_SECONDS):
            with self.beating:
                if self.running is None:
                    continue
                job, execution = self.running
                try:
                    self.worker.maintain_heartbeats(job, execution)
                except Exception:  # a missed beat is survivable; a dead beat thread would orphan the job
                    log.exception("heartbeat for job %s failed", job.id)


class ExecutorForkWorker(_ExecutorHooks, Worker):
    """Forks a child per job (RQ's default); the parent renews the job's heartbeat while the child runs."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("job_monitoring_interval", HEARTBEAT_SECONDS)
        kwargs.setdefault("worker_ttl", WORKER_TTL_SECONDS)
        kwargs.setdefault("work_horse_killed_handler", run_again_after_horse_death)
        super().__init__(*args, **kwargs)

    def maintain_heartbeats(self, job: Job, execution: Execution) -> None:
        try:
            super().maintain_heartbeats(job, execution)
        except RedisError as exc:  # a missed beat is survivable; a parent gone from its work horse is not
            log.warning("heartbeat for job %s failed (%s); still waiting for its work horse", job.id,
                        type(exc).__name__)


def outage_is_not_the_jobs_failure(job: Job, exc_type: Any, exc_value: BaseException | None, tb: Any) -> bool:
    """RQ's exception handler hook: Redis unreachable around a job (RQ's bookkeeping at its start or its end,
    after the client's own retries) leaves the job as it is, its hold to lapse and the job to be recovered and
    reconciled first, as an outage inside the job does (``executor.execution``); RQ would fail it."""
    if isinstance(exc_value, (RedisConnectionError, RedisTimeoutError)):
        ownership.leave()
        log.warning("job %s: Redis unavailable as RQ started or ended it (%s); left to be recovered and "
                    "reconciled", job.id, type(exc_value).__name__)
    return True  # the next handler runs too


#: A job whose work horse dies this many times in one run fails, rather than kill horses for ever.
HORSE_DEATHS_ALLOWED = 2
HORSE_DIED = "work horse died"


def run_again_after_horse_death(job: Job, retpid: int, ret_val: int, rusage: Any) -> None:
    """RQ's documented hook for a work horse that died mid-job (killed, out of memory). RQ would fail the job;
    but a request the horse sent may or may not have acted, so the job runs again instead, and its next
    attempt reconciles with the venue before sending anything (RQ's own retry, set up here)."""
    job.get_meta(refresh=True)  # the horse wrote the attempts; RQ's retry saves the job whole
    run = len(replays(job))
    deaths = sum(1 for event in job.meta.get("events", []) if event["event"] == HORSE_DIED and event["run"] == run)
    if deaths >= HORSE_DEATHS_ALLOWED:
        message = (f"its work horse died {deaths + 1} times in this run (last wait status {ret_val}); failed "
                   f"rather than run again")
        record_event(job, HORSE_DIED, message, run=run)
        life = current_runtime().runner.life
        life.failed(job, alert_of(job.args[0]) if job.args else None, JobFailed(message),
                    in_flight=job.meta.get("in_flight") is not None)
        rqlogs.job_over()  # told in the parent, which runs no perform_job to end the job's run
        return
    log.warning("work horse died mid-job (wait status %s); queued again, to be reconciled with the venue",
                ret_val, extra={"job_id": job.id})
    record_event(job, HORSE_DIED, f"its work horse died mid-job (wait status {ret_val}); queued again, to be "
                                  f"reconciled with the venue", run=run)
    job.retries_left = 1
    job.retry_intervals = [0]


WORKER_CLASSES: dict[str, type[ExecutorWorker] | type[ExecutorForkWorker]] = {
    "simple": ExecutorWorker, "fork": ExecutorForkWorker}


def worker_class(env: dict[str, str] | None = None) -> type[ExecutorWorker] | type[ExecutorForkWorker]:
    mode = (env if env is not None else os.environ).get("WORKER_MODE", "simple").strip().lower() or "simple"
    if mode not in WORKER_CLASSES:
        raise SettingsError(f"WORKER_MODE: must be one of {', '.join(WORKER_CLASSES)}")
    return WORKER_CLASSES[mode]


def run(*, burst: bool = False, name: str | None = None) -> bool:
    """Work until stopped (or, with ``burst``, until the queue is empty), through Redis outages: a fresh
    worker instance, under the same name, each time RQ's loop quits on one (``workers.supervisor``)."""
    cls = worker_class()
    runtime = current_runtime()
    logs.configure_logging("worker", runtime.settings.observability.log_format)  # before RQ sets up its own
    logs.mask_secrets(secret_texts(runtime.settings))
    runtime.build_adapters()  # before any job: a job starts with everything imported
    name = name or uuid4().hex

    def start() -> ExecutorWorker | ExecutorForkWorker:
        return cls([runtime.queue], connection=runtime.redis, serializer=JSONSerializer, name=name)

    background = Background(runtime.redis, runtime.settings, runtime.metrics)
    background.start()
    try:
        return Supervisor(start, runtime.redis, burst=burst).run()
    finally:
        background.stop()


def _may_have_been_given_back(job: Job) -> bool:
    """This worker took the job more than a moment ago (it was frozen, or slow): the sweep may have given it back
    to the queue meanwhile. Otherwise there is nothing to ask Redis: the sweep waits far longer."""
    taken = AlertQueue.last_taken
    return taken is None or taken[0] != job.id or time.monotonic() - taken[1] > TAKEN_MOMENT_SECONDS
