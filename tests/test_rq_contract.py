"""What the product takes from RQ, checked against the installed RQ: an upgrade that changes any of it fails
here, and the message names what changed and where the product depends on it.

- the signature of every RQ method the product's worker and queue classes override (``workers/worker.py``,
  ``executor/alertqueue.py``), parameter for parameter;
- the parameters of the RQ calls the product makes;
- the Redis layout that ``executor/rqlayout.py`` writes and reads in its scripts.
"""
from __future__ import annotations

import inspect
import logging
import time
from datetime import datetime, timedelta, timezone

import pytest
import rq
from rq import Queue, Retry, SimpleWorker, Worker, get_current_job
from rq.intermediate_queue import IntermediateQueue
from rq.job import Job, JobStatus
from rq.registry import BaseRegistry, FailedJobRegistry
from rq.serializers import JSONSerializer
from rq.worker import BaseWorker

from executor import rqlayout
from executor.alertqueue import AlertQueue
from workers.worker import ExecutorForkWorker, ExecutorWorker

pytestmark = pytest.mark.e2e

Parameters = list[tuple[str, str, object]]


def parameters(function) -> Parameters:
    """Name, kind and default of each parameter: what a caller or an override depends on (not annotations)."""
    return [(p.name, p.kind.name, p.default) for p in inspect.signature(function).parameters.values()]


def shown(function) -> str:
    return "(" + ", ".join(name if default is inspect.Parameter.empty else f"{name}={default!r}"
                           for name, _, default in parameters(function)) + ")"


# (RQ class, method, the product's class that overrides it): the override must take exactly RQ's parameters.
OVERRIDDEN = [
    (BaseWorker, "work", None),  # overridden with *args, **kwargs: only the names run() passes matter
    (BaseWorker, "get_heartbeat_ttl", ExecutorWorker),
    (SimpleWorker, "get_heartbeat_ttl", ExecutorWorker),
    (BaseWorker, "heartbeat", ExecutorWorker),
    (BaseWorker, "perform_job", ExecutorWorker),
    (BaseWorker, "handle_job_success", ExecutorWorker),
    (BaseWorker, "handle_job_retry", ExecutorWorker),
    (BaseWorker, "handle_job_failure", ExecutorWorker),
    (BaseWorker, "request_stop", ExecutorWorker),
    (BaseWorker, "maintain_heartbeats", ExecutorForkWorker),
    (Queue, "dequeue_any", AlertQueue),
]


@pytest.mark.parametrize("rq_class, method, ours", OVERRIDDEN[1:], ids=lambda v: getattr(v, "__name__", v))
def test_every_overridden_rq_method_takes_what_the_override_takes(rq_class, method, ours):
    theirs, mine = getattr(rq_class, method), getattr(ours, method)
    assert parameters(theirs) == parameters(mine), (
        f"RQ {rq.__version__} changed {rq_class.__name__}.{method}: it takes {shown(theirs)}, the product's "
        f"override in {ours.__module__} takes {shown(mine)}; review that override")


# (callable, the parameter names the product passes, where): each must still exist.
CALLED = [
    (BaseWorker.work, ["burst", "logging_level", "with_scheduler"], "workers/worker.py run, tests"),
    (BaseWorker.__init__, ["queues", "name", "connection", "serializer", "job_monitoring_interval", "worker_ttl"],
     "workers/worker.py"),
    (BaseWorker.maintain_heartbeats, ["job", "execution"], "workers/worker.py _RunningJobHeartbeat"),
    (BaseWorker.all, ["connection", "queue"], "executor/health.py"),
    (BaseWorker.register_death, [], "workers/supervisor.py (a retired worker instance)"),
    (BaseWorker.unsubscribe, [], "workers/supervisor.py (a retired worker instance)"),
    (Worker.kill_horse, ["sig"], "workers/supervisor.py (a work horse outliving its instance)"),
    (Queue.dequeue_any, ["queues", "timeout", "connection", "job_class", "serializer", "death_penalty_class"],
     "executor/alertqueue.py"),
    (Queue.create_job, ["func", "args", "job_id", "timeout", "result_ttl", "failure_ttl", "description", "meta",
                        "status"], "executor/queueing.py _new_job"),
    (Queue.enqueue_job, ["job", "pipeline"], "executor/queueing.py put_on_queue"),
    (Queue.dequeue_any, ["queues", "timeout", "connection"], "tests/test_rq_contract.py (the intermediate list)"),
    (Queue.get_job_ids, ["offset", "length"], "executor/replay.py, executor/health.py"),
    (BaseRegistry.get_job_ids, ["start", "end", "cleanup"], "executor/replay.py"),
    (IntermediateQueue.remove, ["job_id"], "executor/alertqueue.py, workers/worker.py _let_go"),
    (BaseWorker.cleanup_execution, ["job", "pipeline", "execution"], "workers/worker.py _let_go"),
    (Job.fetch, ["id", "connection", "serializer"], "executor/jobview.py"),
    (Job.fetch_many, ["job_ids", "connection", "serializer"], "executor/replay.py"),
    (Job.set_status, ["status", "pipeline"], "executor/queueing.py"),
    (Job.get_status, ["refresh"], "executor/jobview.py"),
    (Job.to_dict, [], "executor/queueing.py _claim_and_join_lanes"),
    (Job.key_for, ["job_id"], "executor/rqlayout.py"),
    (Retry.__init__, ["max", "interval"], "executor/execution.py"),
]


@pytest.mark.parametrize("function, names, where", CALLED, ids=lambda v: getattr(v, "__qualname__", None))
def test_every_rq_call_the_product_makes_still_takes_its_parameters(function, names, where):
    present = [name for name, _, _ in parameters(function)]
    missing = [name for name in names if name not in present]
    assert not missing, (f"RQ {rq.__version__} changed {function.__qualname__}: no parameter {missing} "
                         f"(it takes {present}); the product passes them in {where}")


def test_rq_public_names_the_product_imports_are_still_there():
    for module, names in {"rq": ["Queue", "Retry", "SimpleWorker", "Worker", "get_current_job"],
                          "rq.executions": ["Execution"], "rq.job": ["Job", "JobStatus", "JOB_ID_PATTERN"],
                          "rq.registry": ["StartedJobRegistry", "FailedJobRegistry"],
                          "rq.exceptions": ["DequeueTimeout", "NoSuchJobError"],
                          "rq.serializers": ["JSONSerializer"], "rq.utils": ["now", "utcformat"]}.items():
        imported = __import__(module, fromlist=names)
        gone = [name for name in names if not hasattr(imported, name)]
        assert not gone, f"RQ {rq.__version__}: {module} no longer has {gone}"


# --- the Redis layout executor/rqlayout.py relies on ---

def hold_seen() -> dict:
    """Run as a job: its execution and the member and score of its hold."""
    job = get_current_job()
    registry = job.started_job_registry
    ((member, score),) = job.connection.zrange(registry.key, 0, -1, withscores=True)
    (execution_id,) = [execution.id for execution in job.get_executions()]
    return {"member": member.decode(), "execution": execution_id, "expires_in": score - time.time()}


@pytest.fixture
def queue(redis):
    return AlertQueue("contract", connection=redis, serializer=JSONSerializer)


class _Quiet(ExecutorWorker):
    def subscribe(self) -> None:
        pass

    def unsubscribe(self) -> None:
        pass


def test_a_running_jobs_hold_is_its_execution_in_the_started_registry_scored_by_the_heartbeats_expiry(queue, redis):
    job = queue.enqueue(hold_seen, result_ttl=600)
    _Quiet([queue], connection=redis, serializer=JSONSerializer, name=f"contract-{time.time_ns()}").work(burst=True)
    seen = job.return_value(refresh=True)
    assert seen is not None, f"RQ {rq.__version__}: the job did not run: {job.latest_result()}"
    assert seen["member"] == f"{job.id}:{seen['execution']}", (
        f"RQ {rq.__version__} changed the started registry's members: {seen['member']!r}, expected "
        f"'<job id>:<execution id>' (rqlayout.Lease, job_id_of)")
    assert rqlayout.HOLD_TTL_SECONDS - 2 < seen["expires_in"] <= rqlayout.HOLD_TTL_SECONDS, (
        f"RQ {rq.__version__} changed the started registry's score: it expires {seen['expires_in']:.1f} s after "
        f"the start, not get_heartbeat_ttl ({rqlayout.HOLD_TTL_SECONDS} s) (rqlayout.HOLD_LEFT_LUA)")


def test_a_job_id_cannot_hold_a_colon_so_a_member_splits_at_its_first(queue):
    with pytest.raises(ValueError):
        queue.create_job(hold_seen, job_id="a:b")
    assert rqlayout.job_id_of("alert-1:exec-2") == "alert-1"


def test_rq_maintenance_fails_a_started_job_whose_member_has_expired_and_leaves_the_others(queue, redis):
    """Why holds outlive their takeover by RQ_CLEANUP_MARGIN_SECONDS: RQ's clean-up cannot hand a job over."""
    expired, live = (queue.enqueue(hold_seen, job_id=name) for name in ("expired-hold", "live-hold"))
    for job, score in ((expired, time.time() - 1), (live, time.time() + 30)):
        job.set_status(JobStatus.STARTED)
        redis.zadd(queue.started_job_registry.key, {f"{job.id}:exec": score})
    queue.started_job_registry.cleanup()
    assert (expired.get_status(), live.get_status()) == (JobStatus.FAILED, JobStatus.STARTED), (
        f"RQ {rq.__version__} changed how StartedJobRegistry.cleanup treats expired members; review "
        f"rqlayout.RQ_CLEANUP_MARGIN_SECONDS")


def test_a_scheduled_job_is_its_id_in_the_scheduled_registry_scored_by_the_second_it_is_due(queue, redis):
    job = queue.create_job(hold_seen, job_id="scheduled-one")
    due = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=30)
    queue.schedule_job(job, due)
    assert redis.zrange(queue.scheduled_job_registry.key, 0, -1, withscores=True) == [
        (b"scheduled-one", due.timestamp())], f"RQ {rq.__version__} changed the scheduled registry (claim_due_scheduled)"


def test_a_job_put_on_the_queue_by_the_products_script_is_what_rqs_enqueue_leaves(queue, redis):
    by_rq = queue.enqueue_job(queue.create_job(hold_seen, job_id="by-rq"))
    ours = queue.create_job(hold_seen, job_id="by-script", status=JobStatus.DEFERRED)
    ours.save()
    script = redis.register_script(rqlayout.RQ_ENQUEUE_LUA + "rq_enqueue(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2])")
    script(keys=[ours.key, queue.key, queue.redis_queues_keys], args=[ours.id, rqlayout.enqueued_at_now()])
    fields = {key.decode() for key in redis.hgetall(by_rq.key)}
    missing = fields - {key.decode() for key in redis.hgetall(ours.key)}
    assert not missing, f"RQ {rq.__version__}'s enqueue now writes {missing} too (rqlayout.RQ_ENQUEUE_LUA)"
    ours = Job.fetch("by-script", connection=redis, serializer=JSONSerializer)
    assert ours.get_status() == JobStatus.QUEUED and ours.enqueued_at is not None
    assert queue.get_job_ids() == ["by-rq", "by-script"] and queue in Queue.all(connection=redis), (
        f"RQ {rq.__version__} changed how a queue holds its jobs (rqlayout.RQ_ENQUEUE_LUA)")


def test_a_job_rq_cannot_load_is_named_on_the_error_its_dequeue_raises(redis):
    plain = Queue("contract-plain", connection=redis, serializer=JSONSerializer)
    job = plain.enqueue(hold_seen)
    redis.hset(job.key, "status", "not-a-status")
    with pytest.raises(Exception) as raised:
        Queue.dequeue_any([plain], None, connection=redis, serializer=JSONSerializer)
    assert getattr(raised.value, "job_id", None) == job.id and getattr(raised.value, "queue", None) == plain, (
        f"RQ {rq.__version__} no longer names the job and queue on a dequeue error (executor/alertqueue.py)")


def test_the_failed_fields_of_a_damaged_job_are_what_rq_reads_as_failed(queue, redis):
    job = queue.enqueue(hold_seen, job_id="failed-by-fields")
    rqlayout.fail_unreadable_fields(redis, queue, job.id, "cannot be read", 600)
    assert Job.fetch(job.id, connection=redis).get_status() == JobStatus.FAILED
    assert FailedJobRegistry(queue=queue).get_job_ids(cleanup=False) == [job.id], (
        f"RQ {rq.__version__} changed the failed registry (rqlayout.fail_unreadable_fields)")


def test_an_idle_worker_beats_at_least_once_per_worker_ttl(redis):
    worker = ExecutorForkWorker(["contract"], connection=redis)
    assert 0 < worker.dequeue_timeout < worker.worker_ttl, (
        f"RQ {rq.__version__}: an idle worker now waits {worker.dequeue_timeout} s between heartbeats, more than "
        f"its worker_ttl {worker.worker_ttl} s (executor/health.py counts live workers by heartbeat)")
    assert isinstance(Worker.all(connection=redis), list) and issubclass(ExecutorForkWorker, Worker)


def test_rq_writes_a_jobs_lines_to_its_named_loggers_and_leaves_them_to_configured_logging(queue, redis):
    """executor/logs.py configures the process's logging before the worker starts, and executor/rqlogs.py filters
    RQ's job lines on the loggers ``rq.worker`` and ``rq.job``: RQ must write there, and add no handler of its
    own (nor stop propagation) where logging is configured, or its lines would be written twice, in its format."""
    from executor import logs, rqlogs

    logs.configure_logging("worker", "text")
    worker = _Quiet([queue], connection=redis)
    job = queue.enqueue(hold_seen)
    assert (worker.log.name, job.log.name) == ("rq.worker", "rq.job"), (
        f"RQ {rq.__version__} logs a job's lines on {worker.log.name}, {job.log.name} "
        f"(executor/rqlogs.py filters {rqlogs.RQ_LOGGERS})")
    worker.work(burst=True)
    for name in ("rq.worker", "rq.job"):
        logger = logging.getLogger(name)
        assert not logger.handlers and logger.propagate, (
            f"RQ {rq.__version__} set up handlers of its own on {name} although logging was configured "
            f"(executor/logs.py configure_logging)")


# --- the facts the scripts that move jobs rely on (executor/rqlayout.py, executor/lanes.py, workers/sweep.py) ---

def fails() -> None:
    """Run as a job: fails."""
    raise ValueError("failing on purpose")


def run_burst(queue, redis) -> None:
    _Quiet([queue], connection=redis, serializer=JSONSerializer, name=f"contract-{time.time_ns()}").work(burst=True)


def test_a_job_is_the_hash_at_its_key_under_rqs_job_prefix_with_rqs_status_words(queue, redis):
    job = queue.enqueue(hold_seen, job_id="keyed")
    keys = rqlayout.RQKeys.of(queue)
    assert Job.key_for(job.id) == keys.job(job.id) == Job.redis_job_namespace_prefix + job.id, (
        f"RQ {rq.__version__} changed where a job's hash lives (rqlayout.RQKeys.job_prefix: the release, lane and "
        f"sweep scripts build job keys from it)")
    assert redis.hget(keys.job(job.id), "status") == b"queued", f"RQ {rq.__version__} changed the status field"
    words = {"queued", "started", "scheduled", "deferred", "finished", "failed", "stopped", "canceled"}
    assert words <= {status.value for status in JobStatus}, (
        f"RQ {rq.__version__} renamed a JobStatus the product's scripts compare with: {words - set(JobStatus)}")


def test_a_jobs_meta_is_one_field_holding_the_serializers_dump_of_it(queue, redis):
    job = queue.enqueue(hold_seen, job_id="with-meta", meta={"attempts": [{"number": 1}], "lane": "x"})
    assert redis.hget(job.key, "meta") == JSONSerializer.dumps(job.meta), (
        f"RQ {rq.__version__} stores a job's meta otherwise (rqlayout.RQ_JOB_LUA: the move scripts compare and "
        f"replace it whole)")
    script = redis.register_script(rqlayout.RQ_JOB_LUA + "rq_set_meta(KEYS[1], ARGV[1]) return rq_meta(KEYS[1])")
    written = JSONSerializer.dumps({"attempts": [], "events": [{"event": "recovered"}]})
    assert script(keys=[job.key], args=[written]) == written
    assert Job.fetch(job.id, connection=redis, serializer=JSONSerializer).meta == {
        "attempts": [], "events": [{"event": "recovered"}]}, f"RQ {rq.__version__} reads a job's meta otherwise"


def test_rqs_dequeue_moves_the_id_to_the_intermediate_list_until_a_worker_holds_it(queue, redis):
    job = queue.enqueue(hold_seen, job_id="taken")
    taken, _ = Queue.dequeue_any([queue], None, connection=redis, serializer=JSONSerializer)
    keys = rqlayout.RQKeys.of(queue)
    assert taken.id == job.id and queue.get_job_ids() == [], f"RQ {rq.__version__} changed its dequeue"
    assert redis.lrange(keys.intermediate, 0, -1) == [b"taken"] and keys.intermediate == (
        IntermediateQueue.get_intermediate_queue_key(queue.key)), (
        f"RQ {rq.__version__} no longer keeps a dequeued job in the queue's intermediate list "
        f"(rqlayout.dequeued_unstarted, return_dequeued: the sweep of jobs taken but never started)")
    assert rqlayout.dequeued_unstarted(redis, queue) == ["taken"]
    assert rqlayout.return_dequeued(redis, queue, "taken") == "requeued"
    assert queue.get_job_ids() == ["taken"] and redis.llen(keys.intermediate) == 0
    run_burst(queue, redis)
    assert job.get_status(refresh=True) == JobStatus.FINISHED, (
        f"RQ {rq.__version__} does not run a job put back from the intermediate list (rqlayout.return_dequeued)")


def ended_state(redis, registry_key: str, job_id: str) -> dict:
    """What RQ's registries and the job's hash say about an ended job."""
    score = redis.zscore(registry_key, job_id)
    job = Job.fetch(job_id, connection=redis, serializer=JSONSerializer)
    return {"status": job.get_status(), "ended": job.ended_at is not None,  # seconds to the nearest ten
            "listed_for": round((score - time.time()) / 10) * 10 if score else None,
            "expires_in": round(redis.ttl(job.key) / 10) * 10}


def test_a_job_failed_by_the_products_scripts_is_what_rqs_own_failure_leaves(queue, redis):
    by_rq = queue.enqueue(fails, job_id="failed-by-rq", failure_ttl=600)
    run_burst(queue, redis)
    ours = queue.enqueue(hold_seen, job_id="failed-by-script", failure_ttl=600)
    redis.lrem(queue.key, 0, ours.id)
    script = redis.register_script(rqlayout.RQ_FAIL_LUA + "rq_fail(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3], "
                                                          "ARGV[4], '')")
    script(keys=[ours.key, queue.failed_job_registry.key],
           args=[ours.id, time.time(), 600, rqlayout.enqueued_at_now()])
    expected = {"status": JobStatus.FAILED, "ended": True, "listed_for": 600, "expires_in": 600}
    assert ended_state(redis, queue.failed_job_registry.key, by_rq.id) == expected, (
        f"RQ {rq.__version__} changed what its failure of a job writes (rqlayout.RQ_FAIL_LUA writes the same for "
        f"jobs failed unrun)")
    assert ended_state(redis, queue.failed_job_registry.key, ours.id) == expected
    assert set(queue.failed_job_registry.get_job_ids(cleanup=False)) == {by_rq.id, ours.id}


def test_a_finished_jobs_registry_entry_and_hash_expire_together(queue, redis):
    job = queue.enqueue(hold_seen, job_id="finished-one", result_ttl=900)
    run_burst(queue, redis)
    assert ended_state(redis, queue.finished_job_registry.key, job.id) == {
        "status": JobStatus.FINISHED, "ended": True, "listed_for": 900, "expires_in": 900}, (
        f"RQ {rq.__version__} changed the finished registry's score or the job's expiry (rqlayout.repair_orphan "
        f"puts a finished job back in its registry until its hash expires)")


def test_a_failed_job_reopened_by_the_products_script_is_no_longer_failed_in_rqs_eyes(queue, redis):
    job = queue.enqueue(fails, job_id="reopened", failure_ttl=600)
    run_burst(queue, redis)
    script = redis.register_script(rqlayout.RQ_REOPEN_LUA + """
if not rq_ended_in(KEYS[2], ARGV[1]) then return 0 end
rq_reopen(KEYS[1], KEYS[2], ARGV[1])
return 1""")
    assert script(keys=[job.key, queue.failed_job_registry.key], args=[job.id]) == 1
    assert job.id not in queue.failed_job_registry.get_job_ids(cleanup=False) and redis.ttl(job.key) == -1, (
        f"RQ {rq.__version__} keeps a failed job elsewhere than its failed registry (rqlayout.RQ_REOPEN_LUA: a "
        f"replay's claim)")


def test_every_place_rq_keeps_a_job_is_one_the_sweep_looks_in(queue, redis):
    keys = rqlayout.RQKeys.of(queue)
    registries = [queue.scheduled_job_registry, queue.finished_job_registry, queue.failed_job_registry,
                  queue.deferred_job_registry, queue.canceled_job_registry, queue.started_job_registry]
    assert {registry.key for registry in registries} <= set(keys.places), (
        f"RQ {rq.__version__}: a registry's key is not where the product looks (rqlayout.RQKeys.places)")
    names = {name for name in dir(Queue) if name.endswith("_job_registry")}
    known = {"scheduled_job_registry", "finished_job_registry", "failed_job_registry", "deferred_job_registry",
             "canceled_job_registry", "started_job_registry"}
    assert names - known <= {"ready_job_registry"}, (
        f"RQ {rq.__version__} has registries the sweep does not look in: {names - known} (rqlayout.RQ_PLACED_LUA)")


def test_the_worker_settings_the_supervisor_relies_on_are_still_rqs():
    assert isinstance(BaseWorker.max_connection_wait_time, float) and ExecutorWorker.max_connection_wait_time < 60, (
        f"RQ {rq.__version__} no longer caps its pause between dequeue tries with max_connection_wait_time "
        f"(workers/worker.py: an idle worker takes jobs again soon after Redis is back)")
    assert isinstance(inspect.getattr_static(BaseWorker, "horse_pid"), property), (
        f"RQ {rq.__version__}: horse_pid is no longer a property (workers/supervisor.py waits for the horse)")
