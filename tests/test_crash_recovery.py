"""Workers killed by signal: the job completes exactly once, without an operator."""
from __future__ import annotations

import os
import signal
import time
from datetime import datetime, timedelta, timezone

import pytest
from rq import Worker

from executor.alertqueue import make_queue
from executor.jobview import fetch_job, status_word
from tests.coinw import REVERSE, add_fault, open_position, orders, send, venue_requests
from tests.processes import WorkerProcesses, descendants, kill_tree, wait_until, worker_environment

pytestmark = [pytest.mark.slow, pytest.mark.e2e, pytest.mark.usefixtures("each_worker_mode")]


def registered(redis, prefix: str) -> bool:
    """A worker whose name starts with ``prefix`` has registered itself (RQ's worker registry): it is working."""
    return any(worker.name.startswith(prefix) for worker in Worker.all(connection=redis))


def test_a_worker_killed_mid_request_leaves_a_job_another_worker_completes_exactly_once(
        client, simulator, redis, settings, tmp_path):
    open_position(simulator)
    add_fault(simulator, path=REVERSE, kind="latency", latency_ms=3000, when="after")  # acted, answer late
    env = worker_environment(settings.redis_url, simulator.base_url)
    with WorkerProcesses(env, 1, tmp_path, prefix="doomed") as doomed:
        job_id = send(client)
        assert wait_until(lambda: venue_requests(simulator, REVERSE), timeout=15), doomed.logs()
        kill_tree(doomed.processes[0])
        killed_at = time.monotonic()
    with WorkerProcesses(env, 1, tmp_path, prefix="rescuer") as rescuer:
        assert wait_until(lambda: status_word(fetch_job(redis, job_id)) == "finished", timeout=110), rescuer.logs()
    recovered_in = time.monotonic() - killed_at
    job = fetch_job(redis, job_id)
    assert recovered_in < 120
    assert len(venue_requests(simulator, REVERSE)) == 1 and len(orders(simulator)) == 1
    assert job.meta["attempts"][-1]["outcome"] == "found already done on the venue"
    assert [event["event"] for event in job.meta["events"]] == ["recovered"]


def test_a_job_deferred_by_a_killed_worker_still_runs_within_seconds_of_its_time(
        client, simulator, redis, settings, tmp_path):
    open_position(simulator)
    funding_at = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=3)
    window_end = funding_at + timedelta(seconds=3)
    env = worker_environment(settings.redis_url, simulator.base_url,
                             COINW_FUNDING_TIMES=funding_at.strftime("%H:%M:%S"),
                             COINW_FUNDING_GUARD_BEFORE="30", COINW_FUNDING_GUARD_AFTER="3")
    queue = make_queue(redis, settings)
    with WorkerProcesses(env, 1, tmp_path, prefix="deferrer") as deferrer:
        job_id = send(client)
        # Killed once the deferral is recorded whole (RQ's scheduled registry): a worker killed before that
        # leaves a job its hold's lapse recovers, 10 s after its start (tests of housekeeping cover that).
        assert wait_until(lambda: job_id in queue.scheduled_job_registry.get_job_ids(cleanup=False), timeout=15), \
            deferrer.logs()
        kill_tree(deferrer.processes[0])
    with WorkerProcesses(env, 1, tmp_path, prefix="successor") as successor:
        assert wait_until(lambda: registered(redis, "successor"), timeout=15), successor.logs()
        successor_ready = time.time()
        assert wait_until(lambda: status_word(fetch_job(redis, job_id)) == "finished", timeout=30), successor.logs()
    (reversal,) = venue_requests(simulator, REVERSE)
    assert reversal["received_at"] >= window_end.timestamp(), "ran inside the funding window"
    # Its time, or the moment a worker was there to run it, on a machine slow to start one.
    late = reversal["received_at"] - max(window_end.timestamp(), successor_ready)
    assert late <= 3.0, f"ran {late:+.2f} s after its time"


def test_sigterm_lets_the_request_in_flight_finish_and_the_job_complete(client, simulator, redis, settings, tmp_path):
    open_position(simulator)
    add_fault(simulator, path=REVERSE, kind="latency", latency_ms=1500, when="before")
    env = worker_environment(settings.redis_url, simulator.base_url)
    with WorkerProcesses(env, 1, tmp_path) as workers:
        job_id = send(client)
        assert wait_until(lambda: venue_requests(simulator, REVERSE), timeout=15), workers.logs()
        worker = workers.processes[0]
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=25) == 0, workers.logs()
    job = fetch_job(redis, job_id)
    assert status_word(job) == "finished" and job.meta["attempts"][-1]["outcome"] == "sent"
    assert len(orders(simulator)) == 1


@pytest.mark.parametrize("each_worker_mode", ["fork"], indirect=True)  # only a forking worker has a work horse
def test_a_forking_workers_horse_killed_mid_request_has_its_job_run_again_and_reconciled_not_failed(
        client, simulator, redis, settings, tmp_path):
    open_position(simulator)
    add_fault(simulator, path=REVERSE, kind="latency", latency_ms=2000, when="after")  # acted, answer late
    with WorkerProcesses(worker_environment(settings.redis_url, simulator.base_url), 1, tmp_path) as workers:
        job_id = send(client)
        assert wait_until(lambda: venue_requests(simulator, REVERSE), timeout=15), workers.logs()
        (horse,) = descendants(workers.processes[0].pid)
        os.kill(horse, signal.SIGKILL)
        assert wait_until(lambda: status_word(fetch_job(redis, job_id)) in ("finished", "failed"), timeout=20), \
            workers.logs()
    job = fetch_job(redis, job_id)
    assert status_word(job) == "finished", job.meta
    assert len(venue_requests(simulator, REVERSE)) == 1 and len(orders(simulator)) == 1
    assert [event["event"] for event in job.meta["events"]] == ["work horse died"]
    assert job.meta["attempts"][-1]["outcome"] == "found already done on the venue"
