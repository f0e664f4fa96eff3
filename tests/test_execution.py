"""The worker's decisions, in-process with an injected clock: funding windows, error classes, retries, staleness."""
from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

import pytest
import requests
from rq.serializers import JSONSerializer

from config.funding import DEFAULT_SCHEDULES
from config.settings import RetryPolicy
from executor.alertqueue import make_queue
from executor.queueing import put_on_queue
from executor.ratelimit import RateLimiter
from executor.simulator import DEMO_COINW_API_KEY
from tests.coinw import REVERSE, add_fault, open_position, send, venue_requests, view
from tests.conftest import BurstWorker, FixedClock
from workers.runtime import Runtime, install_runtime

FUNDING_AT = datetime(2026, 11, 20, 8, 0, tzinfo=timezone.utc)


@pytest.fixture
def settings(settings):
    return dataclasses.replace(settings, funding=DEFAULT_SCHEDULES)


@pytest.fixture
def clock():
    return FixedClock(FUNDING_AT + timedelta(hours=3))


@pytest.fixture
def worker(settings, redis, simulator, clock):
    """Runs queued jobs in-process with the test's clock; a tuned settings object may be passed."""

    def run(tuned=None):
        install_runtime(Runtime(tuned or settings, clock=clock, redis=redis))
        try:
            queue = make_queue(redis, tuned or settings)
            BurstWorker([queue], connection=redis, serializer=JSONSerializer).work(burst=True)
        finally:
            install_runtime(None)

    return run












def scheduled_at(redis, settings, job_id):
    registry = make_queue(redis, settings).scheduled_job_registry
    score = redis.zscore(registry.key, job_id)
    return datetime.fromtimestamp(score, tz=timezone.utc) if score is not None else None


def release_scheduled(redis, settings):
    """Do what RQ's scheduler does when the time comes, without waiting for it."""
    queue = make_queue(redis, settings)
    for job_id in queue.scheduled_job_registry.get_job_ids():
        queue.scheduled_job_registry.remove(job_id)
        put_on_queue(queue, queue.fetch_job(job_id))


def test_a_job_inside_a_funding_window_is_deferred_to_its_end_and_sends_nothing(
        client, simulator, worker, clock, redis, settings):
    open_position(simulator)
    clock.now = FUNDING_AT - timedelta(seconds=5)
    job_id = send(client)
    worker()
    record = view(client, job_id)
    assert record["status"] == "deferred"
    assert record["deferred"]["until"] == "2026-11-20T08:01:00+00:00"
    assert record["deferred"]["reason"] == "funding" and "08:00:00" in record["deferred"]["message"]
    assert venue_requests(simulator) == []
    real_delay = (scheduled_at(redis, settings, job_id) - datetime.now(timezone.utc)).total_seconds()
    assert 60 < real_delay <= 65.5  # RQ schedules on the real clock: the window's remaining 65 s

    clock.now = FUNDING_AT + timedelta(seconds=60)
    release_scheduled(redis, settings)
    worker()
    assert view(client, job_id)["status"] == "finished"
    assert len(venue_requests(simulator, REVERSE)) == 1


def test_the_window_is_checked_again_just_before_sending(client, simulator, worker, clock, settings, redis):
    """The position read happens before the window; the reversal would fall inside it, so it is not sent."""
    open_position(simulator)
    clock.now = FUNDING_AT - timedelta(seconds=10, milliseconds=1)
    runtime = Runtime(settings, clock=clock, redis=redis)
    acquire = runtime.limiter.acquire

    def acquire_then_time_passes(venue, credential, limits, **kwargs):
        waited = acquire(venue, credential, limits, **kwargs)
        clock.now += timedelta(milliseconds=2)  # the read took 2 ms: now inside the window
        return waited

    runtime.limiter.acquire = acquire_then_time_passes
    job_id = send(client)
    install_runtime(runtime)
    try:
        BurstWorker([runtime.queue], connection=redis, serializer=JSONSerializer).work(burst=True)
    finally:
        install_runtime(None)
    assert view(client, job_id)["deferred"]["reason"] == "funding"
    assert [entry["method"] for entry in venue_requests(simulator)] == ["GET"]


def test_an_undocumented_rejection_near_a_funding_time_defers_instead_of_failing(
        client, simulator, worker, clock):
    open_position(simulator)
    clock.now = FUNDING_AT + timedelta(seconds=75)  # past the guard band, still near the funding time
    add_fault(simulator, path=REVERSE, kind="funding")
    job_id = send(client)
    worker()
    record = view(client, job_id)
    assert record["status"] == "deferred" and record["deferred"]["reason"] == "funding"


def test_the_same_undocumented_rejection_far_from_funding_fails_with_the_venues_words(
        client, simulator, worker, clock):
    open_position(simulator)
    clock.now = FUNDING_AT + timedelta(hours=3)
    add_fault(simulator, path=REVERSE, kind="reject", code=77777, message="something odd")
    job_id = send(client)
    worker()
    error = view(client, job_id)["error"]
    assert (error["type"], error["code"], error["venue_message"]) == ("VenueRejected", 77777, "something odd")


def test_a_documented_rejection_near_funding_still_fails(client, simulator, worker, clock):
    open_position(simulator)
    clock.now = FUNDING_AT + timedelta(seconds=75)
    add_fault(simulator, path=REVERSE, kind="reject", code=9111, message="symbol not tradeable")
    job_id = send(client)
    worker()
    assert view(client, job_id)["status"] == "failed"


def test_a_rate_limit_answer_backs_off_and_blocks_every_process(client, simulator, worker, redis, settings):
    open_position(simulator)
    add_fault(simulator, path=REVERSE, kind="rate_limit")
    job_id = send(client)
    worker(dataclasses.replace(settings, retry=RetryPolicy(base_seconds=30)))
    record = view(client, job_id)
    assert record["status"] == "deferred" and record["deferred"]["reason"] == "rate_limit"
    assert record["attempts"][0]["error"]["code"] == 429
    assert 14 < RateLimiter(redis).try_acquire("coinw", DEMO_COINW_API_KEY, ()) <= 30


def test_connection_refused_is_retried_later_with_backoff(client, worker, settings, clock):
    from executor.localredis import free_port
    dead = dataclasses.replace(settings, coinw=dataclasses.replace(
        settings.coinw, base_url=f"http://127.0.0.1:{free_port()}"))
    job_id = send(client)
    worker(dead)
    record = view(client, job_id)
    assert record["status"] == "deferred" and record["deferred"]["reason"] == "connection"
    delay = (datetime.fromisoformat(record["deferred"]["until"]) - clock.now).total_seconds()
    assert 0.5 <= delay <= 1.0  # first backoff step: base 1 s with equal jitter


def test_retries_stop_after_the_configured_number_of_tries(client, worker, settings, redis):
    from executor.localredis import free_port
    dead = dataclasses.replace(settings, retry=RetryPolicy(max_attempts=2), coinw=dataclasses.replace(
        settings.coinw, base_url=f"http://127.0.0.1:{free_port()}"))
    job_id = send(client)
    for _ in range(3):
        worker(dead)
        release_scheduled(redis, settings)
    record = view(client, job_id)
    assert record["status"] == "failed"
    assert "gave up after 2 tries" in record["error"]["message"]
    assert [a["outcome"] for a in record["attempts"]] == ["deferred", "deferred", "failed"]


@pytest.mark.parametrize("fault", [
    {"kind": "drop", "when": "after"},
    {"kind": "http_error", "status": 502, "when": "after"},
    {"kind": "latency", "latency_ms": 11000, "when": "after"},
])
def test_a_lost_answer_is_resolved_by_reading_the_venue_never_by_sending_again(
        client, simulator, worker, redis, settings, fault):
    before = open_position(simulator)
    add_fault(simulator, path=REVERSE, **fault)
    job_id = send(client)
    worker()
    record = view(client, job_id)
    assert record["status"] == "deferred" and record["deferred"]["reason"] == "outcome_unknown"
    assert record["attempts"][0]["error"]["type"] == "OutcomeUnknown"
    release_scheduled(redis, settings)
    worker()
    record = view(client, job_id)
    assert record["status"] == "finished", record
    assert record["attempts"][-1]["outcome"] == "found already done on the venue"
    assert record["result"]["reversed_position_id"] == str(before["id"])
    assert len(venue_requests(simulator, REVERSE)) == 1


@pytest.mark.parametrize("fault", [{"kind": "drop", "when": "before"}, {"kind": "http_error", "when": "before"}])
def test_a_lost_request_that_never_acted_is_sent_again_once_the_venue_shows_it_undone(
        client, simulator, worker, redis, settings, fault):
    open_position(simulator, "long", "3")
    add_fault(simulator, path=REVERSE, **fault)
    job_id = send(client)
    worker()
    release_scheduled(redis, settings)
    worker()
    record = view(client, job_id)
    assert record["status"] == "finished" and record["attempts"][-1]["outcome"] == "sent"
    assert record["attempts"][-1]["notes"]["reconciliation"] == "not done on the venue: sending again"
    orders = requests.get(f"{simulator.base_url}/_sim/orders", params={"venue": "coinw"}, timeout=5).json()
    assert len(orders["orders"]) == 1 and len(venue_requests(simulator, REVERSE)) == 2


def test_a_lost_close_answer_is_found_done_by_the_smaller_position(client, simulator, worker, redis, settings):
    open_position(simulator, "long", "10")
    add_fault(simulator, path="/v1/perpum/positions", method="DELETE", kind="drop", when="after")
    job_id = send(client, action="close", qty="4")
    worker()
    release_scheduled(redis, settings)
    worker()
    record = view(client, job_id)
    assert record["attempts"][-1]["outcome"] == "found already done on the venue"
    assert record["result"]["left"] == "6"


def test_a_job_older_than_max_execution_delay_fails_as_stale_without_a_request(
        client, simulator, worker, clock):
    open_position(simulator)
    job_id = send(client)
    clock.now += timedelta(seconds=901)
    worker()
    record = view(client, job_id)
    assert record["error"]["type"] == "StaleAlert" and "MAX_EXECUTION_DELAY" in record["error"]["message"]
    assert venue_requests(simulator) == []


def test_a_deferral_that_would_end_after_max_execution_delay_fails_as_stale(
        client, simulator, worker, clock, settings):
    open_position(simulator)
    clock.now = FUNDING_AT - timedelta(seconds=5)
    job_id = send(client)
    worker(dataclasses.replace(settings, max_execution_delay=30))
    assert view(client, job_id)["error"]["type"] == "StaleAlert"


def test_jobs_of_one_instrument_wait_in_line_and_run_in_arrival_order(client, simulator, worker, redis):
    open_position(simulator, "long", "1")
    first, second, third = (send(client, id=f"order-{n}") for n in range(3))
    assert [view(client, j)["status"] for j in (first, second, third)] == ["queued", "deferred", "deferred"]
    assert view(client, second)["deferred"]["reason"] == "order"
    worker()
    records = [view(client, j) for j in (first, second, third)]
    assert [r["status"] for r in records] == ["finished"] * 3
    for before, after in zip(records, records[1:]):
        assert before["attempts"][-1]["ended_at"] <= after["attempts"][0]["started_at"]
    sides = [r["attempts"][0]["notes"]["position_before"]["side"] for r in records]
    assert sides == ["long", "short", "long"]


def test_jobs_on_different_instruments_are_queued_side_by_side(client):
    btc, eth = send(client, symbol="BTC"), send(client, symbol="ETH")
    assert view(client, btc)["status"] == view(client, eth)["status"] == "queued"


def test_jobs_waiting_behind_a_failed_job_fail_unrun_and_later_alerts_run(client, simulator, worker):
    first = send(client, action="close", id="a")  # no position: fails
    second = send(client, id="b")
    worker()
    assert view(client, first)["error"]["type"] == "PositionNotFound"
    blocked = view(client, second)
    assert blocked["status"] == "failed" and blocked["error"]["type"] == "NotRun"
    assert first in blocked["error"]["message"]
    open_position(simulator)
    later = send(client, id="c")
    worker()
    assert view(client, later)["status"] == "finished"


def test_a_deferred_head_keeps_the_jobs_behind_it_waiting(client, simulator, worker, clock):
    open_position(simulator)
    clock.now = FUNDING_AT - timedelta(seconds=5)
    head, behind = send(client, id="h"), send(client, id="b")
    worker()
    assert view(client, head)["status"] == "deferred"
    assert view(client, behind)["deferred"]["reason"] == "order"
    assert venue_requests(simulator) == []


def test_a_failed_read_while_reconciling_keeps_the_unknown_outcome_to_reconcile_later(
        client, simulator, worker, redis, settings):
    open_position(simulator)
    add_fault(simulator, path=REVERSE, kind="drop", when="after")
    job_id = send(client)
    worker()
    add_fault(simulator, path="/v1/perpum/positions", method="GET", kind="drop", when="before", count=2)
    release_scheduled(redis, settings)
    worker()
    assert view(client, job_id)["deferred"]["reason"] == "connection"  # the read and its one immediate repeat
    release_scheduled(redis, settings)
    worker()
    record = view(client, job_id)
    assert record["status"] == "finished"
    assert record["attempts"][-1]["outcome"] == "found already done on the venue"
    assert len(venue_requests(simulator, REVERSE)) == 1


def test_a_read_whose_connection_breaks_is_read_again_at_once_and_the_job_goes_on(client, simulator, worker):
    open_position(simulator)
    add_fault(simulator, path="/v1/perpum/positions", method="GET", kind="drop", when="before")
    job_id = send(client)
    worker()
    record = view(client, job_id)
    assert record["status"] == "finished" and record["attempts"][-1]["outcome"] == "sent"
    assert len(record["attempts"]) == 1
    reads = [r for r in venue_requests(simulator) if r["method"] == "GET"]
    assert [r["fault"] for r in reads] == ["drop", None]


def test_a_request_that_acts_is_never_repeated_when_its_connection_breaks(client, simulator, worker):
    open_position(simulator)
    add_fault(simulator, path=REVERSE, kind="drop", when="before")
    job_id = send(client)
    worker()
    assert view(client, job_id)["deferred"]["reason"] == "outcome_unknown"
    assert len(venue_requests(simulator, REVERSE)) == 1


def test_a_job_run_again_after_its_success_was_recorded_is_not_sent_again(client, simulator, worker, redis,
                                                                           settings):
    open_position(simulator)
    job_id = send(client)
    worker()
    queue = make_queue(redis, settings)
    job = queue.fetch_job(job_id)
    put_on_queue(queue, job)  # as housekeeping does for a worker that stalled after recording its success
    worker()
    record = view(client, job_id)
    assert record["status"] == "finished" and [a["outcome"] for a in record["attempts"]] == ["sent"]
    assert [event["event"] for event in record["events"]] == ["already done"]
    assert record["result"]["reversed_position_id"] == record["attempts"][0]["result"]["reversed_position_id"]
    assert len(venue_requests(simulator, REVERSE)) == 1
