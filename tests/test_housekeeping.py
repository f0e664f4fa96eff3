"""Housekeeping passes: a job whose stored hash is damaged holds up no other job or lane of the pass."""
from __future__ import annotations

import logging

import pytest

from executor.jobview import fetch_job, status_word
from executor.lanes import Lanes
from executor.queueing import make_queue
from tests.test_job_api import queue_alert
from workers.maintenance import recover_abandoned_jobs, release_due_jobs, unstick_lanes


@pytest.fixture
def queue(settings, redis):
    return make_queue(redis, settings)


def damage(redis, job_id):
    redis.hset(f"rq:job:{job_id}", "status", "not-a-status")  # RQ refuses to read the job back


def test_a_damaged_lane_head_is_skipped_and_the_next_lane_still_moves_on(client, queue, redis, monkeypatch, caplog):
    damaged, done = queue_alert(client, symbol="BTC"), queue_alert(client, symbol="ETH")
    damage(redis, damaged)
    redis.hset(f"rq:job:{done}", "status", "finished")
    lanes = Lanes(redis)
    unordered = Lanes.known_lanes
    monkeypatch.setattr(Lanes, "known_lanes", lambda self: sorted(unordered(self)))  # the damaged lane first
    with caplog.at_level(logging.ERROR, logger="workers.maintenance"):
        unstick_lanes(queue)
    assert lanes.head("coinw:-:ETH") is None and lanes.head("coinw:-:BTC") == damaged
    assert "moving on lane coinw:-:BTC failed; skipped" in caplog.text


def test_a_damaged_abandoned_job_is_skipped_and_the_next_one_recovered(client, queue, redis):
    damaged, abandoned = queue_alert(client, symbol="BTC"), queue_alert(client, symbol="ETH")
    redis.zadd(queue.started_job_registry.key, {f"{damaged}:exec-1": 1, f"{abandoned}:exec-2": 2})
    redis.hset(f"rq:job:{abandoned}", "status", "started")
    damage(redis, damaged)
    assert recover_abandoned_jobs(queue, now=10) == [abandoned]
    assert status_word(fetch_job(redis, abandoned)) == "queued"


def test_a_damaged_scheduled_job_is_skipped_and_the_next_one_released(client, queue, redis):
    damaged, due = queue_alert(client, symbol="BTC"), queue_alert(client, symbol="ETH")
    redis.zadd(queue.scheduled_job_registry.key, {damaged: 1, due: 2})
    damage(redis, damaged)
    assert release_due_jobs(queue, now=10) == [due]
