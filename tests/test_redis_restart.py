"""Redis killed (SIGKILL) and started again on the same data loses nothing that was accepted.

A real redis-server, append-only with ``appendfsync always``, the web under gunicorn as the Procfile runs
it, two worker processes and the CoinW simulator. Alerts arrive at a steady pace while Redis is killed
twice, once for a moment and once for longer than a Redis client's own retries, while jobs are running
(the venue answers each close late). Every alert answered 503 is sent again, as TradingView does. Then
every alert must have been performed exactly once at the venue (each closes its own amount of its own
instrument, so the simulator's orders say which alert each one was), every alert that arrived while
Redis was down must have been answered 503, and the same web and worker processes must still be running.
"""
from __future__ import annotations

import os
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import pytest
import requests
from rq import Worker
from rq.serializers import JSONSerializer

from executor.alertqueue import make_queue
from executor.jobview import fetch_job, status_word
from executor.redis_client import connect
from executor.rqlayout import HOLD_LAPSE_SECONDS
from tests.coinw import add_fault, open_position, orders, send
from tests.conftest import WEBHOOK_SECRET
from tests.processes import WorkerProcesses, wait_until, worker_environment
from tests.redislink import RedisLink
from tests.redisserver import DURABLE, RedisServer
from tests.webprocess import WebProcess
from workers.maintenance import recover_abandoned_jobs
from workers.runtime import Runtime, install_runtime
from workers.sweep import DEQUEUED_GRACE_SECONDS, DequeuedWatch
from workers.worker import ExecutorWorker

pytestmark = pytest.mark.slow

INSTRUMENTS = [f"R{n}" for n in range(8)]
CLOSE = "/v1/perpum/positions"
#: Alerts are sent this often (the venue's 10 position reads a second are the pace a worker can keep).
SEND_EVERY_SECONDS = 0.125
#: How long Redis stays down each time it is killed: a moment, and longer than a client's own retries.
OUTAGES = (0.8, 5.0)
#: Redis runs this long between two kills, and after the last one before the alerts stop.
RUNNING_SECONDS = 1.0


@dataclass
class Alert:
    """One alert: it closes ``qty`` of its own instrument, a pair no other alert has."""

    number: int
    answers: list[tuple[float, int]] = field(default_factory=list)  # (sent at, HTTP status), every try
    job_id: str | None = None

    @property
    def instrument(self) -> str:
        return INSTRUMENTS[self.number % len(INSTRUMENTS)]

    @property
    def qty(self) -> int:
        return self.number // len(INSTRUMENTS) + 1

    def body(self) -> dict:
        return {"secret": WEBHOOK_SECRET, "venue": "coinw", "action": "close", "symbol": self.instrument,
                "qty": self.qty, "id": f"restart-{self.number}"}

    @property
    def accepted(self) -> bool:
        return any(status in (200, 202) for _, status in self.answers)


def post(url: str, alert: Alert) -> None:
    sent_at = time.monotonic()
    try:
        answer = requests.post(f"{url}/webhook", json=alert.body(), timeout=5)
        status = answer.status_code
        if status in (200, 202):
            alert.job_id = answer.json()["job_id"]
    except requests.RequestException:
        status = 0  # no answer at all: the web process failed
    alert.answers.append((sent_at, status))


class Sender(threading.Thread):
    """Sends a new alert every SEND_EVERY_SECONDS until stopped."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.alerts: list[Alert] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(SEND_EVERY_SECONDS):
            alert = Alert(len(self.alerts))
            self.alerts.append(alert)
            post(self.url, alert)

    def stop(self) -> list[Alert]:
        self.stopping.set()
        self.join(timeout=10)
        return self.alerts


def registered(redis, prefix: str, count: int) -> bool:
    return sum(1 for worker in Worker.all(connection=redis) if worker.name.startswith(prefix)) >= count


def resend_refused(url: str, alerts: list[Alert], timeout: float) -> None:
    """What TradingView does with an alert answered 503: send it again, until it is accepted."""
    deadline = time.monotonic() + timeout
    for alert in alerts:
        while not alert.accepted and time.monotonic() < deadline:
            post(url, alert)
            if not alert.accepted:
                time.sleep(0.2)


def performed(simulator) -> Counter:
    """How many orders closed each (instrument, amount) pair: which alert each order was."""
    return Counter((order.instrument, int(order.size)) for order in simulator.state.orders("coinw"))


@pytest.mark.e2e
@pytest.mark.usefixtures("each_worker_mode")
def test_redis_killed_twice_under_load_loses_no_accepted_alert_and_every_process_carries_on(
        simulator, tmp_path):
    data = tmp_path / "redis-data"
    data.mkdir()
    for instrument in INSTRUMENTS:
        open_position(simulator, size="1000", instrument=instrument)
    # The venue acts at once and answers 0.25 s later: jobs are in flight when Redis dies.
    add_fault(simulator, path=CLOSE, method="DELETE", kind="latency", latency_ms=250, when="after", count=None)
    with RedisServer(data, *DURABLE) as server:
        redis = connect(server.url)
        env = worker_environment(server.url, simulator.base_url)
        with WebProcess(server.url, simulator.base_url, tmp_path / "web.log", WEB_CONCURRENCY="1",
                        WEB_THREADS="8") as web, WorkerProcesses(env, 2, tmp_path, prefix="restart") as workers:
            assert wait_until(lambda: registered(redis, "restart", 2), timeout=20), workers.logs()
            sender = Sender(web.url)
            sender.start()
            outages = []
            for down_for in OUTAGES:
                time.sleep(RUNNING_SECONDS)
                killed_at = time.monotonic()
                server.kill()
                time.sleep(down_for)
                server.start()
                outages.append((killed_at, time.monotonic()))
            time.sleep(RUNNING_SECONDS)
            alerts = sender.stop()
            refused_first = [alert for alert in alerts if not alert.accepted]
            resend_refused(web.url, alerts, timeout=20)
            jobs = [alert.job_id for alert in alerts if alert.job_id]
            assert wait_until(lambda: all(status_word(fetch_job(redis, job_id)) in ("finished", "failed")
                                          for job_id in jobs), timeout=45, interval=0.25), workers.logs()
            alive = [process.poll() is None for process in workers.processes] + [web.process.poll() is None]
            logs = workers.logs()
        web_log = web.log_path.read_text()
        statuses = Counter(status_word(fetch_job(redis, job_id)) for job_id in jobs)
        records = {alert.number: fetch_job(redis, alert.job_id).meta for alert in alerts if alert.job_id}

    done = performed(simulator)
    lost = [alert.number for alert in alerts if done[(alert.instrument, alert.qty)] == 0]
    doubled = [alert.number for alert in alerts if done[(alert.instrument, alert.qty)] > 1]
    during = [status for alert in alerts for sent_at, status in alert.answers
              if any(killed + 0.1 < sent_at < back - 0.1 for killed, back in outages)]
    answers = Counter(status for alert in alerts for _, status in alert.answers)
    print(f"\nRedis restarts ({os.environ.get('WORKER_MODE')}): {len(alerts)} alerts, {len(OUTAGES)} kills, "
          f"answers {dict(answers)}, {len(refused_first)} sent again after a 503, {len(lost)} lost, "
          f"{len(doubled)} doubled, {sum(done.values())} orders")
    for number in lost + doubled:
        print(f"alert {number}: answers {alerts[number].answers}, job {alerts[number].job_id}: {records.get(number)}")
    assert all(alert.accepted for alert in alerts), [alert.answers for alert in alerts if not alert.accepted]
    assert not lost and not doubled, ({number: records.get(number) for number in lost + doubled}, logs)
    assert sum(done.values()) == len(alerts) and statuses == {"finished": len(alerts)}, (statuses, logs)
    assert set(answers) <= {200, 202, 503}, answers  # never a 500, never no answer
    assert during and set(during) == {503}, during  # every alert that arrived while Redis was down
    assert all(alive), logs
    assert "Redis persists nothing" not in logs + web_log  # durable: no warning


def test_redis_away_mid_job_leaves_the_job_to_recovery_and_the_worker_starts_afresh(
        client, simulator, redis, settings, tmp_path, monkeypatch):
    monkeypatch.setenv("WORKER_MODE", "simple")
    open_position(simulator)
    open_position(simulator, instrument="ETH")
    link = RedisLink(settings.redis_url)
    try:
        with WorkerProcesses(worker_environment(link.url, simulator.base_url), 1, tmp_path, prefix="quits") as one:
            # Redis goes away as the reversal's fence is sent: the job cannot go on, nor fail; then RQ's loop quits.
            link.on_command("down", b"EVALSHA", b":w:reverse")
            first = send(client)
            assert wait_until(lambda: "stopped working" in one.logs(), timeout=40), one.logs()
            whole_log = "".join(path.read_text() for path in tmp_path.glob("quits-*.log"))
            assert "Redis unavailable mid-job" in whole_log and status_word(fetch_job(redis, first)) == "started"
            link.up()
            assert wait_until(lambda: registered(redis, "quits", 1), timeout=20), one.logs()
            second = send(client, symbol="ETH")
            assert wait_until(lambda: all(status_word(fetch_job(redis, job_id)) == "finished"
                                          for job_id in (first, second)), timeout=30), one.logs()
            assert one.processes[0].poll() is None, one.logs()
    finally:
        link.close()
    assert sorted(order["instrument"] for order in orders(simulator)) == ["BTC", "ETH"]
    job = fetch_job(redis, first)
    assert [event["event"] for event in job.meta.get("events", [])] == ["recovered"], job.meta
    assert [attempt.get("outcome") for attempt in job.meta["attempts"]][-1] == "sent", job.meta


class _QuietWorker(ExecutorWorker):
    def subscribe(self) -> None:
        pass

    def unsubscribe(self) -> None:
        pass


def test_redis_lost_as_rq_starts_a_job_leaves_it_to_recovery_and_it_is_performed_once(
        client, simulator, redis, settings):
    """RQ's own bookkeeping at a job's start meets a broken connection (no retry left): RQ would fail the job
    once Redis answers again; it is left to its hold's lapse instead, recovered, and performed once."""
    open_position(simulator)
    queue = make_queue(redis, settings)
    job_id = send(client)
    link = RedisLink(settings.redis_url)
    install_runtime(Runtime(settings, redis=redis))
    try:
        unreliable = connect(link.url, retries=0)  # the failure reaches RQ at once; the next command gets through
        link.on_command("cut", b"PERSIST", job_id.encode())  # RQ's start: the job's status, PERSIST, LREM
        _QuietWorker([make_queue(unreliable, settings)], connection=unreliable, serializer=JSONSerializer,
                     name=f"cut-at-start-{time.time_ns()}").work(burst=True)
        assert link.fired
        assert status_word(fetch_job(redis, job_id)) in ("queued", "started")  # not failed: nothing was done
        assert orders(simulator) == []
        lapsed = time.time() + HOLD_LAPSE_SECONDS + 1
        recover_abandoned_jobs(queue, now=lapsed)
        watch = DequeuedWatch()
        watch.return_stranded(queue, now=0)
        watch.return_stranded(queue, now=DEQUEUED_GRACE_SECONDS + 1)
        _QuietWorker([queue], connection=redis, serializer=JSONSerializer,
                     name=f"after-cut-{time.time_ns()}").work(burst=True)
    finally:
        install_runtime(None)
        link.close()
    assert status_word(fetch_job(redis, job_id)) == "finished"
    assert len(orders(simulator)) == 1
