"""Each event's notification, from real web (gunicorn) and worker processes to a loopback sink through
Apprise's ``json://``, with no secret in any of them; and a hanging sink delays no answer and no trade."""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest
import requests

from executor.jobview import fetch_job, status_word
from executor.simulator import DEMO_COINW_API_KEY, DEMO_COINW_SECRET_KEY
from tests.coinw import REVERSE, add_fault, open_position, send
from tests.conftest import ADMIN_TOKEN, WEBHOOK_SECRET
from tests.notifysink import NotifySink
from tests.processes import WorkerProcesses, wait_until, worker_environment
from tests.webprocess import WebProcess

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

#: A token in the notification URL's path, as a Discord or Slack webhook URL carries one.
URL_TOKEN = "T0KEN-in-the-url-8d1f2c"
WRONG_SECRET = "not-the-s3cret-4471"


@pytest.fixture
def sink():
    with NotifySink() as sink:
        yield sink


def notifying(sink: NotifySink, **extra: str) -> dict[str, str]:
    """What the web and the worker processes are given besides their usual environment."""
    return {"NOTIFY_URLS": sink.apprise_url(f"/hooks/{URL_TOKEN}"), **extra}


def web_process(settings, simulator, sink, log_path, **extra: str) -> WebProcess:
    return WebProcess(settings.redis_url, simulator.base_url, log_path, **notifying(sink, **extra))


def titled(sink: NotifySink, start: str) -> dict | None:
    return next((notice for notice in sink.received() if notice["title"].startswith(start)), None)


def arrives(sink: NotifySink, start: str, timeout: float = 20) -> dict:
    assert wait_until(lambda: titled(sink, start) is not None, timeout), [n["title"] for n in sink.received()]
    return titled(sink, start)


def post(web: WebProcess, **fields) -> requests.Response:
    body = {"secret": WEBHOOK_SECRET, "venue": "coinw", "action": "reverse", "symbol": "BTC", **fields}
    return requests.post(f"{web.url}/webhook", json=body, timeout=5)


def test_each_event_is_notified_with_no_secret_in_it(settings, simulator, sink, client, clock, redis, tmp_path):
    env = worker_environment(settings.redis_url, simulator.base_url, **notifying(sink, RETRY_MAX_ATTEMPTS="1"))
    with web_process(settings, simulator, sink, tmp_path / "web.log", RETRY_MAX_ATTEMPTS="1") as web:
        rejected = post(web, symbol="LTC").json()["job_id"]  # no worker yet: it waits
        stranded = arrives(sink, "1 job(s) waiting and no live worker")
        assert post(web, secret=WRONG_SECRET).status_code == 401
        refused = arrives(sink, "1 alerts refused since")
        old = (datetime.now(timezone.utc) - timedelta(seconds=400)).isoformat()
        assert post(web, sent_at=old).status_code == 400
        stale_alert = arrives(sink, "1 stale alerts refused since")

        open_position(simulator, instrument="LTC")
        add_fault(simulator, path=REVERSE, kind="reject", code=9111, message="symbol not tradeable")
        clock.now = datetime.now(timezone.utc) - timedelta(seconds=1000)
        too_old = send(client, symbol="XRP")  # received 1000 s ago: past MAX_EXECUTION_DELAY (900 s)
        with WorkerProcesses(env, 1, tmp_path) as workers:
            back = arrives(sink, "Workers are back")
            failed = arrives(sink, "Job failed: reverse coinw LTC")
            stale_job = arrives(sink, "Stale signal refused: reverse coinw XRP")
            add_fault(simulator, path=REVERSE, kind="drop", when="before", count=2)
            open_position(simulator, instrument="DOGE")
            unknown = post(web, symbol="DOGE").json()["job_id"]
            attention = arrives(sink, "Needs a person: reverse coinw DOGE")
            logs = web.log_path.read_text() + workers.logs()

    assert "waited" in stranded["message"] and stranded["type"] == "failure"
    assert "1 × 401 missing or wrong secret; from 127.0.0.1 (1)" in refused["message"]
    assert "older than MAX_ALERT_AGE" in stale_alert["message"]
    assert back["type"] == "success"
    assert failed["message"].splitlines() == [
        "venue: coinw", "account: default", "symbol: LTC", "action: reverse",
        "error: VenueRejected: coinw 9111: symbol not tradeable",
        "venue's code: 9111, message: symbol not tradeable (HTTP 200)", f"job: {rejected}",
        f"replay: executor jobs replay {rejected}  (or POST /jobs/{rejected}/replay)"]
    assert f"job: {too_old}" in stale_job["message"] and "MAX_EXECUTION_DELAY" in stale_job["message"]
    assert f"job: {unknown}" in attention["message"] and "gave up after 1 tries" in attention["message"]
    assert status_word(fetch_job(redis, unknown)) == "failed"
    secrets = [WEBHOOK_SECRET, ADMIN_TOKEN, DEMO_COINW_API_KEY, DEMO_COINW_SECRET_KEY, WRONG_SECRET, URL_TOKEN]
    for notice in sink.received():
        assert not [secret for secret in secrets if secret in notice["raw"]], notice["raw"]
    assert {notice["path"] for notice in sink.received()} == {f"/hooks/{URL_TOKEN}"}
    assert not [secret for secret in secrets if secret in logs]


def test_a_hanging_notification_service_delays_no_answer_and_no_trade_and_its_notice_still_arrives(
        settings, simulator, sink, redis, tmp_path):
    env = worker_environment(settings.redis_url, simulator.base_url, **notifying(sink))
    for instrument in ("BTC", "LTC", "XRP", "SOL"):
        open_position(simulator, instrument=instrument)
    sink.mode("hang", hang_seconds=6)  # past Apprise's 4 s read timeout: the first try fails, slowly
    with web_process(settings, simulator, sink, tmp_path / "web.log") as web, \
            WorkerProcesses(env, 1, tmp_path) as workers:
        assert post(web, action="close", symbol="ETH").status_code == 202  # fails: its notice hangs the worker's sender
        assert post(web, secret=WRONG_SECRET).status_code == 401  # refused: the web's sender hangs too
        assert wait_until(lambda: len(sink.received()) >= 2, 10), "both senders are stuck on the sink"
        answers, jobs = [], []
        for symbol in ("BTC", "LTC", "XRP", "SOL"):
            started = time.monotonic()
            answer = post(web, symbol=symbol)
            answers.append(time.monotonic() - started)
            jobs.append((answer.json()["job_id"], time.monotonic()))
        assert wait_until(lambda: all(status_word(fetch_job(redis, job)) == "finished" for job, _ in jobs), 10), \
            workers.logs()
        ended = [fetch_job(redis, job).ended_at.timestamp() - (time.time() - time.monotonic() + posted)
                 for job, posted in jobs]
        sink.mode("ok")
        delivered = arrives(sink, "Job failed: close coinw ETH", timeout=30)
    assert max(answers) < 0.5, answers
    assert max(ended) < 2.0, ended  # each reversal done within 2 s of its alert while the sink hangs
    assert delivered["title"] == "Job failed: close coinw ETH"
