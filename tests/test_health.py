"""No alert waits unseen: /healthz counts live workers and the age of the longest wait, and the web process
warns when jobs wait with no live worker."""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

import pytest
import requests
from rq.serializers import JSONSerializer

from executor import health as health_module
from executor.health import WARN_EVERY_SECONDS, WORKER_TTL_SECONDS, WaitingWatch, health
from executor.localredis import free_port
from tests.conftest import WEBHOOK_SECRET, FixedClock
from tests.processes import WorkerProcesses, wait_until, worker_environment
from tests.test_job_api import queue_alert
from workers.worker import ExecutorWorker


def test_healthz_says_no_worker_and_nothing_waiting_on_an_empty_queue(client):
    answer = client.get("/healthz")
    assert answer.status_code == 200
    assert answer.json == {"status": "ok", "workers": 0, "oldest_waiting_seconds": 0}


def test_the_oldest_waiting_job_is_the_head_of_the_queue_aged_from_when_it_was_queued(client, app):
    queue = app.extensions["executor"].queue
    queue_alert(client, symbol="BTC")
    queue_alert(client, symbol="ETH")
    enqueued = queue.fetch_job(queue.get_job_ids()[0]).enqueued_at
    seen = health(queue, now=enqueued + timedelta(seconds=42))
    assert (seen.oldest_waiting_seconds, seen.waiting, seen.workers) == (42, 2, 0)
    assert client.get("/healthz").json["oldest_waiting_seconds"] > 0


def test_a_deferred_job_past_its_time_counts_as_waiting_since_it_was_due(client, app):
    queue = app.extensions["executor"].queue
    job = queue.fetch_job(queue_alert(client))
    queue.connection.lrem(queue.key, 0, job.id)
    due = (job.enqueued_at + timedelta(seconds=5)).replace(microsecond=0)  # RQ schedules by the second
    queue.schedule_job(job, due)
    assert health(queue, now=due - timedelta(seconds=1)).waiting == 0
    seen = health(queue, now=due + timedelta(seconds=30))
    assert (seen.waiting, seen.oldest_waiting_seconds) == (1, 30)


def test_a_worker_counts_as_live_while_its_heartbeat_is_fresh(app, redis):
    queue = app.extensions["executor"].queue
    worker = ExecutorWorker([queue], connection=redis, serializer=JSONSerializer, name=f"live-{time.time_ns()}")
    worker.register_birth()
    try:
        beat = worker.last_heartbeat
        assert health(queue, now=beat + timedelta(seconds=WORKER_TTL_SECONDS)).workers == 1
        assert health(queue, now=beat + timedelta(seconds=WORKER_TTL_SECONDS + 1)).workers == 0
    finally:
        worker.register_death()
    assert health(queue).workers == 0


def test_the_watch_warns_while_jobs_wait_with_no_worker_at_most_once_a_minute(client, app, caplog):
    clock = FixedClock(0.0)
    watch = WaitingWatch(app.extensions["executor"].queue, clock=clock)
    with caplog.at_level(logging.WARNING, logger="executor.health"):
        assert not watch.check()
        queue_alert(client)
        assert watch.check() and watch.check()
        clock.now = WARN_EVERY_SECONDS
        assert watch.check()
    warnings = [r.getMessage() for r in caplog.records if r.name == "executor.health"]
    assert len(warnings) == 2 and "1 job(s) waiting" in warnings[0] and "no live worker" in warnings[0]


@pytest.mark.slow
@pytest.mark.e2e
def test_the_web_process_warns_of_a_waiting_job_and_healthz_counts_the_worker_that_comes(
        settings, simulator, redis, tmp_path):
    port = free_port()
    env = {**worker_environment(settings.redis_url, simulator.base_url), "WEBHOOK_SECRET": WEBHOOK_SECRET,
           "PORT": str(port), "WEB_HOST": "127.0.0.1", "WEB_CONCURRENCY": "1", "WEB_THREADS": "2"}
    log = open(tmp_path / "web.log", "w+")
    web = subprocess.Popen([sys.executable, "-m", "executor", "web"], env=env, stdout=log, stderr=subprocess.STDOUT,
                           start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        assert wait_until(lambda: _up(url), timeout=20), (tmp_path / "web.log").read_text()
        answer = requests.post(f"{url}/webhook", json={"secret": WEBHOOK_SECRET, "venue": "coinw",
                                                       "action": "reverse", "symbol": "BTC"}, timeout=5)
        assert answer.status_code == 202
        assert wait_until(lambda: "no live worker" in (tmp_path / "web.log").read_text(),
                          timeout=health_module.FIRST_WATCH_SECONDS + 10), (tmp_path / "web.log").read_text()
        assert requests.get(f"{url}/healthz", timeout=5).json()["workers"] == 0
        with WorkerProcesses(env, 1, tmp_path):
            assert wait_until(lambda: requests.get(f"{url}/healthz", timeout=5).json()["workers"] == 1, timeout=20)
            assert wait_until(lambda: requests.get(f"{url}/healthz", timeout=5).json()["oldest_waiting_seconds"] == 0,
                              timeout=20)
    finally:
        os.killpg(web.pid, signal.SIGTERM)
        web.wait(timeout=20)
        log.close()


def _up(url: str) -> bool:
    try:
        return requests.get(f"{url}/healthz", timeout=1).status_code == 200
    except requests.RequestException:
        return False
