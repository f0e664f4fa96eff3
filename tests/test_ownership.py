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
from executor.errors import RetryLater
from executor.history import LEFT, SENT, Attempt, record_event
from executor.jobview import fetch_job
from executor.ownership import SEND_MARGIN_SECONDS, Lease, LeaseLost
from executor.ratelimit import RateLimiter
from executor.rqlayout import RQ_CLEANUP_MARGIN_SECONDS
from executor.sendguard import SendGuard
from executor.venues.transport import Request, Transport

LIMIT = RateLimit("orders", 1, 1.0)
ORDER = Request("POST", "http://127.0.0.1:9/order", "orders", {}, "{}", mutating=True)
READ = Request("GET", "http://127.0.0.1:9/positions", "orders", {})


@pytest.fixture
def queue(redis):
    return Queue("ownership-test", connection=redis, serializer=JSONSerializer)


@pytest.fixture
def job(queue):
    return queue.enqueue("workers.jobs.execute_alert", {"alert": {}}, job_id="held-job")


@pytest.fixture
def running(queue, job):
    """The job held by this process, as a worker holds the job it runs."""
    lease = held_for(queue, job, 10)
    ownership.hold(lease)
    yield lease
    ownership.hold(None)


def guard_for(redis) -> SendGuard:
    return SendGuard(RateLimiter(redis), {}, max_wait=0.0, clock=lambda: None)  # no funding schedule


def stored_meta(queue, job) -> dict:
    return fetch_job(queue.connection, job.id).meta


def held_for(queue, job, seconds_left: float, execution: str = "exec-a") -> Lease:
    """The job's entry in the started registry, as a heartbeat writes it: its hold lapses ``seconds_left``
    from now (RQ's own expiry of the entry comes RQ_CLEANUP_MARGIN_SECONDS later)."""
    lease = Lease(queue.started_job_registry.key, f"{job.id}:{execution}")
    expiry = time.time() + seconds_left + RQ_CLEANUP_MARGIN_SECONDS
    queue.connection.zadd(lease.registry_key, {lease.member: expiry})
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


def test_in_a_worker_the_in_flight_record_is_written_by_the_fence_of_the_request_that_acts(redis, queue, job, running):
    attempt = Attempt(job, lease=running)
    attempt.sending({"action": "reverse"})
    assert "in_flight" not in stored_meta(queue, job)  # no round trip of its own

    guard_for(redis)("coinw", "key", READ)
    assert "in_flight" not in stored_meta(queue, job)  # a read does not carry it
    guard_for(redis)("coinw", "key", ORDER)
    assert stored_meta(queue, job)["in_flight"]["action"] == "reverse"
    assert ownership.pending_write(running) is None


def test_the_in_flight_record_is_written_even_when_the_slot_must_be_waited_for(redis, queue, job, running):
    limiter = RateLimiter(redis)
    assert limiter.try_acquire("coinw", "key", (LIMIT,)) == 0  # the window's one slot is taken
    Attempt(job, lease=running).sending({"action": "reverse"})
    assert limiter.try_acquire("coinw", "key", (LIMIT,), fence=running, write=ownership.pending_write(running)) > 0
    assert stored_meta(queue, job)["in_flight"]["action"] == "reverse"


def test_a_worker_that_lost_its_job_writes_no_in_flight_record_and_takes_no_slot(redis, queue, job, running):
    Attempt(job, lease=running).sending({"action": "reverse"})
    taken_over(queue, running)
    with pytest.raises(LeaseLost):
        guard_for(redis)("coinw", "key", ORDER)
    assert "in_flight" not in stored_meta(queue, job)
    assert RateLimiter(redis).try_acquire("coinw", "key", (LIMIT,)) == 0


def test_a_request_that_acts_without_a_fence_still_leaves_after_its_in_flight_record(queue, job, running):
    Attempt(job, lease=running).sending({"action": "reverse"})
    with pytest.raises(RetryLater):  # nothing listens on port 9: the write is made, then nothing is sent
        Transport().send("coinw", "key", ORDER)
    assert stored_meta(queue, job)["in_flight"]["action"] == "reverse"


def test_a_later_whole_write_replaces_the_kept_one(redis, queue, job, running):
    attempt = Attempt(job, lease=running)
    attempt.sending({"action": "reverse"})
    attempt.settled()  # a definite answer that did nothing, before any request left
    assert ownership.pending_write(running) is None
    guard_for(redis)("coinw", "key", ORDER)
    assert "in_flight" not in stored_meta(queue, job)
