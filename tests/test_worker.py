"""The product's worker classes, run in this process against a real Redis: RQ's own loop and bookkeeping,
with the product's hooks (hold, heartbeat, hands-off once the job went to another worker)."""
from __future__ import annotations

import threading
import time

import pytest
from rq import Retry, get_current_job
from rq.executions import ExecutionRegistry
from rq.registry import FailedJobRegistry, ScheduledJobRegistry
from rq.serializers import JSONSerializer

from executor import ownership
from executor.alertqueue import make_queue
from executor.rqlayout import HOLD_TTL_SECONDS
from workers import worker as worker_module
from workers.runtime import Runtime, install_runtime
from workers.worker import ExecutorForkWorker, ExecutorWorker

pytestmark = pytest.mark.e2e

MODES = {"simple": ExecutorWorker, "fork": ExecutorForkWorker}


def quiet(cls):
    """Without RQ's command channel, whose thread can stall the end of a run by a second."""
    return type(f"Quiet{cls.__name__}", (cls,), {"subscribe": lambda self: None, "unsubscribe": lambda self: None})


def seen_at_start() -> dict:
    """Run as a job: what Redis says about this job while it runs, and the hold this process knows."""
    job = get_current_job()
    redis = job.connection
    registry = job.started_job_registry
    ((job_id, execution_id),) = registry.get_job_and_execution_ids(cleanup=False)
    hold = ownership.current()
    return {
        "status": job.get_status(refresh=True).value,
        "member": f"{job_id}:{execution_id}",
        "expires_in": redis.zscore(registry.key, f"{job_id}:{execution_id}") - time.time(),
        "hold": [hold.registry_key, hold.member] if hold else None,
        "registry_key": registry.key,
        "intermediate": redis.llen(f"rq:queue:{job.origin}:intermediate"),
    }


def beats_while_running(seconds: float) -> list[float]:
    """Run as a job: its execution's last heartbeat at the start and after ``seconds``."""
    job = get_current_job()
    (execution,) = ExecutionRegistry(job.id, connection=job.connection).get_executions()
    before = float(job.connection.hget(execution.key, "last_heartbeat"))
    time.sleep(seconds)
    return [before, float(job.connection.hget(execution.key, "last_heartbeat"))]


def taken_over_while_running() -> str:
    """Run as a job: housekeeping of another worker takes the job over (its hold's member goes) mid-run."""
    hold = ownership.current()
    get_current_job().connection.zrem(hold.registry_key, hold.member)
    return "done by the worker that lost it"


def fails() -> None:
    raise RuntimeError("this job fails")


def asks_for_a_retry() -> Retry:
    return Retry(max=1, interval=60)


@pytest.fixture
def queue(settings, redis):
    install_runtime(Runtime(settings, redis=redis))
    yield make_queue(redis, settings)
    install_runtime(None)


@pytest.fixture(params=sorted(MODES))
def worker(request, queue, redis):
    return quiet(MODES[request.param])([queue], connection=redis, serializer=JSONSerializer,
                                       name=f"worker-test-{request.param}-{time.time_ns()}")


def test_a_job_runs_started_as_rq_starts_it_under_a_hold_that_outlives_its_takeover(queue, worker):
    job = queue.enqueue(seen_at_start, result_ttl=600)

    assert worker.work(burst=True)

    seen = job.return_value(refresh=True)
    assert seen["status"] == "started" and seen["intermediate"] == 0
    assert seen["hold"] == [seen["registry_key"], seen["member"]]  # the process running the job knows its hold
    assert HOLD_TTL_SECONDS - 2 < seen["expires_in"] <= HOLD_TTL_SECONDS
    assert job.get_status(refresh=True).value == "finished"
    assert ownership.current() is None


def test_after_a_job_redis_holds_what_rq_leaves(queue, worker, redis):
    job = queue.enqueue(seen_at_start, result_ttl=600)

    worker.work(burst=True)

    assert queue.count == 0 and redis.llen(queue.intermediate_queue_key) == 0
    assert queue.started_job_registry.get_job_ids(cleanup=False) == []
    assert queue.finished_job_registry.get_job_ids(cleanup=False) == [job.id]
    assert redis.hget(worker.key, "successful_job_count") == b"1"


def test_a_failing_job_is_failed_and_leaves_the_started_registry(queue, worker, redis):
    job = queue.enqueue(fails, failure_ttl=600)

    worker.work(burst=True)

    assert job.get_status(refresh=True).value == "failed"
    assert "this job fails" in job.latest_result().exc_string
    assert FailedJobRegistry(queue=queue).get_job_ids(cleanup=False) == [job.id]
    assert queue.started_job_registry.get_job_ids(cleanup=False) == []


def test_a_job_returning_retry_is_scheduled_again(queue, worker):
    job = queue.enqueue(asks_for_a_retry)

    worker.work(burst=True)

    assert job.get_status(refresh=True).value == "scheduled"
    assert ScheduledJobRegistry(queue=queue).get_job_ids(cleanup=False) == [job.id]
    assert queue.started_job_registry.get_job_ids(cleanup=False) == []


def test_the_job_timeout_still_stops_a_job(queue, worker):
    job = queue.enqueue(time.sleep, 5, job_timeout=1)

    worker.work(burst=True)

    assert job.get_status(refresh=True).value == "failed"
    assert "JobTimeoutException" in job.latest_result().exc_string


def test_a_job_taken_over_while_it_ran_is_left_as_its_new_holder_will_find_it(queue, worker, redis):
    job = queue.enqueue(taken_over_while_running, result_ttl=600)

    worker.work(burst=True)

    assert job.get_status(refresh=True).value == "started"  # not finished: that is the new holder's to write
    assert queue.finished_job_registry.get_job_ids(cleanup=False) == []
    assert redis.hget(worker.key, "successful_job_count") is None


@pytest.mark.parametrize("mode", sorted(MODES))
def test_a_running_jobs_heartbeat_is_renewed_by_the_worker(queue, redis, monkeypatch, mode):
    monkeypatch.setattr(worker_module, "HEARTBEAT_SECONDS", 1)
    worker = quiet(MODES[mode])([queue], connection=redis, serializer=JSONSerializer,
                                name=f"beat-test-{mode}-{time.time_ns()}", job_monitoring_interval=1)
    job = queue.enqueue(beats_while_running, 2.5, result_ttl=600)

    worker.work(burst=True)

    before, after = job.return_value(refresh=True)
    assert after > before


def test_the_simple_workers_heartbeat_thread_ends_with_its_loop(queue, redis, monkeypatch):
    monkeypatch.setattr(worker_module, "HEARTBEAT_SECONDS", 0.05)
    worker = quiet(ExecutorWorker)([queue], connection=redis, serializer=JSONSerializer,
                                   name=f"beat-end-{time.time_ns()}")
    queue.enqueue(beats_while_running, 0.2, result_ttl=600)

    worker.work(burst=True)

    worker.heart.join(timeout=2)
    assert not worker.heart.is_alive()
    assert not [thread for thread in threading.enumerate() if thread is worker.heart]


def test_a_heartbeat_outside_a_pipeline_writes_what_rqs_writes_in_one_round_trip(queue, worker, redis):
    worker.register_birth()
    before = worker.last_heartbeat
    redis.hdel(worker.key, "last_heartbeat")
    worker.heartbeat(42)
    assert redis.hget(worker.key, "last_heartbeat") is not None and worker.last_heartbeat >= before
    assert 40 < redis.ttl(worker.key) <= 42
    worker.register_death()
