"""The workers' figures reach GET /metrics on the web process, the only process scraped; counts outlive a
restart of the web. Real processes: gunicorn, a worker in each WORKER_MODE, the simulator."""
from __future__ import annotations

import pytest
import requests

from executor.jobview import fetch_job, status_word
from tests.coinw import open_position
from tests.conftest import ADMIN_TOKEN, WEBHOOK_SECRET
from tests.processes import WorkerProcesses, wait_until, worker_environment
from tests.test_metrics import samples, value
from tests.webprocess import WebProcess

pytestmark = [pytest.mark.slow, pytest.mark.e2e]


def scrape(web: WebProcess) -> dict:
    answer = requests.get(f"{web.url}/metrics", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=5)
    assert answer.status_code == 200, answer.text
    return samples(answer.text)


def post(web: WebProcess, **fields) -> str:
    answer = requests.post(f"{web.url}/webhook", timeout=5, json={"secret": WEBHOOK_SECRET, "venue": "coinw",
                                                                  "action": "reverse", "symbol": "BTC", **fields})
    assert answer.status_code == 202, answer.text
    return answer.json()["job_id"]


def test_the_workers_figures_are_scraped_from_the_web_alone_and_outlive_its_restart(
        each_worker_mode, simulator, redis, redis_url, tmp_path):
    env = worker_environment(redis_url, simulator.base_url)
    for instrument in ("BTC", "LTC", "XRP"):
        open_position(simulator, instrument=instrument)
    with WebProcess(redis_url, simulator.base_url, tmp_path / "web.log") as web:  # two gunicorn processes
        jobs = [post(web, symbol=symbol) for symbol in ("BTC", "LTC", "XRP")] + [post(web, symbol="ETH")]
        assert requests.post(f"{web.url}/webhook", json={"secret": "wrong"}, timeout=5).status_code == 401
        with WorkerProcesses(env, 1, tmp_path) as workers:
            assert wait_until(lambda: all(status_word(fetch_job(redis, job)) in ("finished", "failed")
                                          for job in jobs), 30), workers.logs()
            assert wait_until(lambda: value(scrape(web), "executor_live_workers") == 1, 10)
            # a worker writes its counts once a job is over, a moment after the job shows finished
            assert wait_until(lambda: sum(value(scrape(web), "executor_jobs_total", venue="coinw", action="reverse",
                                                outcome=outcome) for outcome in ("finished", "failed")) == 4, 5)
            found = scrape(web)
        assert value(found, "executor_jobs_total", venue="coinw", action="reverse", outcome="finished") == 3
        assert value(found, "executor_jobs_total", venue="coinw", action="reverse", outcome="failed") == 1
        assert value(found, "executor_venue_requests_total", venue="coinw", endpoint="reverse", result="ok") == 3
        assert value(found, "executor_venue_requests_total", venue="coinw", endpoint="positions", result="ok") == 4
        assert value(found, "executor_stage_seconds_count", stage="venue_answer") == 4
        assert value(found, "executor_stage_seconds_count", stage="queue_wait") == 4
        assert value(found, "executor_rate_limit_wait_seconds_count") == 7
        # counted by the two web processes, each writing its own counts within a second (the scraped process
        # writes its own at once: wait for the other's)
        assert wait_until(lambda: value(scrape(web), "executor_alerts_total", outcome="accepted") == 4, 5)
        assert wait_until(lambda: value(scrape(web), "executor_alerts_total", outcome="unauthorized") == 1, 5)
        assert wait_until(lambda: value(scrape(web), "executor_stage_seconds_count", stage="intake") == 4, 5)
    with WebProcess(redis_url, simulator.base_url, tmp_path / "web-again.log") as web_again:
        again = scrape(web_again)
    assert value(again, "executor_jobs_total", venue="coinw", action="reverse", outcome="finished") == 3
    assert value(again, "executor_alerts_total", outcome="accepted") == 4
    assert value(again, "executor_live_workers") == 0
