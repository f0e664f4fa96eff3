"""The sweep puts back every job found in no queue, registry or lane, one log line each; a worker that took a job
and froze before starting it does not run it once the sweep has given it to another."""
from __future__ import annotations

import logging
import time

import pytest
from rq.serializers import JSONSerializer

from executor.alertqueue import make_queue
from executor.jobview import fetch_job, status_word
from executor.replay import list_jobs
from tests.coinw import REVERSE, open_position, send, venue_requests
from tests.conftest import BurstWorker
from workers.runtime import Runtime, install_runtime
from workers import worker as worker_module
from workers.sweep import DEQUEUED_GRACE_SECONDS, DequeuedWatch, SWEEP_SECONDS, sweep_job_hashes, take_sweep_turn


@pytest.fixture
def queue(settings, redis):
    return make_queue(redis, settings)


def sweep_lines(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == "workers.sweep"]


def orphan(redis, queue, job_id: str, status: str) -> None:
    """The job as a move cut half way by an older release left it: ``status``, and in no queue or lane."""
    redis.lrem(queue.key, 0, job_id)
    redis.delete("executor:lane:coinw:-:BTC")
    redis.hset(f"rq:job:{job_id}", "status", status)


def test_a_failed_job_in_no_registry_goes_back_in_it_listed_and_expiring_with_its_hash(client, queue, redis, caplog):
    job_id = send(client)
    orphan(redis, queue, job_id, "failed")
    redis.expire(f"rq:job:{job_id}", 3600)
    with caplog.at_level(logging.WARNING, logger="workers.sweep"):
        assert sweep_job_hashes(queue) == [(job_id, "registered")]
        assert sweep_job_hashes(queue) == []  # once is enough
    assert [job.id for job in list_jobs(queue, "failed")] == [job_id]
    assert 3590 < redis.zscore(queue.failed_job_registry.key, job_id) - time.time() <= 3600
    assert sweep_lines(caplog) == [f"housekeeping: job {job_id} (coinw:-:BTC) was failed in no queue, registry or "
                                   f"lane: put back in its registry"]


def test_a_job_running_in_no_worker_is_queued_again_and_done_once(client, queue, redis, simulator, run_jobs):
    open_position(simulator)
    job_id = send(client)
    orphan(redis, queue, job_id, "started")  # its hold was taken but it was never queued again
    assert sweep_job_hashes(queue) == [(job_id, "queued")]
    run_jobs()
    job = fetch_job(redis, job_id)
    assert status_word(job) == "finished" and [e["event"] for e in job.meta["events"]] == ["recovered"]
    assert len(venue_requests(simulator, REVERSE)) == 1


def test_a_damaged_job_in_no_place_fails_and_jobs_of_other_queues_are_left_alone(client, queue, redis, settings):
    damaged, elsewhere = send(client, symbol="BTC"), send(client, symbol="ETH")
    orphan(redis, queue, damaged, "started")
    redis.hset(f"rq:job:{damaged}", "data", b"not zipped json")
    redis.lrem(queue.key, 0, elsewhere)
    redis.hset(f"rq:job:{elsewhere}", mapping={"status": "started", "origin": "another-queue"})
    assert sweep_job_hashes(queue) == [(damaged, "failed")]
    assert b"cannot be read" in redis.hget(f"rq:job:{damaged}", "exc_info")
    assert redis.hget(f"rq:job:{elsewhere}", "status") == b"started"


def test_one_worker_in_every_sweep_period_takes_the_turn(queue, redis):
    assert take_sweep_turn(queue) and not take_sweep_turn(queue)
    assert SWEEP_SECONDS * 1000 - 100 < redis.pttl("executor:sweep") <= SWEEP_SECONDS * 1000


def test_a_job_taken_and_never_started_goes_back_to_the_front_of_the_queue_only_after_the_grace(
        client, queue, redis, caplog):
    first, second = send(client, symbol="BTC"), send(client, symbol="ETH")
    redis.lmove(queue.key, queue.intermediate_queue_key)  # a worker took the first and died
    watch = DequeuedWatch()
    with caplog.at_level(logging.WARNING, logger="workers.sweep"):
        assert watch.return_stranded(queue, now=100.0) == []
        assert watch.return_stranded(queue, now=100.0 + DEQUEUED_GRACE_SECONDS - 0.1) == []
        assert watch.return_stranded(queue, now=100.0 + DEQUEUED_GRACE_SECONDS) == [first]
    assert queue.get_job_ids() == [first, second] and redis.llen(queue.intermediate_queue_key) == 0
    (line,) = sweep_lines(caplog)
    assert line.startswith(f"housekeeping: job {first} was taken off the queue") and "front of the queue" in line


def test_a_worker_that_took_a_job_now_held_by_another_does_not_run_it(
        client, queue, redis, settings, simulator, caplog, monkeypatch):
    monkeypatch.setattr(worker_module, "TAKEN_MOMENT_SECONDS", -1.0)  # as if it had been frozen since it took it
    open_position(simulator)
    job_id = send(client)
    other = f"{job_id}:held-by-another-worker"
    redis.zadd(queue.started_job_registry.key, {other: time.time() + 70})
    install_runtime(Runtime(settings, redis=redis))
    try:
        with caplog.at_level(logging.WARNING, logger="workers.worker"):
            BurstWorker([queue], connection=redis, serializer=JSONSerializer).work(burst=True)
    finally:
        install_runtime(None)
    assert venue_requests(simulator) == []
    assert [raw.decode() for raw in redis.zrange(queue.started_job_registry.key, 0, -1)] == [other]
    assert redis.llen(queue.intermediate_queue_key) == 0 and status_word(fetch_job(redis, job_id)) == "queued"
    assert f"job {job_id}: taken by another worker while this one had not started it; not run here" in caplog.text
