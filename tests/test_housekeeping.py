"""Housekeeping, the worker and the job commands meet a job whose stored hash is damaged: nothing else is held up."""
from __future__ import annotations

import logging
import time

import pytest
from rq.serializers import JSONSerializer

from executor.jobview import fetch_job, status_word
from executor.lanes import Lanes
from executor.alertqueue import DAMAGED_JOB_RETENTION_SECONDS, make_queue
from tests.coinw import open_position
from tests.test_job_api import AUTH, queue_alert
from workers.maintenance import recover_abandoned_jobs, release_due_jobs, unstick_lanes
from workers.runtime import Runtime, install_runtime
from workers.worker import ExecutorWorker


@pytest.fixture
def queue(settings, redis):
    return make_queue(redis, settings)


def run_worker(queue, redis, settings) -> bool:
    """The product's worker, in this process, until the queue is empty."""
    install_runtime(Runtime(settings, redis=redis))
    try:
        worker = ExecutorWorker([queue], connection=redis, serializer=JSONSerializer, name=f"hk-{time.time_ns()}")
        return worker.work(burst=True)
    finally:
        install_runtime(None)


def damage(redis, job_id, field="status"):
    """Change a field of the job's hash so that RQ cannot read the job back."""
    redis.hset(f"rq:job:{job_id}", field, {"status": "not-a-status", "data": b"not zipped json"}[field])


def test_a_damaged_lane_head_fails_the_jobs_behind_it_and_the_next_lane_still_moves_on(
        client, queue, redis, monkeypatch, caplog):
    damaged, behind, done = (queue_alert(client, symbol="BTC"), queue_alert(client, symbol="BTC", id="behind"),
                             queue_alert(client, symbol="ETH"))
    damage(redis, damaged)
    redis.hset(f"rq:job:{done}", "status", "finished")
    lanes = Lanes(queue)
    unordered = Lanes.known_lanes
    monkeypatch.setattr(Lanes, "known_lanes", lambda self: sorted(unordered(self)))  # the damaged lane first
    with caplog.at_level(logging.ERROR, logger="executor.queueing"):
        unstick_lanes(queue)
    assert lanes.head("coinw:-:BTC") is None and lanes.head("coinw:-:ETH") is None
    assert redis.hget(f"rq:job:{damaged}", "status") == b"failed" and damaged in queue.failed_job_registry
    waiting = fetch_job(redis, behind)
    assert status_word(waiting) == "failed"
    assert f"job {damaged} before it on coinw:-:BTC failed and cannot be read" in waiting.meta["error"]["message"]
    assert f"job {damaged} cannot be read" in caplog.text


def test_a_damaged_abandoned_job_is_skipped_and_the_next_one_recovered(client, queue, redis):
    damaged, abandoned = queue_alert(client, symbol="BTC"), queue_alert(client, symbol="ETH")
    redis.zadd(queue.started_job_registry.key, {f"{damaged}:exec-1": 1, f"{abandoned}:exec-2": 2})
    redis.hset(f"rq:job:{abandoned}", "status", "started")
    damage(redis, damaged)
    assert recover_abandoned_jobs(queue, now=10) == [abandoned]
    assert status_word(fetch_job(redis, abandoned)) == "queued"


def scheduled(redis, queue, job_id, due):
    """The job as RQ leaves one it rescheduled: off the queue, ``scheduled``, in the scheduled registry."""
    redis.lrem(queue.key, 0, job_id)
    redis.hset(f"rq:job:{job_id}", "status", "scheduled")
    redis.zadd(queue.scheduled_job_registry.key, {job_id: due})


def test_a_damaged_scheduled_job_fails_and_the_next_one_is_released(client, queue, redis):
    damaged, due = queue_alert(client, symbol="BTC"), queue_alert(client, symbol="ETH")
    scheduled(redis, queue, damaged, 1)
    scheduled(redis, queue, due, 2)
    damage(redis, damaged, "data")
    assert release_due_jobs(queue, now=10) == [damaged, due]  # the damaged one is failed by the worker taking it
    assert queue.get_job_ids() == [damaged, due] and queue.scheduled_job_registry.count == 0
    scheduled(redis, queue, damaged, 3)
    damage(redis, damaged, "status")
    assert release_due_jobs(queue, now=10) == []
    assert redis.hget(f"rq:job:{damaged}", "status") == b"failed" and damaged in queue.failed_job_registry
    assert queue.scheduled_job_registry.count == 0


def test_a_worker_fails_a_job_it_cannot_read_and_goes_on_with_the_next(client, queue, redis, settings, simulator):
    open_position(simulator)
    damaged, good = queue_alert(client, symbol="ETH"), queue_alert(client, symbol="BTC")
    damage(redis, damaged, "data")  # not the status, which the start overwrites
    assert run_worker(queue, redis, settings)
    assert redis.hget(f"rq:job:{damaged}", "status") == b"failed"
    assert b"cannot be read" in redis.hget(f"rq:job:{damaged}", "exc_info")
    assert queue.failed_job_registry.get_job_ids() == [damaged] and queue.started_job_registry.count == 0
    assert 0 < redis.ttl(f"rq:job:{damaged}") <= DAMAGED_JOB_RETENTION_SECONDS
    assert status_word(fetch_job(redis, good)) == "finished"


def test_a_damaged_job_next_in_its_lane_fails_with_those_behind_it_and_the_job_before_it_finishes(
        client, queue, redis, settings, simulator):
    open_position(simulator)
    first, damaged, behind = [queue_alert(client, symbol="BTC", id=name) for name in ("first", "damaged", "behind")]
    damage(redis, damaged, "data")
    assert run_worker(queue, redis, settings)
    assert status_word(fetch_job(redis, first)) == "finished"
    assert redis.hget(f"rq:job:{damaged}", "status") == b"failed"
    assert b"cannot be read" in redis.hget(f"rq:job:{damaged}", "exc_info")
    waiting = fetch_job(redis, behind)
    assert status_word(waiting) == "failed" and "failed and cannot be read" in waiting.meta["error"]["message"]
    assert Lanes(queue).head("coinw:-:BTC") is None


def test_the_job_commands_name_a_damaged_job_and_list_the_others(client, redis, cli, monkeypatch):
    damaged, other = queue_alert(client, symbol="BTC"), queue_alert(client, symbol="ETH")
    damage(redis, damaged, "data")
    answer = client.get(f"/jobs/{damaged}", headers=AUTH)
    assert answer.status_code == 500 and f"job {damaged} cannot be read" in answer.json["error"]
    code, _, err = cli("jobs", "show", damaged)
    assert code == 1 and f"job {damaged} cannot be read" in err
    code, out, _ = cli("jobs", "list", "--all")
    assert code == 0 and [line.split()[0] for line in out.splitlines()] == [other]
