"""The simple worker's own way of taking a job off the queue still leaves Redis as RQ leaves it.

``ExecutorWorker`` fetches a job and writes RQ's start bookkeeping (the job's PERSIST too) in one
transaction. These tests run it in-process against a real Redis and look at what RQ's tools and our
housekeeping read: the job's status, fields and TTL, the started registry and executions, the
intermediate queue, the worker's hash, the result.
"""
from __future__ import annotations

import threading
import time

import pytest
from redis import exceptions as redis_errors
from redis.client import Pipeline
from rq import Queue, Retry, Worker, get_current_job
from rq.executions import ExecutionRegistry
from rq.job import Job
from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry
from rq.serializers import JSONSerializer

from executor.queueing import make_queue
from tests.processes import wait_until
from workers import worker as worker_module
from workers.runtime import Runtime, install_runtime
from workers.worker import HEARTBEAT_TTL_SECONDS, ExecutorWorker


class InProcessWorker(ExecutorWorker):
    """Without RQ's command channel, whose thread can stall the end of a run by a second."""

    def subscribe(self) -> None:
        pass

    def unsubscribe(self) -> None:
        pass


class OwnJob(Job):
    """A job class of a worker's own, which RQ's dequeue builds."""


def seen_at_start() -> dict:
    """Run as a job: what Redis says about this job and its worker while the job runs."""
    job = get_current_job()
    redis = job.connection
    worker = Worker.find_by_key(Worker.redis_worker_namespace_prefix + job.worker_name, connection=redis)
    queue = Queue(job.origin, connection=redis)
    return {
        "job_id": job.id,
        "status": job.get_status(refresh=True).value,
        "started_at": redis.hget(job.key, "started_at").decode(),
        "job_ttl": redis.ttl(job.key),
        "started_registry": StartedJobRegistry(job.origin, connection=redis).get_job_and_execution_ids(),
        "executions": [[e.id, e.worker_name, e.created_at.timestamp()]
                       for e in ExecutionRegistry(job.id, connection=redis).get_executions()],
        "intermediate_queue": [member.decode() for member in redis.lrange(queue.intermediate_queue_key, 0, -1)],
        "worker": [worker.get_state(), worker.get_current_job_id()],
        "worker_working_time": redis.hget(worker.key, "current_job_working_time").decode(),
        "worker_heartbeat": worker.last_heartbeat.timestamp(),
        "worker_ttl": redis.ttl(worker.key),
    }


def beats_while_running(seconds: float) -> list[float]:
    """Run as a job: its execution's last heartbeat at the start and after ``seconds``."""
    job = get_current_job()
    (execution,) = ExecutionRegistry(job.id, connection=job.connection).get_executions()
    before = float(job.connection.hget(execution.key, "last_heartbeat"))
    time.sleep(seconds)
    return [before, float(job.connection.hget(execution.key, "last_heartbeat"))]


def fails() -> None:
    raise RuntimeError("this job fails")


def asks_for_a_retry() -> Retry:
    return Retry(max=1, interval=60)


@pytest.fixture
def queue(settings, redis) -> Queue:
    install_runtime(Runtime(settings, redis=redis))
    yield make_queue(redis, settings)
    install_runtime(None)


@pytest.fixture
def worker(queue, redis) -> InProcessWorker:
    return InProcessWorker([queue], connection=redis, serializer=JSONSerializer, name=f"start-test-{time.time_ns()}")


def worker_hash(redis, worker) -> dict[str, str]:
    return {key.decode(): value.decode() for key, value in redis.hgetall(worker.key).items()}


def heart_threads() -> set[threading.Thread]:
    return {thread for thread in threading.enumerate() if thread.name == "executor-heartbeat"}


def test_a_job_is_taken_off_the_queue_and_marked_started_as_rq_marks_it(queue, worker, redis):
    job = queue.enqueue(seen_at_start, ttl=600, result_ttl=600)
    assert redis.ttl(job.key) > 0  # the job's ttl, which RQ lifts (PERSIST) before the job's function runs

    assert worker.work(burst=True)

    assert_started_as_rq_starts(job, worker)


def test_with_a_job_class_of_its_own_the_worker_takes_jobs_through_rqs_dequeue(queue, redis):
    worker = InProcessWorker([queue], connection=redis, serializer=JSONSerializer, job_class=OwnJob,
                             name=f"start-test-{time.time_ns()}")
    job = queue.enqueue(seen_at_start, ttl=600, result_ttl=600)

    taken = worker.dequeue_job_and_maintain_ttl(timeout=None)
    assert taken is not None and isinstance(taken[0], OwnJob)
    worker.execute_job(*taken)

    assert_started_as_rq_starts(job, worker)


def assert_started_as_rq_starts(job, worker) -> None:
    job.refresh()
    seen = job.return_value()
    assert seen["job_id"] == job.id and seen["status"] == "started" and seen["started_at"]
    assert seen["job_ttl"] == -1
    ((execution_id, worker_name, execution_created),) = seen["executions"]
    assert worker_name == worker.name
    assert seen["started_registry"] == [[job.id, execution_id]]
    assert seen["intermediate_queue"] == []
    assert seen["worker"] == ["busy", job.id] and seen["worker_working_time"] == "0"
    assert seen["worker_heartbeat"] >= execution_created  # the worker's heartbeat came with the start
    assert 0 < seen["worker_ttl"] <= HEARTBEAT_TTL_SECONDS
    assert job.get_status().value == "finished" and job.worker_name == worker.name
    assert job.started_at is not None and job.ended_at is not None


def test_after_a_job_redis_holds_what_rq_leaves(queue, worker, redis):
    job = queue.enqueue(seen_at_start, result_ttl=600)

    worker.work(burst=True)

    assert queue.count == 0 and redis.llen(queue.intermediate_queue_key) == 0
    assert queue.started_job_registry.get_job_ids() == []
    assert queue.finished_job_registry.get_job_ids() == [job.id]
    assert redis.zcard(f"rq:executions:{job.id}") == 0
    fields = worker_hash(redis, worker)
    assert fields["successful_job_count"] == "1" and "current_job" not in fields
    assert fields["state"] in ("idle", "dead")  # dead: the burst run registered its end


def test_a_worker_waiting_with_a_timeout_takes_the_job_runs_it_and_is_idle_after(queue, worker, redis):
    job = queue.enqueue(seen_at_start, result_ttl=600)
    taken = worker.dequeue_job_and_maintain_ttl(timeout=1)
    assert taken is not None and taken[0].id == job.id

    worker.execute_job(*taken)

    assert job.get_status(refresh=True).value == "finished"
    assert worker_hash(redis, worker)["state"] == "idle"
    assert worker.get_current_job_id() is None


def test_a_job_id_whose_job_is_gone_is_skipped_and_leaves_nothing_behind(queue, worker, redis):
    worker.register_birth()
    redis.rpush(queue.key, "gone-before-it-ran")
    real = queue.enqueue(seen_at_start, result_ttl=600)

    taken = worker.dequeue_job_and_maintain_ttl(timeout=None)

    assert taken is not None and taken[0].id == real.id
    assert not redis.exists("rq:job:gone-before-it-ran")
    assert redis.zcard("rq:executions:gone-before-it-ran") == 0
    assert [member.decode() for member in redis.lrange(queue.intermediate_queue_key, 0, -1)] == []
    assert queue.started_job_registry.get_job_ids() == [real.id]
    worker.execute_job(*taken)
    assert real.get_status(refresh=True).value == "finished"


def test_a_worker_waiting_after_a_gone_job_is_idle_with_an_idle_workers_heartbeat(queue, worker, redis):
    worker.register_birth()
    redis.rpush(queue.key, "gone-before-it-ran")
    waiting = threading.Thread(target=worker.dequeue_job_and_maintain_ttl, args=(1, 1))
    waiting.start()
    try:
        assert wait_until(lambda: not redis.llen(queue.key) and not redis.llen(queue.intermediate_queue_key)
                          and not redis.exists("rq:job:gone-before-it-ran")
                          and worker_hash(redis, worker)["state"] == "idle", timeout=2, interval=0.005)
        assert redis.ttl(worker.key) > HEARTBEAT_TTL_SECONDS
        assert worker.get_current_job_id() is None and queue.started_job_registry.get_job_ids() == []
    finally:
        waiting.join()


def test_a_start_cut_off_by_a_dropped_connection_leaves_the_worker_idle(queue, worker, redis, monkeypatch):
    worker.register_birth()
    queue.enqueue(seen_at_start)
    execute = Pipeline.execute

    def dropped_at_the_start(pipe, *args, **kwargs):
        if not any(command[0] == "HGETALL" for command, _ in pipe.command_stack):
            return execute(pipe, *args, **kwargs)
        monkeypatch.setattr(Pipeline, "execute", execute)
        raise redis_errors.ConnectionError("dropped")

    monkeypatch.setattr(Pipeline, "execute", dropped_at_the_start)

    assert worker.dequeue_job_and_maintain_ttl(timeout=None) is None  # nothing else queued

    assert worker.get_state() == "idle" and worker_hash(redis, worker)["state"] == "idle"


def test_an_idle_worker_with_max_idle_time_stops_waiting(queue, worker):
    worker.register_birth()
    assert worker.dequeue_job_and_maintain_ttl(timeout=5, max_idle_time=1) is None


def test_a_failing_job_is_failed_and_leaves_the_started_registry(queue, worker, redis):
    job = queue.enqueue(fails, failure_ttl=600)

    worker.work(burst=True)

    assert job.get_status(refresh=True).value == "failed"
    assert "this job fails" in job.latest_result().exc_string
    assert FailedJobRegistry(queue=queue).get_job_ids() == [job.id]
    assert queue.started_job_registry.get_job_ids() == []
    assert worker_hash(redis, worker)["failed_job_count"] == "1"


def test_a_job_returning_retry_is_scheduled_again(queue, worker):
    job = queue.enqueue(asks_for_a_retry)

    worker.work(burst=True)

    assert job.get_status(refresh=True).value == "scheduled"
    assert ScheduledJobRegistry(queue=queue).get_job_ids() == [job.id]
    assert queue.started_job_registry.get_job_ids() == []


def test_the_job_timeout_still_stops_a_job(queue, worker):
    job = queue.enqueue(time.sleep, 5, job_timeout=1)

    worker.work(burst=True)

    assert job.get_status(refresh=True).value == "failed"
    assert "JobTimeoutException" in job.latest_result().exc_string


def test_a_running_jobs_heartbeat_is_renewed_and_the_beats_stop_with_the_loop(queue, worker, monkeypatch):
    monkeypatch.setattr(worker_module, "HEARTBEAT_SECONDS", 0.05)
    job = queue.enqueue(beats_while_running, 0.5, result_ttl=600)
    already_beating = heart_threads()

    worker.work(burst=True)

    before, after = job.return_value(refresh=True)
    assert after > before
    deadline = time.monotonic() + 2
    while heart_threads() - already_beating and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not heart_threads() - already_beating

