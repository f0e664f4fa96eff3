"""Redis goes away under a worker mid-job: no alert performs its action twice and none is lost.

Real worker processes, a real Redis and the CoinW simulator, whose latency fault holds the reversal in
flight while Redis goes away. ``RedisLink`` (``tests/redislink.py``) is the network between one worker
and Redis, under the test's control: it can drop the worker's connections, or freeze them (a partition:
the worker's commands neither arrive nor fail) until thawed, at a moment the test picks or at a given
command.

A Redis hang seen by every worker at once (``CLIENT PAUSE ALL`` or SIGSTOP) leaves the order of the
writes after it to a race between the job's own worker and the housekeeping that recovers it; the
tests below pin each interleaving of that race with a link instead, so each outcome is deterministic.
"""
from __future__ import annotations

import time

import pytest
from rq import Worker

from executor.history import FOUND_DONE, LEFT, SENT
from executor.jobview import fetch_job, status_word
from executor.keyspace import key_prefix
from tests.coinw import REVERSE, add_fault, open_position, orders, positions, send, venue_requests
from tests.processes import WorkerProcesses, wait_until, worker_environment
from tests.redislink import RedisLink

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("each_worker_mode")]

#: The venue holds the reversal this long, so it is in flight while the test takes Redis away.
HELD_MS = 2000
#: A heartbeat lapses after 10 s, and housekeeping looks every 2 s: a takeover is due well within this.
TAKEOVER_SECONDS = 25
#: In the worker's write of the job's history (a script that writes it while the worker holds the job).
HISTORY = b'"attempts"'


@pytest.fixture
def link(settings):
    relay = RedisLink(settings.redis_url)
    yield relay
    relay.close()


def require(condition: object, message: str) -> None:
    """A check an expected failure must not hide: ``pytest.fail`` is not the AssertionError those expect."""
    if not condition:
        pytest.fail(message)


def hold_reverse(simulator, when: str) -> None:
    add_fault(simulator, path=REVERSE, kind="latency", latency_ms=HELD_MS, when=when)


def reverse_in_flight(simulator) -> bool:
    return any(entry["status"] is None for entry in venue_requests(simulator, REVERSE))


def status(redis, job_id: str) -> str:
    return status_word(fetch_job(redis, job_id))


def outcomes(job) -> list[str | None]:
    return [attempt.get("outcome") for attempt in job.meta["attempts"]]


def events(job) -> list[str]:
    return [event["event"] for event in job.meta.get("events", [])]


def attempt_ended(redis, job_id: str, number: int) -> bool:
    attempts = fetch_job(redis, job_id).meta["attempts"]
    return len(attempts) >= number and "outcome" in attempts[number - 1]


def done_with_its_job(redis, process) -> bool:
    """The worker went back to idle (or exited): whatever it still had to write has been written."""
    found = Worker.find_by_key(Worker.redis_worker_namespace_prefix + process.args[-1], connection=redis)
    return process.poll() is not None or (found is not None and found.get_state() == "idle")


def require_reversed_once(simulator) -> None:
    """Exactly one reversal reached the venue: the long of 10 is now a short of 10."""
    sent, filled = venue_requests(simulator, REVERSE), orders(simulator)
    require(len(sent) == 1 and len(filled) == 1, f"{len(sent)} reversals sent, {len(filled)} orders filled")
    require([(p["direction"], p["currentPiece"]) for p in positions(simulator)] == [("short", "10")],
            f"positions now {positions(simulator)}")


def kill_every_other_client(redis) -> list[dict]:
    """Close every Redis connection but this test's own, the workers' pub/sub ones included."""
    own = redis.client_id()
    others = [client for client in redis.client_list() if int(client["id"]) != own]
    for client in others:
        redis.client_kill_filter(_id=client["id"])
    return others


def test_killing_every_worker_connection_while_the_reverse_is_in_flight_changes_nothing(
        client, simulator, redis, settings, tmp_path):
    open_position(simulator)
    hold_reverse(simulator, "before")
    with WorkerProcesses(worker_environment(settings.redis_url, simulator.base_url), 1, tmp_path) as workers:
        job_id = send(client)
        assert wait_until(lambda: reverse_in_flight(simulator), timeout=15), workers.logs()
        killed = kill_every_other_client(redis)
        worker = workers.processes[0]
        assert worker.args[-1] in {c["name"] for c in killed} and any(int(c["sub"]) for c in killed), killed
        assert wait_until(lambda: status(redis, job_id) in ("finished", "failed"), timeout=20), workers.logs()
        assert worker.poll() is None, workers.logs()
    job = fetch_job(redis, job_id)
    assert status_word(job) == "finished", job.meta
    require_reversed_once(simulator)
    assert outcomes(job) == ["sent"] and events(job) == []
    assert job.meta["attempts"][0]["order_id"] == orders(simulator)[0]["id"]


def test_a_connection_dropped_while_the_worker_records_the_venues_answer_still_completes_the_job(
        client, simulator, redis, settings, link, tmp_path):
    open_position(simulator)
    hold_reverse(simulator, "after")
    with WorkerProcesses(worker_environment(link.url, simulator.base_url), 1, tmp_path) as workers:
        job_id = send(client)
        require(wait_until(lambda: reverse_in_flight(simulator), timeout=15), workers.logs())
        link.on_command("cut", b"EVALSHA", job_id.encode(), HISTORY)  # the first write after the venue's answer
        require(wait_until(lambda: status(redis, job_id) in ("finished", "failed"), timeout=30), workers.logs())
        require(link.fired, "the worker never recorded the answer")
    job = fetch_job(redis, job_id)
    require_reversed_once(simulator)
    assert status_word(job) == "finished", f"job {status_word(job)}: {job.meta}"


def cut_off_mid_reverse(client, simulator, redis, settings, link, tmp_path):
    """Worker A, behind ``link``, is cut off from Redis while its reversal is in flight; B takes the job over.

    Returns the job id, the job as it stood when B had finished it, and how long the takeover took.
    """
    open_position(simulator)
    hold_reverse(simulator, "after")  # the venue acts at once and answers HELD_MS later, into the partition
    env = worker_environment(link.url, simulator.base_url)
    with WorkerProcesses(env, 1, tmp_path, prefix="cut-off") as cut_off, link.thawed_on_exit():
        job_id = send(client)
        require(wait_until(lambda: reverse_in_flight(simulator), timeout=15), cut_off.logs())
        link.freeze()
        frozen_at = time.monotonic()
        with WorkerProcesses(worker_environment(settings.redis_url, simulator.base_url), 1, tmp_path,
                             prefix="rescuer") as rescuer:
            require(wait_until(lambda: status(redis, job_id) == "finished", timeout=TAKEOVER_SECONDS),
                    rescuer.logs())
            taken_over_in = time.monotonic() - frozen_at
            settled = fetch_job(redis, job_id)
            link.thaw()
            require(wait_until(lambda: done_with_its_job(redis, cut_off.processes[0]), timeout=15), cut_off.logs())
    return job_id, settled, taken_over_in


def test_a_worker_cut_off_from_redis_past_the_heartbeat_ttl_has_its_job_completed_once_by_another(
        client, simulator, redis, settings, link, tmp_path):
    job_id, settled, taken_over_in = cut_off_mid_reverse(client, simulator, redis, settings, link, tmp_path)
    assert taken_over_in < TAKEOVER_SECONDS
    assert outcomes(settled)[-1] == FOUND_DONE and events(settled) == ["recovered"], settled.meta
    job = fetch_job(redis, job_id)
    assert status_word(job) == "finished"
    require_reversed_once(simulator)


def test_the_cut_off_workers_late_writes_keep_the_takeover_in_the_history(
        client, simulator, redis, settings, link, tmp_path):
    job_id, settled, _ = cut_off_mid_reverse(client, simulator, redis, settings, link, tmp_path)
    job = fetch_job(redis, job_id)
    require_reversed_once(simulator)
    assert status_word(job) == "finished" and events(job) == ["recovered"], job.meta
    assert outcomes(job) == [SENT, FOUND_DONE], job.meta  # the cut-off worker's answer, merged in at its place
    assert job.meta["attempts"][1] == settled.meta["attempts"][1]
    assert "in_flight" not in job.meta and "error" not in job.meta


def test_a_worker_frozen_just_before_sending_sends_nothing_once_its_job_went_to_another(
        client, simulator, redis, settings, link, tmp_path):
    open_position(simulator)
    link.on_command("freeze", b"EVALSHA", b":w:reverse")  # the reversal's fence, slot and in-flight record
    env = worker_environment(link.url, simulator.base_url)
    with WorkerProcesses(env, 1, tmp_path, prefix="frozen") as frozen, link.thawed_on_exit():
        job_id = send(client)
        require(wait_until(lambda: link.frozen, timeout=15), frozen.logs())
        require("in_flight" not in fetch_job(redis, job_id).meta, "the in-flight record left without its fence")
        with WorkerProcesses(worker_environment(settings.redis_url, simulator.base_url), 1, tmp_path,
                             prefix="rescuer") as rescuer:
            require(wait_until(lambda: status(redis, job_id) == "finished", timeout=TAKEOVER_SECONDS),
                    rescuer.logs())
            link.thaw()
            require(wait_until(lambda: attempt_ended(redis, job_id, 1), timeout=15), frozen.logs())
            require(wait_until(lambda: done_with_its_job(redis, frozen.processes[0]), timeout=15), frozen.logs())
    job = fetch_job(redis, job_id)
    require_reversed_once(simulator)
    assert status_word(job) == "finished" and events(job) == ["recovered"], job.meta
    assert outcomes(job) == [LEFT, SENT], job.meta
    assert "reconciliation" not in job.meta["attempts"][1]["notes"]  # nothing was in flight: nothing to ask


def test_a_job_whose_worker_stalls_after_recording_its_success_is_not_sent_again(
        client, simulator, redis, settings, link, tmp_path):
    open_position(simulator)
    link.on_command("freeze", b"EVALSHA", (key_prefix("alerts") + "lane:").encode())  # leaving its lane: right after the success
    env = worker_environment(link.url, simulator.base_url)
    with WorkerProcesses(env, 1, tmp_path, prefix="stalled") as stalled, link.thawed_on_exit():
        job_id = send(client)
        require(wait_until(lambda: link.frozen, timeout=15), stalled.logs())
        require(outcomes(fetch_job(redis, job_id)) == ["sent"], "the success is not recorded before the stall")
        with WorkerProcesses(worker_environment(settings.redis_url, simulator.base_url), 1, tmp_path,
                             prefix="rescuer") as rescuer:
            require(wait_until(lambda: "already done" in events(fetch_job(redis, job_id)), timeout=TAKEOVER_SECONDS),
                    rescuer.logs())  # the takeover finds the recorded success
            link.thaw()
            require(wait_until(lambda: done_with_its_job(redis, stalled.processes[0]), timeout=15), stalled.logs())
            require(wait_until(lambda: status(redis, job_id) == "finished", timeout=15), rescuer.logs())
    job = fetch_job(redis, job_id)
    reversals = len(venue_requests(simulator, REVERSE))
    assert (reversals, len(orders(simulator))) == (1, 1), f"{reversals} reversals; outcomes {outcomes(job)}"


def test_a_connection_dropped_while_rq_records_the_jobs_success_leaves_it_finished_and_the_worker_working(
        client, simulator, redis, settings, link, tmp_path):
    open_position(simulator)
    with WorkerProcesses(worker_environment(link.url, simulator.base_url), 1, tmp_path) as workers:
        link.on_command("cut", b"EXEC", b"rq:finished:")  # RQ's success bookkeeping, after the venue acted
        job_id = send(client)
        require(wait_until(lambda: status(redis, job_id) in ("finished", "failed"), timeout=30), workers.logs())
        require(link.fired, "RQ never recorded the success")
        worker = workers.processes[0]
        require(wait_until(lambda: done_with_its_job(redis, worker), timeout=15), workers.logs())
        require(worker.poll() is None, workers.logs())  # still working, not exited on the error
    job = fetch_job(redis, job_id)
    require_reversed_once(simulator)
    assert status_word(job) == "finished", f"job {status_word(job)}: {job.meta}"
