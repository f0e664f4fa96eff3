"""A worker's hold on its job: the fence before a request that acts, and history writes that never erase.

A real Redis; the hold is an entry in RQ's started registry, written here as a worker's heartbeat writes it.
"""
from __future__ import annotations

import time

import pytest
from rq import Queue
from rq.serializers import JSONSerializer

from config.ratelimits import RateLimit
from executor import ownership
from executor.domain import ActionResult
from executor.history import LEFT, SENT, Attempt, record_event
from executor.jobview import fetch_job
from executor.ownership import SEND_MARGIN_SECONDS, Lease, LeaseLost
from executor.ratelimit import RateLimiter

LIMIT = RateLimit("orders", 1, 1.0)


@pytest.fixture
def queue(redis):
    return Queue("ownership-test", connection=redis, serializer=JSONSerializer)


@pytest.fixture
def job(queue):
    return queue.enqueue("workers.jobs.execute_alert", {"alert": {}}, job_id="held-job")


def held_for(queue, job, seconds_left: float, execution: str = "exec-a") -> Lease:
    """The job's entry in the started registry, expiring ``seconds_left`` from now (as a heartbeat writes it)."""
    lease = Lease(queue.started_job_registry.key, f"{job.id}:{execution}")
    queue.connection.zadd(lease.registry_key, {lease.member: time.time() + seconds_left})
    return lease


def taken_over(queue, lease: Lease) -> None:
    """What housekeeping does to a lapsed entry before it gives the job to another worker."""
    queue.connection.zrem(lease.registry_key, lease.member)


def test_a_request_that_acts_takes_its_slot_while_its_worker_holds_the_job(redis, queue, job):
    lease = held_for(queue, job, 10)
    assert RateLimiter(redis).try_acquire("coinw", "key", (LIMIT,), fence=lease) == 0


def test_a_worker_whose_job_was_taken_over_gets_no_slot_and_uses_none_up(redis, queue, job):
    limiter = RateLimiter(redis)
    lease = held_for(queue, job, 10)
    taken_over(queue, lease)
    with pytest.raises(LeaseLost, match="no longer holds the job"):
        limiter.try_acquire("coinw", "key", (LIMIT,), fence=lease)
    assert limiter.try_acquire("coinw", "key", (LIMIT,)) == 0  # the one slot of the window is still free


def test_a_hold_about_to_lapse_is_not_enough_to_send(redis, queue, job):
    lease = held_for(queue, job, SEND_MARGIN_SECONDS - 1)
    with pytest.raises(LeaseLost):
        RateLimiter(redis).acquire("coinw", "key", (LIMIT,), max_wait=1.0, fence=lease)


def test_a_read_needs_no_hold(redis, queue, job):
    assert RateLimiter(redis).try_acquire("coinw", "key", (LIMIT,), fence=None) == 0


def test_the_holder_writes_the_history_whole(queue, job):
    lease = held_for(queue, job, 10)
    attempt = Attempt(job, lease=lease)
    attempt.sending({"action": "reverse"})
    assert fetch_job(queue.connection, job.id).meta["in_flight"]["attempt"] == 1


def test_a_worker_that_lost_the_job_merges_only_its_own_attempt_into_the_new_holders_history(queue, job):
    old = held_for(queue, job, 10)
    stale = Attempt(fetch_job(queue.connection, job.id), lease=old)
    stale.sending({"action": "reverse"})  # then cut off from Redis

    taken_over(queue, old)
    record_event(fetch_job(queue.connection, job.id), "recovered", "queued again")
    new = held_for(queue, job, 10, execution="exec-b")
    rescuer = Attempt(fetch_job(queue.connection, job.id), lease=new)
    rescuer.succeeded(_result("order-2"))

    stale.left(LeaseLost("cut off"))  # back from the cut: it writes late
    meta = fetch_job(queue.connection, job.id).meta
    assert [(a["number"], a["outcome"]) for a in meta["attempts"]] == [(1, LEFT), (2, SENT)]
    assert meta["attempts"][1]["order_id"] == "order-2"
    assert [event["event"] for event in meta["events"]] == ["recovered"]
    assert "in_flight" not in meta and "error" not in meta


def test_a_late_attempt_no_one_saw_is_added_in_the_order_attempts_started(queue, job):
    old = held_for(queue, job, 10)
    stale = Attempt(fetch_job(queue.connection, job.id), lease=old)  # never saved: cut off during its read
    taken_over(queue, old)
    new = held_for(queue, job, 10, execution="exec-b")
    Attempt(fetch_job(queue.connection, job.id), lease=new).succeeded(_result("order-2"))

    stale.left(LeaseLost("cut off"))
    attempts = fetch_job(queue.connection, job.id).meta["attempts"]
    assert [(a["number"], a["outcome"]) for a in attempts] == [(1, LEFT), (1, SENT)]


def test_a_late_write_does_not_bring_back_a_job_that_is_gone(queue, job):
    lease = held_for(queue, job, 10)
    attempt = Attempt(job, lease=lease)
    taken_over(queue, lease)
    job.delete()
    attempt.left(LeaseLost("cut off"))
    assert not queue.connection.exists(job.key)


def test_the_process_hold_names_one_job(queue, job):
    lease = held_for(queue, job, 10)
    ownership.hold(lease)
    try:
        assert ownership.lease_for(job.id) == lease and ownership.lease_for("another-job") is None
    finally:
        ownership.hold(None)
    assert ownership.current() is None


def _result(order_id: str) -> ActionResult:
    return ActionResult(venue="coinw", action="reverse", order_id=order_id)
