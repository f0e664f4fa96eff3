"""Several real worker processes against a real Redis and the simulator: limits, funding windows, order."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import requests

from executor.jobview import fetch_job, status_word
from rq import Queue, Worker
from rq.registry import StartedJobRegistry

from tests.coinw import REVERSE, add_fault, open_position, send, venue_requests
from tests.processes import WorkerProcesses, wait_until, worker_environment

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("each_worker_mode")]


def venue_log(simulator):
    return requests.get(f"{simulator.base_url}/_sim/requests", params={"venue": "coinw"}, timeout=5).json()[
        "requests"]


def all_finished(redis, job_ids):
    return all(status_word(fetch_job(redis, job_id)) in ("finished", "failed") for job_id in job_ids)


def test_four_workers_on_a_backlog_never_exceed_a_limit_and_use_over_90_percent(
        client, simulator, redis, settings, tmp_path):
    instruments = [f"T{n:02d}" for n in range(40)]
    for instrument in instruments:
        open_position(simulator, size="1", instrument=instrument)
    job_ids = [send(client, symbol=instrument) for instrument in instruments]
    env = worker_environment(settings.redis_url, simulator.base_url)
    with WorkerProcesses(env, 4, tmp_path) as workers:
        assert wait_until(lambda: all_finished(redis, job_ids), timeout=90), workers.logs()
    assert [status_word(fetch_job(redis, job_id)) for job_id in job_ids] == ["finished"] * 40

    stats = requests.get(f"{simulator.base_url}/_sim/stats", params={"venue": "coinw"}, timeout=5).json()
    assert not any(window["exceeded"] for window in stats["max_in_window"].values()), stats["max_in_window"]
    assert stats["max_in_window"][f"POST {REVERSE}"]["max"] == 5
    log = venue_log(simulator)
    assert not any(entry["rate_limited"] for entry in log)
    arrivals = sorted(entry["received_at"] for entry in log if entry["path"] == REVERSE)
    assert len(arrivals) == 40
    assert max_in_any_window(arrivals, 1.0) <= 5
    sustained = 5 / mean_gap(arrivals, 5)
    assert sustained >= 0.9 * 5, f"sustained {sustained:.2f}/s"


def max_in_any_window(times, period):
    return max(sum(1 for t in times[i:] if t - start < period) for i, start in enumerate(times))


def mean_gap(times, step):
    """Mean time from a request to the one ``step`` later: the period a full window of ``step`` takes."""
    gaps = [times[i + step] - times[i] for i in range(len(times) - step)]
    return sum(gaps) / len(gaps)


def test_a_job_inside_a_funding_window_waits_for_its_end_and_starts_within_2_seconds(
        client, simulator, redis, settings, tmp_path):
    open_position(simulator, size="1", instrument="BTC")
    funding_at = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=3)
    window_end = funding_at + timedelta(seconds=2)
    env = worker_environment(settings.redis_url, simulator.base_url,
                             COINW_FUNDING_TIMES=funding_at.strftime("%H:%M:%S"),
                             COINW_FUNDING_GUARD_BEFORE="30", COINW_FUNDING_GUARD_AFTER="2")
    job_id = send(client, symbol="BTC")
    with WorkerProcesses(env, 2, tmp_path) as workers:
        assert wait_until(lambda: all_finished(redis, [job_id]), timeout=30), workers.logs()
    job = fetch_job(redis, job_id)
    assert status_word(job) == "finished"
    outcomes = [attempt["outcome"] for attempt in job.meta["attempts"]]
    assert outcomes[0] == "deferred" and outcomes[-1] == "sent"
    (reversal,) = [entry for entry in venue_log(simulator) if entry["path"] == REVERSE]
    late = reversal["received_at"] - window_end.timestamp()
    assert 0 <= late <= 2.0, f"reversal {late:+.3f} s after the window's end"


def test_jobs_of_one_instrument_keep_their_order_with_four_workers(client, simulator, redis, settings, tmp_path):
    open_position(simulator, "long", "1", "BTC")
    open_position(simulator, "short", "1", "ETH")
    btc = [send(client, symbol="BTC", id=f"btc-{n}") for n in range(8)]
    eth = [send(client, symbol="ETH", id=f"eth-{n}") for n in range(4)]
    env = worker_environment(settings.redis_url, simulator.base_url)
    with WorkerProcesses(env, 4, tmp_path) as workers:
        assert wait_until(lambda: all_finished(redis, btc + eth), timeout=60), workers.logs()
    for lane, first_side in ((btc, "long"), (eth, "short")):
        jobs = [fetch_job(redis, job_id) for job_id in lane]
        assert [status_word(job) for job in jobs] == ["finished"] * len(jobs)
        sides = [job.meta["attempts"][-1]["notes"]["position_before"]["side"] for job in jobs]
        other = "short" if first_side == "long" else "long"
        assert sides == [first_side, other] * (len(jobs) // 2)
        for before, after in zip(jobs, jobs[1:]):  # each venue action done before the next job began
            assert before.meta["attempts"][-1]["ended_at"] <= after.meta["attempts"][0]["started_at"]


def test_a_running_job_is_recorded_as_rq_records_it_and_cleared_when_done(client, simulator, redis, settings, tmp_path):
    open_position(simulator)
    add_fault(simulator, path=REVERSE, kind="latency", latency_ms=1500, when="before")  # holds the job mid-request
    env = worker_environment(settings.redis_url, simulator.base_url)
    with WorkerProcesses(env, 1, tmp_path, prefix="bookkeeping") as workers:
        job_id = send(client)
        assert wait_until(lambda: venue_requests(simulator, REVERSE), timeout=15), workers.logs()
        job = fetch_job(redis, job_id)
        (worker,) = [w for w in Worker.all(connection=redis) if w.name.startswith("bookkeeping-")]
        queue = Queue(settings.queue_name, connection=redis)
        assert (status_word(job), job.worker_name) == ("started", worker.name)
        assert (worker.get_state(), worker.get_current_job_id()) == ("busy", job_id)
        assert job_id in StartedJobRegistry(settings.queue_name, connection=redis).get_job_ids()
        assert redis.llen(queue.intermediate_queue_key) == 0 and job.meta["in_flight"]["attempt"] == 1
        assert wait_until(lambda: status_word(fetch_job(redis, job_id)) == "finished", timeout=15), workers.logs()

        def worker_state() -> tuple:  # a fresh read each time: RQ caches a hydrated worker's executions
            found = Worker.find_by_key(worker.key, connection=redis)
            return found.get_state(), found.get_current_job_id()

        # In fork mode the job is finished by the work horse before its parent sets itself idle.
        assert wait_until(lambda: worker_state() == ("idle", None), timeout=5), (worker_state(), workers.logs())
        assert StartedJobRegistry(settings.queue_name, connection=redis).get_job_ids() == []
